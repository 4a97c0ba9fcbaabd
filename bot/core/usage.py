"""Fine-tuning spend by user, channel and backend: estimated and actual, this month and all time.

The actual cost is the backend's own figure when it gives one (Together's price of the job),
else trained tokens × the model's per-token price. A cost the bot does not know is counted as
unknown, never as $0: a job without an estimate (adopted, or its backend gave no quote), or
trained tokens with neither (a model its backend quotes itself, like Together AI's, before
Together has priced the job, or a model not in the catalogue).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class JobCost:
    """What one job was expected to cost (None: not known) and what it did."""

    owner_id: str
    channel_id: str
    model: str
    created_at: dt.datetime
    estimated_tokens: int
    estimated_usd: float | None
    trained_tokens: int | None
    backend: str = "openai"
    billed_usd: float | None = None  # the backend's own figure for the job (Together's price)
    job_id: int | None = None


@dataclass(slots=True)
class Tally:
    """Sums for one user, channel or backend."""

    jobs: int = 0
    estimated_tokens: int = 0
    estimated_usd: float = 0.0
    trained_tokens: int = 0
    actual_usd: float = 0.0
    unestimated: int = 0  # jobs without an estimate: not in estimated_usd
    unpriced: int = 0  # jobs with trained tokens but no per-token price: not in actual_usd

    def add(self, job: JobCost, price: float | None) -> None:
        """Count one job in (`price`: USD per 1M trained tokens, None when there is none)."""
        self.jobs += 1
        self.estimated_tokens += job.estimated_tokens
        if job.estimated_usd is None:
            self.unestimated += 1
        else:
            self.estimated_usd += job.estimated_usd
        if job.trained_tokens is not None:
            self.trained_tokens += job.trained_tokens
        if job.billed_usd is not None:  # the backend said what the job cost: that, as it is
            self.actual_usd += job.billed_usd
        elif job.trained_tokens is not None:
            if price is None:
                self.unpriced += 1
            else:
                self.actual_usd += job.trained_tokens * price / 1_000_000


@dataclass(frozen=True, slots=True)
class Usage:
    """By user, channel and backend, for all time and for the current month."""

    by_user: dict[str, Tally]
    by_channel: dict[str, Tally]
    month_by_user: dict[str, Tally]
    month_by_channel: dict[str, Tally]
    by_backend: dict[str, Tally] = field(default_factory=dict)
    month_by_backend: dict[str, Tally] = field(default_factory=dict)


def usage(
    jobs: Iterable[JobCost], *, today: dt.date, price: Callable[[str, str], float | None]
) -> Usage:
    """Aggregate job costs; actual cost = the backend's own figure, else trained tokens × the
    model's per-token training price on its backend (`price(model, backend)` answers None for
    a model without one)."""
    result = Usage({}, {}, {}, {}, {}, {})
    for job in jobs:
        unit = price(job.model, job.backend)
        this_month = (job.created_at.year, job.created_at.month) == (today.year, today.month)
        for table, key, counts in (
            (result.by_user, job.owner_id, True),
            (result.by_channel, job.channel_id, True),
            (result.by_backend, job.backend, True),
            (result.month_by_user, job.owner_id, this_month),
            (result.month_by_channel, job.channel_id, this_month),
            (result.month_by_backend, job.backend, this_month),
        ):
            if counts:
                table.setdefault(key, Tally()).add(job, unit)
    return result
