"""A dataset's leaderboard, purely (product §10): one standing per model and backend (its newest
evaluation on the dataset), ranked by bot.core.evaluation.rank with the cheaper answer first among
equals, and what a fine-tuned model's training cost."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.evaluation import Price, Ranked, rank
from bot.core.usage import JobCost


@dataclass(frozen=True, slots=True)
class Standing:
    """One row: a model's scores on the dataset and what it costs."""

    model: str
    backend: str
    fine_tuned: bool
    examples: int
    exact: int
    normalised: int
    win_rate: float | None = None
    opponent: str | None = None  # whom the win rate is against
    training_usd: float | None = None  # what its job cost (None: unknown, or a base model)
    price: Price | None = None  # USD per 1M tokens answered (None: unknown)
    chosen: bool = False  # this channel's model for `/finetune try`
    may_choose: bool = False  # the viewer may make it the channel's model (owner or admin)
    evaluated_at: dt.datetime | None = None

    @property
    def exact_rate(self) -> float:
        """Exact matches per example."""
        return self.exact / self.examples if self.examples else 0.0

    @property
    def normalised_rate(self) -> float:
        """Normalised matches per example."""
        return self.normalised / self.examples if self.examples else 0.0

    @property
    def price_per_1m(self) -> float | None:
        """Input plus output USD per 1M tokens: what "cheaper" compares."""
        return self.price.input_usd_per_1m + self.price.output_usd_per_1m if self.price else None


def ranked(standings: Iterable[Standing]) -> list[Standing]:
    """Best first (bot.core.evaluation.rank: normalised, exact, win rate, then the cheaper)."""
    by_key = {(s.model, s.backend): s for s in standings}
    order = rank(
        Ranked(s.model, s.backend, s.normalised_rate, s.exact_rate, s.win_rate, s.price_per_1m)
        for s in by_key.values()
    )
    return [by_key[(entry.model, entry.backend)] for entry in order]


def training_usd(job: JobCost, usd_per_1m: float | None) -> float | None:
    """What a job's training cost: the backend's own figure, else trained tokens × the model's
    per-token price; None when neither is known."""
    if job.billed_usd is not None:
        return job.billed_usd
    if job.trained_tokens is not None and usd_per_1m is not None:
        return job.trained_tokens * usd_per_1m / 1_000_000
    return None
