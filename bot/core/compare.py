"""Comparing a fine-tuned model with its base model on held-out examples: pure parts."""

from __future__ import annotations

from dataclasses import dataclass

# The cases, the matching and the counting are the evaluation's (one scoring code for compare
# and eval).
from bot.core import evaluation
from bot.core.evaluation import Case as Case
from bot.core.evaluation import cases_from as cases_from
from bot.core.evaluation import normalise as normalise


@dataclass(frozen=True, slots=True)
class Outcome:
    """Both models' answers to one case."""

    case: Case
    base: str
    tuned: str


@dataclass(frozen=True, slots=True)
class Score:
    """Match counts of one model."""

    exact: int
    normalised: int
    total: int

    def rate(self, value: int) -> str:
        """`7/20 (35%)`."""
        share = value / self.total if self.total else 0.0
        return f"{value}/{self.total} ({share:.0%})"


def score(outcomes: list[Outcome], *, tuned: bool) -> Score:
    """Exact and normalised matches against the reference answers (bot.core.evaluation.score)."""
    counted = evaluation.score(
        [o.case for o in outcomes],
        [evaluation.Answer(o.tuned if tuned else o.base) for o in outcomes],
    )
    return Score(exact=counted.exact, normalised=counted.normalised, total=counted.cases)
