"""What crosses processes: the signing chain's task events and the recipient's answer.

The state machine (``infra/statemachine/signing_chain.asl.json``) invokes the send, seal and extract
functions with small JSON payloads, and the agree function resumes a waiting ``Notify`` with the
participant's answer as the task output. Each is a pydantic model here, parsed once in the handler, so
a malformed event is refused with :class:`InvalidRequest` at the edge instead of a ``KeyError`` deep in
a use case — and the names (camelCase, as in the ASL) are written down in one place.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel, to_pascal

from tachiai.domain.errors import EnvelopeCancelled, EnvelopeRejected, InvalidRequest
from tachiai.domain.templates import TEMPLATE_DOCUMENT_KEY_PATTERN

# Error names the state machine's Catch clauses match: part of the contract with the ASL file. They
# are the class names of the errors a task raises for the same outcome (a Notify that finds the
# envelope cancelled raises EnvelopeCancelled), so one Catch serves both.
REJECTED = EnvelopeRejected.__name__
CANCELLED = EnvelopeCancelled.__name__

Outcome = Literal["completed", "rejected", "expired", "cancelled", "failed"]
"""How an envelope ended, as the chain announces it."""


class _Message(BaseModel):
    # Unknown keys are ignored: Step Functions may add fields to a payload in later versions, and an
    # older function must keep working during a deploy.
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore", alias_generator=to_camel)

    def payload(self) -> dict[str, Any]:
        """The JSON object as it travels (camelCase names, no empty optional fields)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class StepError(_Message):
    """Step Functions' error output (``$.error`` after a Catch): the error name and its cause."""

    model_config = ConfigDict(alias_generator=to_pascal)

    error: str | None = None
    cause: str | None = None


class ParticipantAnswer(_Message):
    """What a participant did, as the agree function resumes the chain with (the Notify task's output)."""

    outcome: Literal["agreed", "forwarded"]
    participant_id: str = Field(min_length=1)
    forwarded_to: str | None = Field(default=None, min_length=1)
    """The newcomer's participant id (forwards only): the chain notifies them next."""

    @model_validator(mode="after")
    def _forward_names_the_newcomer(self) -> ParticipantAnswer:
        if (self.outcome == "forwarded") != (self.forwarded_to is not None):
            raise ValueError("forwardedTo is given exactly when the outcome is forwarded")
        return self


# --- the send function -----------------------------------------------------------------------------


class NotifyTask(_Message):
    """It is a participant's turn: mail their link; the execution waits on ``task_token``."""

    task: Literal["notify"]
    envelope_id: str = Field(min_length=1)
    participant_id: str = Field(min_length=1)
    task_token: str = Field(min_length=1)


class RecordedAnswerTask(_Message):
    """The wait for a participant timed out: answer what they recorded, if the chain never heard it."""

    task: Literal["recorded_answer"]
    envelope_id: str = Field(min_length=1)
    participant_id: str = Field(min_length=1)


class AnnounceTask(_Message):
    """Tell the people concerned how the envelope ended."""

    task: Literal["announce"]
    envelope_id: str = Field(min_length=1)
    outcome: Outcome
    error: StepError | None = None


class NoticeUndeliveredTask(_Message):
    """The final mail could not be sent: record it on the envelope, so the sender sees it there."""

    task: Literal["notice_undelivered"]
    envelope_id: str = Field(min_length=1)
    outcome: Outcome
    error: StepError | None = None


class RemindersTask(_Message):
    """The automatic reminders that are due (the hourly schedule; ``now`` only when someone runs them
    for another moment: the local runtime)."""

    task: Literal["reminders"]
    now: AwareDatetime | None = None


SendTask = Annotated[
    NotifyTask | RecordedAnswerTask | AnnounceTask | NoticeUndeliveredTask | RemindersTask,
    Field(discriminator="task"),
]


# --- the seal function -----------------------------------------------------------------------------


class PrepareTask(_Message):
    """Preflight and seal "sent" (synchronous, from the send API)."""

    task: Literal["prepare"]
    envelope_id: str = Field(min_length=1)


