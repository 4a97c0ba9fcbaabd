"""Together's job events and training metrics as one newest-first event stream with a stable order.

Together lists a job's events (no ids, no paging) and, separately, its metrics rows (`train/loss`,
`eval/loss` at `train/global_step`, no timestamps), so the two cannot be interleaved by time. The
watcher keeps a cursor (the newest event it has seen) and takes what is newer, so the order of
what it has seen must never change and anything new must come after it. A log per job does that:
items are only ever appended. A new log (after a restart, or on another replica) puts the metrics
first and Together's own events last, so no event is ever older than a cursor that has not seen
it (the worst case is a replay of events, which the watcher's unique notice keys absorb, and
metrics that lag until the next row).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.watch import Event

MAX_LOGS = 2000  # jobs whose stream is kept; an evicted one is rebuilt (safely) on its next read
LEVELS = {"legacy_info": "info", "legacy_iwarning": "warning", "legacy_ierror": "error"}
STEP_KEYS = ("train/global_step", "eval/global_step", "global_step", "step")
# Together's metric names -> the names bot.core.watch.metrics_from reads.
TRAIN_METRICS = {
    "train/loss": "train_loss",
    "train/accuracy": "train_accuracy",
    "train/learning_rate": "learning_rate",
}
EVAL_METRICS = {"eval/loss": "valid_loss", "eval/accuracy": "valid_accuracy"}


def epoch(value: Any) -> int | None:
    """Unix seconds from Together's ISO 8601 timestamps (or a number), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def row_step(row: Mapping[str, Any]) -> int | None:
    """The global step a metrics row belongs to."""
    for key in STEP_KEYS:
        value = _number(row.get(key))
        if value is not None and value >= 0:
            return int(value)
    return None


def job_events(items: Iterable[Mapping[str, Any]]) -> list[Event]:
    """Together's events, oldest first, each with an id stable across reads.

    Together gives no id: its `hash` when present, else a digest of the event's content, with
    a counter for identical events."""
    seen: dict[str, int] = {}
    events = []
    for item in items:
        kind = str(item.get("type") or "")
        message = str(item.get("message") or kind.replace("_", " ") or "event")
        step = item.get("step")
        basis = str(item.get("hash") or "") or f"{item.get('created_at')}|{kind}|{message}|{step}"
        digest = hashlib.sha256(basis.encode()).hexdigest()[:16]
        seen[digest] = seen.get(digest, 0) + 1
        suffix = f"-{seen[digest]}" if seen[digest] > 1 else ""
        data = {"together_type": kind}
        for key in ("step", "total_steps", "checkpoint_path", "token_count"):
            if item.get(key):
                data[key] = item[key]
        level = str(item.get("level") or "info")
        events.append(
            Event(
                id=f"tev-{digest}{suffix}",
                created_at=epoch(item.get("created_at")) or 0,
                level=LEVELS.get(level, level),
                message=message,
                data=data,
            )
        )
    return events


def total_steps(items: Iterable[Mapping[str, Any]]) -> int:
    """The most `total_steps` any event reported (0 when none did)."""
    found = (item.get("total_steps") for item in items)
    return max((int(n) for n in found if isinstance(n, int) and n > 0), default=0)


@dataclass
class _Log:
    items: list[Event] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    last_train: dict[str, float] = field(default_factory=dict)
    last_step: int = 0

    def append(self, event: Event) -> None:
        if event.id not in self.ids:
            self.ids.add(event.id)
            self.items.append(event)


def _metrics_event(
    row: Mapping[str, Any], step: int, *, total: int, train: dict[str, float], at: int
) -> Event | None:
    """A `type: "metrics"` event in the shape bot.core.watch.metrics_from reads."""
    values = {
        name: number
        for key, name in {**TRAIN_METRICS, **EVAL_METRICS}.items()
        if (number := _number(row.get(key))) is not None
    }
    if not values:
        return None
    is_eval = not any(key in row for key in TRAIN_METRICS)
    # metrics_from takes the training figures of every metrics event: an evaluation row
    # carries the training figures of its step so that they are not blanked.
    data: dict[str, Any] = {**(train if is_eval else {}), **values, "step": step}
    if total:
        data["total_steps"] = max(total, step)
    words = [f"training loss={data['train_loss']:.4f}"] if "train_loss" in data else []
    words += [f"validation loss={data['valid_loss']:.4f}"] if "valid_loss" in data else []
    return Event(
        id=f"tmetric-{step}{'-eval' if is_eval else ''}",
        created_at=at,
        level="info",
        message=f"Step {step}: {', '.join(words) or 'metrics'}",
        type="metrics",
        data=data,
    )


class EventStreams:
    """Per-job append-only streams of events and metrics events (thread-safe, bounded)."""

    def __init__(self, *, max_logs: int = MAX_LOGS) -> None:
        self._logs: OrderedDict[str, _Log] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_logs

    def last_step(self, job_id: str) -> int | None:
        """The highest metrics step already in the job's stream (None when there is none)."""
        with self._lock:
            log = self._logs.get(job_id)
            return log.last_step if log and log.last_train else None

    def has(self, job_id: str, event_id: str) -> bool:
        """True when the job's stream holds that event (so its older ones need no new read)."""
        with self._lock:
            log = self._logs.get(job_id)
            return bool(log and event_id in log.ids)

    def update(
        self,
        job_id: str,
        *,
        events: Sequence[Mapping[str, Any]],
        metrics: Sequence[Mapping[str, Any]],
    ) -> None:
        """Append what is new: metrics rows first, then Together's events."""
        total = total_steps(events)
        stamp = max((epoch(e.get("created_at")) or 0 for e in events), default=0)
        with self._lock:
            log = self._logs.get(job_id)
            if log is None:
                log = self._logs[job_id] = _Log()
                while len(self._logs) > self._max:
                    self._logs.popitem(last=False)
            self._logs.move_to_end(job_id)
            for row in metrics:
                step = row_step(row)
                if step is None:
                    continue
                event = _metrics_event(row, step, total=total, train=dict(log.last_train), at=stamp)
                if event is None:
                    continue
                if not event.id.endswith("-eval"):
                    names = TRAIN_METRICS.values()
                    log.last_train = {k: v for k, v in event.data.items() if k in names}
                    log.last_step = max(log.last_step, step)
                log.append(event)
            for event in job_events(events):
                log.append(event)

    def page(self, job_id: str, *, after: str | None, limit: int) -> tuple[list[Event], bool]:
        """One newest-first page after the event `after`, and whether older ones follow."""
        with self._lock:
            log = self._logs.get(job_id)
            newest_first = list(reversed(log.items)) if log else []
        start = 0
        if after:
            ids = [event.id for event in newest_first]
            start = ids.index(after) + 1 if after in ids else len(newest_first)
        page = newest_first[start : start + max(1, limit)]
        return page, start + len(page) < len(newest_first)
