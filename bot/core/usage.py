"""Fine-tuning spend by user and by channel: estimated and actual, this month and all time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class JobCost:
    """What one job was expected to cost and what it did."""

    owner_id: str
    channel_id: str
    model: str
    created_at: dt.datetime
    estimated_tokens: int
    estimated_usd: float
    trained_tokens: int | None


@dataclass(slots=True)
class Tally:
    """Sums for one user or channel."""

    jobs: int = 0
    estimated_tokens: int = 0
    estimated_usd: float = 0.0
    trained_tokens: int = 0
    actual_usd: float = 0.0

    def add(self, job: JobCost, price: float | None) -> None:
        """Count one job in."""
        self.jobs += 1
        self.estimated_tokens += job.estimated_tokens
        self.estimated_usd += job.estimated_usd
        if job.trained_tokens is not None:
            self.trained_tokens += job.trained_tokens
            if price is not None:
                self.actual_usd += job.trained_tokens * price / 1_000_000


@dataclass(frozen=True, slots=True)
class Usage:
    """By user and by channel, for all time and for the current month."""

    by_user: dict[str, Tally]
    by_channel: dict[str, Tally]
    month_by_user: dict[str, Tally]
    month_by_channel: dict[str, Tally]


def usage(
    jobs: Iterable[JobCost], *, today: dt.date, price: Callable[[str], float | None]
) -> Usage:
    """Aggregate job costs; actual cost = trained tokens × the model's training price."""
    result = Usage({}, {}, {}, {})
    for job in jobs:
        unit = price(job.model)
        this_month = (job.created_at.year, job.created_at.month) == (today.year, today.month)
        for table, key, counts in (
            (result.by_user, job.owner_id, True),
            (result.by_channel, job.channel_id, True),
            (result.month_by_user, job.owner_id, this_month),
            (result.month_by_channel, job.channel_id, this_month),
        ):
            if counts:
                table.setdefault(key, Tally()).add(job, unit)
    return result
