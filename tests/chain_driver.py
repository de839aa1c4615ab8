"""A tiny driver that runs an envelope's signing chain on the fakes, with Step Functions' semantics
where they matter for faults: a task is called again after an error its ``Retry`` clauses match (up to
``MaxAttempts`` per clause, read from ``infra/statemachine/signing_chain.asl.json``), and an error
left over goes where its ``Catch`` says.

It is not an interpreter: the order of the states (participants one by one, a forward looping to the
newcomer, Finalize, Extract, the announcement) is written out below as the definition lays it out, and
every retry and every routing decision is read from the definition, so a change to a Retry or Catch
there changes what these tests see.

A waiting ``Notify`` gets a fresh task token per attempt; while it waits, the driver lets the people
act (``people(envelope_id, participant_id)``: open the mailed link, agree ...). A wait that nobody
answered is ``States.Timeout``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tachiai import names
from tachiai.domain.errors import TachiaiError
from tachiai.domain.tasks import PARTICIPANT_ANSWER, ParticipantAnswer, StepError, parse_task
from tachiai.services import sealing_tasks, workflow

from tests.fakes import FakeWorld, TaskKilled

ROOT = Path(__file__).resolve().parents[1]
DEFINITION: dict[str, Any] = json.loads((ROOT / names.STATE_MACHINE_DEFINITION).read_text("utf-8"))
TOP = DEFINITION["States"]
ITEM = TOP["Participants"]["ItemProcessor"]["States"]

T = TypeVar("T")
People = Callable[[str, str], None]


class StatesTimeout(Exception):
    """Nobody answered the waiting task in time."""


class TaskFailure(Exception):
    """``SendTaskFailure``: the waiting task ends with ``error`` (EnvelopeRejected, EnvelopeCancelled)."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error, self.cause = error, cause


class Failed(Exception):
    """A state failed with the Step Functions error ``name`` after its retries; ``cause`` is what
    Step Functions puts in ``Cause`` (for a Lambda error, the runtime's JSON error payload)."""

    def __init__(self, name: str, cause: str) -> None:
        super().__init__(name)
        self.name, self.cause = name, cause

    @classmethod
    def of(cls, name: str, error: BaseException) -> Failed:
        return cls(name, json.dumps({"errorType": name, "errorMessage": str(error)}))

    def step_error(self) -> StepError:
        return StepError(error=self.name, cause=self.cause)


def error_name(error: BaseException) -> str:
    """The name Step Functions matches ``error`` by."""
    if isinstance(error, TaskKilled):
        return "Lambda.Unknown"
    if isinstance(error, StatesTimeout):
        return "States.Timeout"
    if isinstance(error, TaskFailure):
        return error.error
    if isinstance(error, Failed):
        return error.name
    return type(error).__name__  # the runtime's errorType: the exception's class name


def _matches(clause: dict[str, Any], name: str) -> bool:
    errors = clause["ErrorEquals"]
    return name in errors or ("States.ALL" in errors and name != "States.Runtime")


def catch_target(state: dict[str, Any], name: str) -> str | None:
    """The state a Catch of ``state`` sends error ``name`` to."""
    return next((c["Next"] for c in state.get("Catch", []) if _matches(c, name)), None)


