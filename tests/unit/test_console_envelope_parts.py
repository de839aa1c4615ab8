"""The envelope page's parts that are pure functions of an envelope and its audit trail: the chain
check, the participants' states, the audit CSV, the list of files."""

from __future__ import annotations

import csv
import io

from tachiai.console.envelope import audit_csv, check_chain, file_links, participant_state, whose_turn
from tachiai.domain.audit import AuditKind
from tachiai.services import sending

from tests.envelope_stories import HANAKO, ICHIRO, TARO, completed, lock_link, story_world, waiting_for


def test_an_untouched_trail_is_intact():
    world = story_world()
    envelope_id = completed(world, ICHIRO)
    envelope, trail = sending.get_envelope(world.svc, TARO, envelope_id)
    check = check_chain(envelope, trail)
    assert check.intact and check.entries == len(trail) > 5


def test_an_edited_entry_breaks_the_chain_at_that_entry():
    world = story_world()
    envelope_id = completed(world, ICHIRO)
    envelope, trail = sending.get_envelope(world.svc, TARO, envelope_id)
    # Given the fourth entry's actor is rewritten (its stored hash left as it was)
    trail[3] = trail[3].model_copy(update={"actor": "someone.else@example.com"})
    assert check_chain(envelope, trail).broken_at == 4


def test_a_removed_entry_breaks_the_chain_where_it_was():
    world = story_world()
    envelope_id = completed(world, ICHIRO)
    envelope, trail = sending.get_envelope(world.svc, TARO, envelope_id)
    del trail[2]
    assert check_chain(envelope, trail).broken_at == 3


def test_a_trail_cut_off_at_the_end_does_not_pass_for_intact():
    world = story_world()
    envelope_id = completed(world, ICHIRO)
    envelope, trail = sending.get_envelope(world.svc, TARO, envelope_id)
    # The entries left hold together: only the head the envelope records shows the missing end.
    check = check_chain(envelope, trail[:-2])
    assert not check.intact and check.broken_at == len(trail) - 1


def test_a_locked_link_is_shown_as_locked_and_it_is_still_their_turn():
    world = story_world()
    envelope_id = waiting_for(world, HANAKO, ICHIRO, access_code_for=HANAKO)
    lock_link(world, HANAKO)
    envelope = world.envelopes.get(envelope_id)
    hanako = next(p for p in envelope.participants if p.person.email == HANAKO)
    ichiro = next(p for p in envelope.participants if p.person.email == ICHIRO)
    assert participant_state(hanako) == "locked"
    assert participant_state(ichiro) == "agreed"
    turn = whose_turn(envelope)
    assert turn is not None and turn.person.email == HANAKO


def test_a_completed_envelope_is_nobodys_turn():
    world = story_world()
    envelope = world.envelopes.get(completed(world, ICHIRO))
    assert whose_turn(envelope) is None


def test_the_audit_csv_starts_with_a_bom_and_has_a_row_per_entry():
    world = story_world()
    envelope_id = completed(world, ICHIRO)
    envelope, trail = sending.get_envelope(world.svc, TARO, envelope_id)
    text = audit_csv(envelope, trail, world.svc.settings.zone, "ja")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0][:4] == ["番号", "日時", "種別コード", "出来事"]
    assert len(rows) == len(trail) + 1
    assert [row[2] for row in rows[1:]] == [e.kind.value for e in trail]
    agreed = next(row for row in rows[1:] if row[2] == AuditKind.PARTICIPANT_AGREED.value)
    assert agreed[3] == "合意" and agreed[4] == ICHIRO and "JST" in agreed[1]
    assert "\r\n" in text


def test_every_audit_csv_cell_that_a_spreadsheet_would_run_is_neutralized():
    world = story_world()
    formula = "=1+1@takahashizaki.example"
    envelope_id = completed(world, formula)
    envelope, trail = sending.get_envelope(world.svc, TARO, envelope_id)
    rows = list(csv.reader(io.StringIO(audit_csv(envelope, trail, world.svc.settings.zone, "en")[1:])))
    actors = [row[4] for row in rows[1:]]
    assert "'" + formula in actors
    for row in rows:
        for cell in row:
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@")), cell


def test_the_files_listed_are_the_ones_the_service_hands_out_in_its_order():
    world = story_world()
    envelope_id = completed(world, ICHIRO)
    envelope = world.envelopes.get(envelope_id)
    served = [d.name for d in sending.downloads(world.svc, TARO, envelope_id)]
    assert [f.name for f in file_links(envelope)] == served
    assert [f.number for f in file_links(envelope)] == list(range(1, len(served) + 1))
