"""Watching a job, purely: events, metrics, the progress bar and the expected finish.

`bot.core.job_events.plan_update` turns one poll into notices, each with a unique key, that
the service records in the database before posting; `bot.core.status` builds the message.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.fmt import moment, relative
from bot.core.message import Message, say

BAR_WIDTH = 20
ELAPSED_STEP_S = 600
# Each figure's names, best first. OpenAI reports validation twice: `valid_*` on a sample at
# most steps, `full_valid_*` on the whole validation file at the end of each epoch (better).
# Result files say `train_accuracy` where events say `train_mean_token_accuracy`.
TRAIN_ACCURACY = ("train_mean_token_accuracy", "train_accuracy")
VALID_LOSS = ("full_valid_loss", "valid_loss")
VALID_ACCURACY = ("full_valid_mean_token_accuracy", "valid_mean_token_accuracy", "valid_accuracy")


@dataclass(frozen=True, slots=True)
class Event:
    """One job event as the API reports it."""

    id: str
    created_at: int
    level: str
    message: str
    type: str = "message"
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def is_metrics(self) -> bool:
        """Metrics events feed the status message, not the thread."""
        return self.type == "metrics" or ("step" in self.data and "train_loss" in self.data)


@dataclass(frozen=True, slots=True)
class Metrics:
    """The latest training metrics of a job."""

    step: int = 0
    total_steps: int = 0
    train_loss: float | None = None
    valid_loss: float | None = None
    train_accuracy: float | None = None
    valid_accuracy: float | None = None


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One step of the loss curve."""

    step: int
    train_loss: float | None
    valid_loss: float | None
    train_accuracy: float | None
    valid_accuracy: float | None


@dataclass(frozen=True, slots=True)
class Notice:
    """Something to post exactly once: its kind, its unique key, and what to say."""

    kind: str  # timeline | event | completion | chart | checkpoints
    key: str
    payload: dict[str, Any]


def _number(value: Any) -> float | None:
    """A finite number from an event's value or a result file's cell, else None."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _count(value: Any) -> int | None:
    """A step number or count (a non-negative integer), else None."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _first(data: Mapping[str, Any], names: tuple[str, ...]) -> float | None:
    for name in names:
        value = _number(data.get(name))
        if value is not None:
            return value
    return None


def row_from(data: Mapping[str, Any], step: int) -> MetricRow:
    """One step's figures from a metrics event or a result-file row (full validation first)."""
    return MetricRow(
        step=step,
        train_loss=_number(data.get("train_loss")),
        valid_loss=_first(data, VALID_LOSS),
        train_accuracy=_first(data, TRAIN_ACCURACY),
        valid_accuracy=_first(data, VALID_ACCURACY),
    )


def metrics_from(event: Event, previous: Metrics) -> Metrics:
    """Fold a metrics event into the latest metrics (validation kept until measured again)."""
    step = _count(event.data.get("step"))
    if step is None or step < previous.step:
        return previous
    row = row_from(event.data, step)
    total = _count(event.data.get("total_steps"))
    return Metrics(
        step=step,
        total_steps=total or previous.total_steps or step,
        train_loss=row.train_loss,
        valid_loss=row.valid_loss if row.valid_loss is not None else previous.valid_loss,
        train_accuracy=row.train_accuracy,
        valid_accuracy=(
            row.valid_accuracy if row.valid_accuracy is not None else previous.valid_accuracy
        ),
    )


def progress_bar(step: int, total: int) -> str:
    """`▓▓▓▓░░░░ 40% (8/20 steps)`."""
    if total <= 0:
        return "░" * BAR_WIDTH
    share = min(max(step / total, 0.0), 1.0)
    filled = round(share * BAR_WIDTH)
    return f"{'▓' * filled}{'░' * (BAR_WIDTH - filled)} {share:.0%} ({step:,}/{total:,} steps)"


def finish_words(estimated_finish: int, now: int) -> Message:
    """`finishes around 14:20 (in 12 min)` (with its day when not today); a job past its
    estimate `was expected to finish around 14:20`."""
    at = moment(estimated_finish, now)
    if estimated_finish < now - 60:
        return say("was expected to finish around ", at)
    left = estimated_finish - now
    if left >= 20 * 60:  # coarse when far off, so the status message isn't edited every minute
        left = round(left / 300) * 300
    return say("finishes around ", at, f" ({relative(left)})")


def new_events_since(page: list[Event], cursor: str | None) -> tuple[list[Event], bool]:
    """Events of a newest-first page that are newer than `cursor`, and whether it was reached."""
    fresh: list[Event] = []
    for event in page:
        if event.id == cursor:
            return fresh, True
        fresh.append(event)
    return fresh, False


def parse_result_csv(raw: bytes | str) -> list[MetricRow]:
    """The job's result file (`step,train_loss,train_accuracy,valid_loss,…`), plain or base64."""
    text = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw).lstrip()
    if not text.startswith("step"):
        try:
            text = base64.b64decode(text.strip(), validate=False).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return []
    rows = []
    for record in csv.DictReader(io.StringIO(text)):
        step = _number(record.get("step"))
        if step is not None and step >= 0:
            rows.append(row_from(record, int(step)))
    return rows


def rows_from_events(events: list[Event]) -> list[MetricRow]:
    """Loss-curve rows from metrics events (when there is no result file)."""
    rows: dict[int, MetricRow] = {}
    for event in events:
        step = _count(event.data.get("step")) if event.is_metrics else None
        if step is not None:
            rows[step] = row_from(event.data, step)
    return [rows[k] for k in sorted(rows)]


def metrics_to_dict(metrics: Metrics) -> dict[str, Any]:
    """For storing the latest metrics with the job."""
    return {
        "step": metrics.step,
        "total_steps": metrics.total_steps,
        "train_loss": metrics.train_loss,
        "valid_loss": metrics.valid_loss,
        "train_accuracy": metrics.train_accuracy,
        "valid_accuracy": metrics.valid_accuracy,
    }


def metrics_from_dict(data: dict[str, Any] | None) -> Metrics:
    """The stored latest metrics (empty when none)."""
    if not data:
        return Metrics()
    return Metrics(
        step=int(data.get("step") or 0),
        total_steps=int(data.get("total_steps") or 0),
        train_loss=data.get("train_loss"),
        valid_loss=data.get("valid_loss"),
        train_accuracy=data.get("train_accuracy"),
        valid_accuracy=data.get("valid_accuracy"),
    )


ADVICE = {
    "invalid_training_file": "fix the dataset (its report in this thread lists the problems) "
    "and start again",
    "invalid_validation_file": "fix the validation dataset and start again",
    "invalid_n_examples": "add examples (at least 10) and start again",
    "exceeded_quota": "check the OpenAI organisation's billing and limits, then start again",
}
