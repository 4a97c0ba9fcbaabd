"""Fine-tuning job state as the service reports it: snapshots, statuses, plain-words errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.core.backend_names import BACKEND_NAMES, KEY_VARIABLES, contract_name, key_variable
from bot.core.message import Code, Message, Text, say


class JobState(StrEnum):
    """Where a job request is in the bot's own life cycle (the backend's status is separate)."""

    REQUESTED = "requested"  # asked for, to be created
    AWAITING_APPROVAL = "awaiting_approval"  # above FTBOT_APPROVAL_USD: an admin must approve
    APPROVED = "approved"  # approved, to be created
    CREATING = "creating"  # being uploaded and created (one worker holds it)
    RETRYABLE = "retryable"  # creation failed in a way worth trying again
    FAILED = "failed"  # creation failed for good
    CREATED = "created"  # exists on the backend: watched
    FINISHED = "finished"  # finished and everything about it posted: no longer watched


ACTIVE_STATES = frozenset(
    {
        JobState.REQUESTED,
        JobState.AWAITING_APPROVAL,
        JobState.APPROVED,
        JobState.CREATING,
        JobState.CREATED,
    }
)
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
STATUS_TEXT = {
    "validating_files": "validating files",
    "queued": "queued",
    "running": "running",
    "paused": "paused",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
}
WIND_DOWN_URL = (
    "https://developers.openai.com/api/docs/deprecations#update-to-openais-self-serve-fine-tuning"
)


@dataclass(frozen=True, slots=True)
class JobSnapshot:
    """One fine-tuning job as last read from its backend."""

    id: str
    status: str
    model: str
    created_at: int | None = None
    finished_at: int | None = None
    estimated_finish: int | None = None
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    training_file: str | None = None
    validation_file: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    result_files: tuple[str, ...] = ()
    billed_usd: float | None = None  # the backend's own figure for the job's price, if it gives one
    # The settings the job really trains with, as its backend reports them (`auto` until it
    # has resolved them), and its seed.
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None

    @property
    def finished(self) -> bool:
        """Succeeded, failed or cancelled (unknown statuses count as still going)."""
        return self.status in TERMINAL


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A checkpoint a job saved: its step, the model name to use it, and its metrics."""

    step: int
    model: str
    metrics: dict[str, float] = field(default_factory=dict)


def status_text(status: str | None) -> str:
    """A status in words (unknown ones are shown as they are)."""
    return STATUS_TEXT.get(status or "", status or "unknown")


class ServiceError(Exception):
    """A backend's failure in plain words. `kind` drives what the bot offers next."""

    def __init__(
        self, kind: str, message: str, *, param: str | None = None, backend: str = "OpenAI"
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.param = param
        self.backend = backend  # the backend's display name

    @property
    def explained(self) -> Message:
        """The error in plain words for the user."""
        return explain(self.kind, str(self), self.param, backend=self.backend)

    @property
    def retryable(self) -> bool:
        """Worth trying again later (rate limit, outage, timeout)."""
        return self.kind in ("rate_limited", "unavailable")


MAX_REASON = 500


def not_configured(backend: str | None) -> str:
    """One line: this backend (contract or display name) is not configured, and how to fix it."""
    name = contract_name(backend or "")
    if name is None:
        return (
            "No fine-tuning backend is configured here: an admin sets OPENAI_API_KEY or "
            "TOGETHER_API_KEY."
        )
    return f"{BACKEND_NAMES[name]} isn't configured here: an admin sets {KEY_VARIABLES[name]}."


NOT_CONFIGURED = not_configured("openai")  # for callers that only ever mean OpenAI


def explain(kind: str, message: str, param: str | None, *, backend: str = "OpenAI") -> Message:
    """What the user reads for a backend's error (its words are a value: they may echo input)."""
    words = Text(message[:MAX_REASON])
    if kind == "training_not_available":
        return say(
            "This OpenAI organisation can no longer start fine-tuning jobs: OpenAI is winding "
            f"down self-serve fine-tuning ({WIND_DOWN_URL}). Validation, cost estimates, "
            "uploads and existing models keep working."
        )
    if kind == "invalid_request":
        field_note = say(" (field ", Code(param), ")") if param else say()
        return say(f"{backend} rejected the request", field_note, ": ", words)
    if kind == "rate_limited":
        return say(
            f"{backend} is rate-limiting us right now (", words, "). Nothing was lost: try again."
        )
    if kind == "unavailable":
        return say(f"{backend} did not answer properly (", words, "). Nothing was lost: try again.")
    if kind == "auth":
        variable = key_variable(backend) or "its API key"
        return say(f"{backend} refused our API key ({variable}). Ask an admin to check it.")
    if kind == "not_found":
        return say(f"{backend} does not know that: ", words)
    if kind == "not_configured":
        return say(not_configured(backend))
    return say(words)


def _whole(value: Any) -> int | None:
    """A whole number from the API, or None for anything else (bools, text, floats, NaN)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def used_hyperparameters(data: dict[str, Any]) -> dict[str, Any]:
    """The job object's hyperparameters: the method's own (`method.<type>.hyperparameters`),
    else the older top-level field; only scalar values (an odd one is left out)."""
    method = data.get("method")
    found: Any = None
    if isinstance(method, dict):
        section = method.get(str(method.get("type") or ""))
        found = section.get("hyperparameters") if isinstance(section, dict) else None
    if not isinstance(found, dict):
        found = data.get("hyperparameters")
    if not isinstance(found, dict):
        return {}
    return {
        str(k): v
        for k, v in found.items()
        if isinstance(v, str | int | float) and not isinstance(v, bool)
    }


def snapshot_from(data: dict[str, Any]) -> JobSnapshot:
    """A JobSnapshot from the API's job object, tolerating missing, unknown and mistyped fields
    (a field of the wrong type counts as missing: one odd answer must not stop the watching)."""
    raw_error, raw_metadata = data.get("error"), data.get("metadata")
    error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
    metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    files = data.get("result_files")
    return JobSnapshot(
        id=str(data.get("id") or ""),
        status=str(data.get("status") or "unknown"),
        model=str(data.get("model") or ""),
        created_at=_whole(data.get("created_at")),
        finished_at=_whole(data.get("finished_at")),
        estimated_finish=_whole(data.get("estimated_finish")),
        fine_tuned_model=_text(data.get("fine_tuned_model")),
        trained_tokens=_whole(data.get("trained_tokens")),
        training_file=_text(data.get("training_file")),
        validation_file=_text(data.get("validation_file")),
        error_code=_text(error.get("code")),
        error_message=_text(error.get("message")),
        metadata={str(k): str(v) for k, v in metadata.items() if isinstance(v, str)},
        result_files=tuple(f for f in files if isinstance(f, str))
        if isinstance(files, list | tuple)
        else (),
        hyperparameters=used_hyperparameters(data),
        seed=_whole(data.get("seed")),
    )
