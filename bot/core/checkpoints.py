"""A job's checkpoint list and its chart marks, purely: one row per checkpoint plus the final
model, each with its figures, which one is current (the default for `/finetune try`) and which
has the lowest validation loss; the title a job is known by; where its epochs end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.core.jobs import Checkpoint
from bot.core.watch import MetricRow, Metrics, row_from

TITLE_LIMIT = 120


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    """One entry of the list: a checkpoint, or the final model (`final`)."""

    model: str
    step: int | None
    epoch: int | None
    train_loss: float | None
    valid_loss: float | None
    train_accuracy: float | None
    valid_accuracy: float | None
    final: bool = False
    current: bool = False
    lowest: bool = False  # the lowest validation loss of the list


@dataclass(frozen=True, slots=True)
class CheckpointList:
    """What the checkpoint message shows."""

    job_id: str  # the backend's own job id
    title: str  # the dataset's name and the suffix (see `job_title`)
    rows: tuple[CheckpointRow, ...]
    epochs: int | None = None  # how many epochs the job trained, when known
    chosen: str | None = None  # the model chosen as default (None: the final model)
    chosen_by: str | None = None  # who chose it (a Slack user id), when known

    @property
    def current(self) -> CheckpointRow | None:
        """The row that answers `/finetune try`."""
        return next((row for row in self.rows if row.current), None)


def job_title(*, dataset: str | None, suffix: str | None, job_id: str) -> str:
    """`sports_chat.jsonl · acc`: the dataset's name and the suffix; a job without a dataset
    (adopted) goes by its id. Raw text: the caller escapes it for where it goes."""
    parts = [part for part in (dataset, suffix) if part]
    return (" · ".join(parts) if parts else job_id)[:TITLE_LIMIT]


def steps_per_epoch(total_steps: int | None, epochs: int | None) -> int | None:
    """Steps in one epoch when the job's steps split evenly into its epochs, else unknown."""
    if not total_steps or not epochs or epochs <= 0 or total_steps % epochs:
        return None
    return total_steps // epochs


def epoch_of(step: int | None, per_epoch: int | None) -> int | None:
    """The epoch (from 1) a step falls in; a step at an epoch's end belongs to that epoch."""
    if step is None or not per_epoch or step <= 0:
        return None
    return -(-step // per_epoch)


def epoch_ends(total_steps: int | None, epochs: int | None) -> list[int]:
    """The steps where one epoch ends and the next begins (not the last step)."""
    per_epoch = steps_per_epoch(total_steps, epochs)
    if per_epoch is None or epochs is None:
        return []
    return [per_epoch * k for k in range(1, epochs)]


def checkpoint_rows(
    *,
    checkpoints: Sequence[Checkpoint],
    final_model: str,
    final_metrics: Metrics | None,
    chosen: str | None,
    epochs: int | None,
) -> tuple[CheckpointRow, ...]:
    """The checkpoints oldest first, then the final model with the job's last figures; the
    chosen one (else the final model) is current; the lowest validation loss is marked once
    (the final model when it ties, else the earliest)."""
    last = final_metrics or Metrics()
    total = last.total_steps or max((c.step for c in checkpoints), default=0) or None
    per_epoch = steps_per_epoch(total, epochs)
    rows = [
        _row(c.model, c.step, row_from(c.metrics, c.step), per_epoch)
        for c in sorted(checkpoints, key=lambda c: c.step)
        if c.model and c.model != final_model
    ]
    if final_model:
        figures = MetricRow(
            step=total or 0,
            train_loss=last.train_loss,
            valid_loss=last.valid_loss,
            train_accuracy=last.train_accuracy,
            valid_accuracy=last.valid_accuracy,
        )
        rows.append(_row(final_model, total, figures, per_epoch, final=True))
    current = chosen if any(row.model == chosen for row in rows) else final_model
    measured = [row for row in rows if row.valid_loss is not None]
    lowest = None
    if measured:
        best = min(row.valid_loss for row in measured if row.valid_loss is not None)
        tied = [row for row in measured if row.valid_loss == best]
        lowest = next((row for row in tied if row.final), tied[0]).model
    return tuple(
        replace(row, current=row.model == current, lowest=row.model == lowest) for row in rows
    )


def _row(
    model: str, step: int | None, figures: MetricRow, per_epoch: int | None, *, final: bool = False
) -> CheckpointRow:
    return CheckpointRow(
        model=model,
        step=step,
        epoch=epoch_of(step, per_epoch),
        train_loss=figures.train_loss,
        valid_loss=figures.valid_loss,
        train_accuracy=figures.train_accuracy,
        valid_accuracy=figures.valid_accuracy,
        final=final,
    )
