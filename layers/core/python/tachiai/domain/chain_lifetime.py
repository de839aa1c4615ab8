"""How long a signing chain can last, against the one year a Step Functions execution may live.

A STANDARD execution that reaches one year is stopped by Step Functions (``TIMED_OUT``) between any two
states: none of the chain's Catch clauses runs, so the envelope would stay ``in_progress`` for ever with
nobody told. Each participant's turn waits at most the envelope's link validity (the Notify task's
timeout; a reminder or a reissued link keeps the deadline, so neither extends it), and the chain's own
steps take a bounded time around the waits (each Seal retries for up to about an hour and a half of
backoff plus its runs; Finalize, Extract and the final mails once). Sending is refused when the worst case
does not fit (:func:`check_chain_lifetime`): the sender gives each link fewer days.

A forward adds a turn the sender could not count; it is not bounded here (see the operations notes).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from tachiai.domain.errors import SigningChainTooLong

EXECUTION_LIMIT: Final = timedelta(days=365)
"""The longest a Step Functions STANDARD execution runs ("1 year", Step Functions service quotas)."""
TURN_OVERHEAD: Final = timedelta(hours=6)
"""Per turn, beside the wait: Notify's retries and the Seal step's (12 attempts, backoff capped at 15
minutes, each run up to the seal function's timeout), rounded up."""
CHAIN_OVERHEAD: Final = timedelta(days=1)
"""Once per chain: Finalize (retried as Seal is), Extract (5 minutes), the final mails and their record."""


def worst_case(turns: int, link_validity: timedelta) -> timedelta:
    """The longest a chain of ``turns`` participants, each waited for ``link_validity``, can run."""
    return turns * (link_validity + TURN_OVERHEAD) + CHAIN_OVERHEAD


def longest_link_validity(turns: int) -> timedelta:
    """The longest link validity (whole days) with which ``turns`` turns still fit in an execution;
    ``timedelta(0)`` when even that many turns do not fit."""
    per_turn = (EXECUTION_LIMIT - CHAIN_OVERHEAD) / max(turns, 1) - TURN_OVERHEAD
    return timedelta(days=max(per_turn.days, 0))


def check_chain_lifetime(turns: int, link_validity: timedelta) -> None:
    """Whether a chain of ``turns`` turns of ``link_validity`` each fits in one execution.

    :raises SigningChainTooLong: it may not (``participants``, ``days`` and ``max_days``, the longest
        whole number of days per link that fits, for the message).
    """
    if worst_case(turns, link_validity) <= EXECUTION_LIMIT:
        return
    days = link_validity / timedelta(days=1)
    raise SigningChainTooLong(
        f"{turns} turns of {link_validity} may outlive the execution limit {EXECUTION_LIMIT}",
        field="link_validity_seconds",
        participants=turns,
        days=f"{days:g}",
        max_days=longest_link_validity(turns).days,
    )
