"""What the envelope store hands the use cases: a link token's record, a page of a sender's envelopes.

The stores (:mod:`tachiai.adapters.dynamodb` in the cloud, the in-memory fakes of the tests) return
these through the ports of :mod:`tachiai.services.ports`, so a use case never depends on how they are
stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tachiai.domain.envelope import Envelope, EnvelopeStatus

SENDER_LIST_ORDER: tuple[EnvelopeStatus, ...] = tuple(
    sorted(EnvelopeStatus, key=lambda status: status.value, reverse=True)
)
"""The order of the statuses in a sender's unfiltered list: gsi1's sort key begins with the status and
the list reads it backwards (newest first), so ``sent`` comes first and ``cancelled`` last. A prefix of
the list therefore holds every envelope of the statuses before the last one it reaches."""


@dataclass(frozen=True)
class LinkRecord:
    """What a recipient's link token (by its hash) points at."""

    token_sha256: str
    envelope_id: str
    participant_id: str
    expires_at: datetime
    purpose: Literal["sign", "download"] = "sign"
    """``sign``: the link of a participant's turn (alive while the envelope says so);
    ``download``: the completion mail's link to the finished documents."""


@dataclass(frozen=True)
class EnvelopePage:
    envelopes: list[Envelope]
    cursor: str | None
    """Pass back to get the next page; None on the last page."""