class SealTask(_Message):
    """Seal what a participant did."""

    task: Literal["seal"]
    envelope_id: str = Field(min_length=1)
    answer: ParticipantAnswer


class FinalizeTask(_Message):
    """Document timestamps, the agreement certificate, ``completed``."""

    task: Literal["finalize"]
    envelope_id: str = Field(min_length=1)


class TimestampImportTask(_Message):
    """An RFC 3161 token over an imported document (synchronous, from the import API)."""

    task: Literal["timestamp_import"]
    envelope_id: str = Field(min_length=1)
    document_id: str = Field(min_length=1)


DRAFT_DOCUMENT_KEY_PATTERN = (
    r"^envelopes/env_[0-9a-f]{24}/(documents/d[0-9]{1,2}/original|uploads/d[0-9]{1,2}/[0-9a-f]{32})\.pdf$"
)
"""A draft's stored PDF or its presigned upload (:func:`tachiai.domain.documents.original_key`,
``upload_key``): the console preflights each file as it arrives, to show a refusal on that file."""


class PreflightTask(_Message):
    """Preflight a template's stored PDF, or a draft's (synchronous, from the send API): its hash, size
    and pages."""

    task: Literal["preflight"]
    key: str = Field(pattern=f"{TEMPLATE_DOCUMENT_KEY_PATTERN}|{DRAFT_DOCUMENT_KEY_PATTERN}")


class VerifyTask(_Message):
    """The signature panel of a completed envelope's stored files (synchronous, from the send function's
    console, which must not load pyHanko): :mod:`tachiai.services.signature_panel`."""

    task: Literal["verify"]
    envelope_id: str = Field(min_length=1)


SealFunctionTask = Annotated[
    PrepareTask | SealTask | FinalizeTask | TimestampImportTask | PreflightTask | VerifyTask,
    Field(discriminator="task"),
]


class ImportArrival(_Message):
    """What ``timestamp_import`` answers: the bytes that arrived and their RFC 3161 token's facts."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=1)
    time: str
    authority: str = ""
    serial: str = ""


# --- the extract function --------------------------------------------------------------------------


class ExtractTask(_Message):
    """Extract an envelope's contract metadata for the ledger."""

    task: Literal["extract"]
    envelope_id: str = Field(min_length=1)


class AlertsTask(_Message):
    """The daily deadline alerts (``today`` only when someone runs them for another day)."""

    task: Literal["alerts"]
    today: str | None = None


ExtractFunctionTask = Annotated[ExtractTask | AlertsTask, Field(discriminator="task")]

T = TypeVar("T")

SEND_TASKS: TypeAdapter[
    NotifyTask | RecordedAnswerTask | AnnounceTask | NoticeUndeliveredTask | RemindersTask
] = TypeAdapter(SendTask)
SEAL_TASKS: TypeAdapter[
    PrepareTask | SealTask | FinalizeTask | TimestampImportTask | PreflightTask | VerifyTask
] = TypeAdapter(SealFunctionTask)
EXTRACT_TASKS: TypeAdapter[ExtractTask | AlertsTask] = TypeAdapter(ExtractFunctionTask)
PARTICIPANT_ANSWER: TypeAdapter[ParticipantAnswer] = TypeAdapter(ParticipantAnswer)
IMPORT_ARRIVAL: TypeAdapter[ImportArrival] = TypeAdapter(ImportArrival)


def parse_task(adapter: TypeAdapter[T], event: object) -> T:
    """``event`` parsed by ``adapter`` (:data:`SEND_TASKS`, :data:`SEAL_TASKS`, :data:`EXTRACT_TASKS`,
    :data:`PARTICIPANT_ANSWER`, :data:`IMPORT_ARRIVAL`).

    :raises InvalidRequest: not an object, an unknown ``task``, or a field missing or malformed
        (the message names the first field; the values are never echoed back).
    """
    try:
        return adapter.validate_python(event)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "event"
        raise InvalidRequest(f"task event: {where}: {first['type']}", field=where) from e
