"""Which job events deserve a reply, and how routine ones read in the status message's timeline.

A job's thread is read by a team, and several jobs can share one dataset's thread: routine
progress (files validated, job started, checkpoint saved, model created, the usage-policy
evaluation…) folds into the job's one status message as a compact timeline; only warnings,
errors and the outcome are replies, each naming its job. Metrics events feed the progress bar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from bot.core.jobs import TERMINAL, JobSnapshot
from bot.core.watch import Event, Metrics, Notice, metrics_from

Kind = Literal["metrics", "routine", "warning", "error"]

TIMELINE_SHOWN = 8  # the status message shows the last entries, and how many came before
TIMELINE_TEXT = 120
REPLY_TEXT = 1500
LABEL_ID = 8  # characters of a job id's random part in its short form
WARNING_LEVELS = frozenset({"warn", "warning"})
ERROR_LEVELS = frozenset({"error"})
# Together's event types (its SDK's FinetuneEventType) that a user must read, whatever level
# Together gave them; the rest (job_pending, model_downloading, checkpoint_save, …) is routine.
TOGETHER_WARNINGS = frozenset({"warning", "billing_limit", "job_restarted"})
TOGETHER_ERRORS = frozenset({"job_error"})
# Verbose routine messages made compact: the ids they carry are in the status message already.
_COMPACT = (
    (re.compile(r"^(Checkpoint created at step \d+)\b.*", re.S), r"\1"),
    (re.compile(r"^(New fine-tuned model created)\b.*", re.S), r"\1"),
    (re.compile(r"^(Created fine-tuning job)\b.*", re.S), r"\1"),
    (
        re.compile(r"^Validating training file: \S+ and validation file: .*", re.S),
        r"Validating training and validation files",
    ),
    (re.compile(r"^(Validating training file)\b.*", re.S), r"\1"),
    (re.compile(r"^(Job finished)\. Model output: .*", re.S), r"\1"),
)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One routine event as the status message lists it."""

    at: int
    text: str

    def payload(self) -> dict[str, Any]:
        """As stored (the notification's payload)."""
        return {"at": self.at, "text": self.text}

    @staticmethod
    def from_payload(payload: dict[str, Any]) -> TimelineEntry:
        """From a stored payload (tolerant of odd values: one bad row must not stop a job)."""
        at = payload.get("at")
        return TimelineEntry(
            at=at if isinstance(at, int) and not isinstance(at, bool) else 0,
            text=str(payload.get("text") or ""),
        )


@dataclass(frozen=True, slots=True)
class Timeline:
    """The last entries of a job's timeline, oldest first, and how many came before them."""

    entries: tuple[TimelineEntry, ...] = ()
    earlier: int = 0

    def payload(self) -> dict[str, Any]:
        """As kept with the job's watch state (read back instead of the notices)."""
        return {"entries": [e.payload() for e in self.entries], "earlier": self.earlier}

    @staticmethod
    def from_payload(payload: object) -> Timeline | None:
        """From the watch state; None when it holds no timeline (read the notices then)."""
        if not isinstance(payload, dict) or not isinstance(payload.get("entries"), list):
            return None
        earlier = payload.get("earlier")
        return Timeline(
            entries=tuple(
                TimelineEntry.from_payload(e) for e in payload["entries"] if isinstance(e, dict)
            ),
            earlier=earlier if isinstance(earlier, int) and not isinstance(earlier, bool) else 0,
        )


def classify(event: Event, *, failed_with: str | None = None) -> Kind:
    """Where an event goes. `failed_with`: the job's error message when it ended failed; the
    error event saying the same is routine (the failure notice carries it, once)."""
    if event.is_metrics:
        return "metrics"
    level = event.level.lower()
    kind = str(event.data.get("together_type") or "") if isinstance(event.data, dict) else ""
    if level in ERROR_LEVELS or kind in TOGETHER_ERRORS:
        if failed_with is not None and _same(event.message, failed_with):
            return "routine"
        return "error"
    if level in WARNING_LEVELS or kind in TOGETHER_WARNINGS:
        return "warning"
    return "routine"