@dataclass
class ChainDriver:
    world: FakeWorld
    people: People
    retries: list[tuple[str, str]] = field(default_factory=list)
    """(state, error) of every retry, in order."""
    path: list[str] = field(default_factory=list)
    """Every state entered, in order."""
    duplicate: set[str] = field(default_factory=set)
    """States whose task is delivered twice (at-least-once delivery): run again after it succeeded."""
    lose_answer: set[str] = field(default_factory=set)
    """States whose first successful run is lost (the function finished, its answer never arrived)."""
    extract: Callable[[str], Any] | None = None
    """The Extract task (default: the real extraction, which reads the PDFs in a child process)."""

    def task(self, state_name: str, state: dict[str, Any], call: Callable[[], T]) -> T:
        """Run a task as Step Functions does: retry what Retry matches, else raise :class:`Failed`."""
        self.path.append(state_name)
        attempts: Counter[int] = Counter()
        while True:
            try:
                result = call()
                if state_name in self.lose_answer:
                    self.lose_answer.discard(state_name)
                    raise TaskKilled(f"{state_name}: the answer was lost")
                if state_name in self.duplicate:
                    self.duplicate.discard(state_name)
                    result = call()
                return result
            except (TachiaiError, TaskKilled, StatesTimeout, TaskFailure, Exception) as e:
                name = error_name(e)
                clauses = state.get("Retry", [])
                index = next((i for i, c in enumerate(clauses) if _matches(c, name)), None)
                if index is not None and attempts[index] < clauses[index].get("MaxAttempts", 3):
                    attempts[index] += 1
                    self.retries.append((state_name, name))
                    continue
                raise Failed.of(name, e) from e

    # --- the definition's states, in its order --------------------------------------------------

    def run(self, envelope_id: str) -> str:
        """Run the chain of a sent envelope to its end; the name of the state it ended in."""
        svc = self.world.svc
        participant_ids = self.world.chain.executions[envelope_id]["participantIds"]
        try:
            for participant_id in participant_ids:  # the Map, MaxConcurrency 1
                current: str | None = participant_id
                while current is not None:
                    answer = self._notify_and_wait(envelope_id, current)
                    seal = ITEM["Seal"]
                    try:
                        self.task("Seal", seal, lambda a=answer: sealing_tasks.seal(svc, envelope_id, a))
                    except Failed as e:
                        fail = ITEM[catch_target(seal, e.name) or ""]  # SealFailed: its cause is the seal's
                        raise Failed(fail["Error"], e.cause) from e
                    current = answer.forwarded_to if answer.outcome == "forwarded" else None
        except Failed as e:
            target = catch_target(TOP["Participants"], e.name)
            if target is None:
                raise AssertionError(f"the Map does not catch {e.name}") from e
            return self._announce(envelope_id, target, e.step_error())
        try:
            self.task("Finalize", TOP["Finalize"], lambda: sealing_tasks.finalize(svc, envelope_id))
        except Failed as e:
            return self._announce(envelope_id, catch_target(TOP["Finalize"], e.name) or "", e.step_error())
        try:
            self.task("Extract", TOP["Extract"], lambda: self._extract(envelope_id))
        except Failed as e:
            if catch_target(TOP["Extract"], e.name) != TOP["Extract"]["Next"]:
                raise AssertionError(f"Extract does not catch {e.name}") from e
        return self._announce(envelope_id, TOP["Extract"]["Next"], None)

    def _notify_and_wait(self, envelope_id: str, participant_id: str) -> ParticipantAnswer:
        notify, chain = ITEM["Notify"], self.world.chain

        def attempt() -> ParticipantAnswer:
            token = chain.open_task()
            try:
                workflow.notify(self.world.svc, envelope_id, participant_id, token)
                if token not in chain.answers:
                    self.people(envelope_id, participant_id)  # the people act while the task waits
                answered = chain.answers.get(token)
            finally:
                chain.close_task(token)
            if answered is None:
                raise StatesTimeout(participant_id)
            if answered.error is not None:
                raise TaskFailure(answered.error, answered.cause or "")
            return parse_task(PARTICIPANT_ANSWER, answered.output)

        try:
            return self.task("Notify", notify, attempt)
        except Failed as e:
            target = catch_target(notify, e.name)
            if target is None:
                raise
            after = ITEM[target]
            try:
                recorded = self.task(
                    target,
                    after,
                    lambda: workflow.recorded_answer(self.world.svc, envelope_id, participant_id),
                )
            except Failed as late:
                fail = catch_target(after, late.name)
                if fail is None:
                    raise
                raise Failed(ITEM[fail]["Error"], late.cause) from late
            return parse_task(PARTICIPANT_ANSWER, recorded)

    def _extract(self, envelope_id: str) -> Any:
        if self.extract is not None:
            return self.extract(envelope_id)
        from tachiai.services import ledger

        return ledger.extract_envelope(self.world.svc, envelope_id)

    def _announce(self, envelope_id: str, state_name: str, error: StepError | None) -> str:
        state = TOP[state_name]
        outcome = state["Parameters"]["Payload"]["outcome"]
        try:
            self.task(
                state_name, state, lambda: workflow.announce(self.world.svc, envelope_id, outcome, error)
            )
            return state_name
        except Failed as e:
            outcome_state = TOP[catch_target(state, e.name) or ""]
            record_name = outcome_state["Next"]
            notice_error = e.step_error()
            self.task(
                record_name,
                TOP[record_name],
                lambda: workflow.notice_undelivered(
                    self.world.svc, envelope_id, outcome_state["Result"], notice_error
                ),
            )
            return record_name