def _same(a: str, b: str) -> bool:
    return _SPACE.sub(" ", a).strip() == _SPACE.sub(" ", b).strip()


def timeline_text(message: str) -> str:
    """A routine event's message, compact and on one line."""
    text = _SPACE.sub(" ", message).strip()
    for pattern, replacement in _COMPACT:
        if pattern.match(text):
            text = pattern.sub(replacement, text)
            break
    if len(text) > TIMELINE_TEXT:
        text = text[: TIMELINE_TEXT - 1] + "…"
    return text or "event"


def entry_of(event: Event) -> TimelineEntry:
    """A routine event as a timeline entry."""
    return TimelineEntry(at=event.created_at, text=timeline_text(event.message))


def short_id(remote_id: str) -> str:
    """`ftjob-abc123de` for `ftjob-abc123def456…`, `ft-1234abcd` for a Together uuid: enough
    to tell a thread's jobs apart, and a prefix the commands accept."""
    head, dash, rest = remote_id.partition("-")
    if not dash:
        return remote_id[: LABEL_ID + 6]
    return f"{head}-{rest[:LABEL_ID]}"


def job_label(remote_id: str | None, suffix: str | None) -> str:
    """How a reply names its job: the user's suffix, else its short id."""
    if suffix and suffix.strip():
        return suffix.strip()
    return short_id(remote_id or "") or "job"


@dataclass(frozen=True, slots=True)
class Plan:
    """What one poll of one job learnt: the latest metrics, notices to record once, the event
    cursor to store, and the error events held back for the next poll."""

    metrics: Metrics
    notices: tuple[Notice, ...]
    finished_now: bool
    cursor: str | None = None
    held: frozenset[str] = frozenset()


def plan_update(
    *,
    previous_metrics: Metrics,
    previous_status: str | None,
    snapshot: JobSnapshot,
    new_events: list[Event],
    cursor: str | None = None,
    held: frozenset[str] = frozenset(),
) -> Plan:
    """One poll as notices: routine events for the timeline, warnings and errors as replies,
    the outcome once, and after a success the chart and the checkpoint choice.

    A poll reads the job, then its events: a job failing in between shows as still running
    with its failure's error event already listed. So an error event of an unfinished job is
    held back once (not recorded, the cursor stays before it, its id in `held`): the next
    poll sees it again, folded into the timeline if the job has failed with that error (the
    outcome says it), else a reply then. `cursor`, `held`: as the last poll stored them."""
    metrics = previous_metrics
    notices: list[Notice] = []
    failed_with = snapshot.error_message if snapshot.status == "failed" else None
    holding: set[str] = set()
    new_cursor = cursor
    for event in new_events:  # oldest first
        kind = classify(event, failed_with=failed_with)
        if kind == "error" and not snapshot.finished and event.id not in held:
            holding.add(event.id)
            continue
        if not holding:  # the cursor never passes an event held back
            new_cursor = event.id
        if kind == "metrics":
            metrics = metrics_from(event, metrics)
        elif kind == "routine":
            notices.append(Notice("timeline", event.id, entry_of(event).payload()))
        else:
            level = "error" if kind == "error" else "warn"
            notices.append(Notice("event", event.id, {"message": event.message, "level": level}))
    if snapshot.status == "succeeded" and metrics.total_steps:
        metrics = replace(metrics, step=metrics.total_steps)
    finished_now = snapshot.finished and previous_status not in TERMINAL
    if snapshot.finished:
        payload: dict[str, Any] = {"status": snapshot.status}
        if metrics.valid_loss is not None:
            payload["valid_loss"] = metrics.valid_loss
        notices.append(Notice("completion", snapshot.status, payload))
        if snapshot.status == "succeeded":
            notices.append(Notice("chart", "final", {}))
            notices.append(Notice("checkpoints", "final", {}))
    return Plan(
        metrics=metrics,
        notices=tuple(notices),
        finished_now=finished_now,
        cursor=new_cursor,
        held=frozenset(holding),
    )
