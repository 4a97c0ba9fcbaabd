"""An evaluation's plan and result as data (what the scorecard shows and the store keeps), and
the words for its estimate, its refusal at the cap and what a partial result lacks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.evaluation import Case, Estimate, ModelScore, Price, examples_within
from bot.core.fmt import plural, usd
from bot.core.message import Code, Message, Part, Text, say
from bot.services.errors import UserError
from bot.services.eval_runner import Asked, Outcome
from storage.evaluations import ScoreRow
from storage.repositories import DatasetRecord

ROLE_WORDS = {"model": "the model", "base": "the base model", "best": "the dataset's best model"}


def fine_usd(amount: float) -> str:
    """Dollars with cents, or four decimals below a cent (an evaluation is often cheap), and
    `< $0.0001` below that (never `$0.0000` for a cost that is not nothing)."""
    if 0 < amount < 0.0001:
        return "< $0.0001"
    return f"${amount:.4f}" if 0 < amount < 0.01 else usd(amount)


@dataclass(frozen=True, slots=True)
class Contender:
    """A model in an evaluation: its role (model, base or best), name, backend, the name its
    backend is asked by (an Azure deployment; None: it can't be asked, `missing` says why)."""

    role: str
    model: str
    backend: str
    asked: str | None
    base_model: str | None
    missing: Message | None = None
    channel: str | None = None  # the conversation a fine-tuned model belongs to (None: a base)

    @property
    def price_model(self) -> str:
        """The catalogue entry its price comes from (a fine-tuned model's: its base's)."""
        return self.base_model or self.model


@dataclass(frozen=True, slots=True)
class EvalPlan:
    """What an evaluation will do, before any call."""

    dataset: DatasetRecord
    source: str  # holdout: the part kept back at start; dataset: the whole file
    cases: tuple[Case, ...]
    contenders: tuple[Contender, ...]
    grader: str | None
    grader_missing: str | None
    free_text: bool
    estimate: Estimate
    seed: int
    cap_usd: float

    @property
    def asked(self) -> tuple[Contender, ...]:
        """The contenders that will be asked."""
        return tuple(c for c in self.contenders if c.asked)


def _names(labels: Sequence[str]) -> list[Part]:
    parts: list[Part] = []
    for label in labels:
        parts += [", " if parts else "", Code(label)]
    return parts


def estimate_text(plan: EvalPlan) -> Message:
    """`50 held-out examples × 2 models + the grader, estimated $0.0123 (cap $1.00)`."""
    what = "held-out examples" if plan.source == "holdout" else "examples"
    count = len(plan.cases)
    models = plural(len(plan.asked), "model")
    grader = " + the grader" if plan.grader else ""
    text = say(
        f"{count:,} {what if count != 1 else what[:-1]} × {models}{grader}, estimated "
        f"{fine_usd(plan.estimate.known_usd)} (cap {usd(plan.cap_usd)})"
    )
    if plan.estimate.unpriced:
        text += say("; price unknown for ", *_names(plan.estimate.unpriced))
    return text


def over_cap_text(plan: EvalPlan) -> Message:
    """What an evaluation above FTBOT_EVAL_MAX_USD would have cost: nothing was asked."""
    return say(
        "Evaluating on ",
        Code(plan.dataset.name),
        " would cost about ",
        fine_usd(plan.estimate.known_usd),
        f" ({plural(len(plan.cases), 'example')} × {plural(len(plan.asked), 'model')}"
        f"{' + the grader' if plan.grader else ''}), above the evaluation cost cap "
        f"of {fine_usd(plan.cap_usd)}: nothing was asked. ",
    )


class OverCap(UserError):
    """The estimate is above FTBOT_EVAL_MAX_USD: nothing is asked."""

    def __init__(self, plan: EvalPlan) -> None:
        super().__init__(over_cap_text(plan) + fewer_text(plan))
        self.plan = plan


def fewer_text(plan: EvalPlan, command: str | None = None) -> Message:
    """How to evaluate within the cap: fewer examples (`n=`, added to `command`), or an admin's
    higher cap."""
    fitting = examples_within(len(plan.cases), plan.estimate.known_usd, plan.cap_usd)
    if fitting < 1:
        return say("Not even one example fits: an admin can raise the cap.")
    how = f"{command} n={fitting}" if command else f"n={fitting}"
    return say(
        f"About {plural(fitting, 'example')} fit: evaluate fewer with ", Code(how),
        ", or an admin can raise the cap.",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class EvalResult:
    """An evaluation's outcome: each asked model's score, the cost, what is missing."""

    plan: EvalPlan
    evaluation_id: int
    scores: tuple[tuple[Contender, ModelScore], ...]
    opponent: str | None  # whom the model's win rate is against
    grader: str | None
    known_usd: float  # spent on models (and the grader) whose price is known
    unpriced: tuple[str, ...]  # asked models whose price is unknown
    missing: tuple[Message, ...]

    @property
    def cost_usd(self) -> float | None:
        """What the evaluation cost; None when a part's price is unknown."""
        return None if self.unpriced else self.known_usd

    @classmethod
    def build(
        cls,
        plan: EvalPlan,
        scores: list[tuple[Contender, ModelScore]],
        outcome: Outcome,
        evaluation_id: int,
        grader: Asked | None,
    ) -> EvalResult:
        """Put the calls' outcome into words: who failed, what the cap stopped, the cost."""
        total = len(plan.cases)
        missing: list[Message] = []
        for contender in plan.contenders:
            if contender.missing is not None:
                missing.append(
                    say(ROLE_WORDS[contender.role], " ", Code(contender.model), " was not asked: ")
                    + contender.missing
                )
        for label, (count, first) in outcome.failures.items():
            missing.append(
                say(Code(label), f" failed on {count} of {total} calls (", Text(first[:200]), ")")
            )
        if outcome.budget.refused:
            missing.append(
                say(
                    f"{plural(outcome.budget.refused, 'call')} not made: they would have passed "
                    f"the evaluation cost cap of {usd(plan.cap_usd)}"
                )
            )
        if plan.grader_missing:
            missing.append(say("No win rate: ", plan.grader_missing))
        graded = sum(v is not None for v in outcome.verdicts)
        if outcome.grader_calls > graded:
            missing.append(
                say(f"The grader gave no readable verdict on {outcome.grader_calls - graded} of "
                    f"{outcome.grader_calls} pairs")
            )  # fmt: skip
        unpriced = [c.model for c, _ in scores if _price_of(plan, c.model) is None]
        if grader is not None and grader.price is None and outcome.grader_calls:
            unpriced.append(grader.label)
        asked = plan.asked
        return cls(
            plan=plan,
            evaluation_id=evaluation_id,
            scores=tuple(scores),
            opponent=asked[1].model if plan.grader and len(asked) > 1 else None,
            grader=plan.grader,
            known_usd=outcome.budget.spent_usd,
            unpriced=tuple(unpriced),
            missing=tuple(missing),
        )

    def row(self, contender: Contender, model_score: ModelScore) -> ScoreRow:
        """A score as stored."""
        price = _price_of(self.plan, contender.model)
        cost = (
            price.cost(model_score.prompt_tokens, model_score.completion_tokens) if price else None
        )
        return ScoreRow(
            role=contender.role,
            model=contender.model,
            backend=contender.backend,
            base_model=contender.base_model,
            cases=model_score.cases,
            answered=model_score.answered,
            exact=model_score.exact,
            normalised=model_score.normalised,
            graded=model_score.graded,
            wins=model_score.wins,
            ties=model_score.ties,
            losses=model_score.losses,
            opponent=self.opponent if model_score.graded else None,
            mean_latency_s=model_score.mean_latency_s,
            prompt_tokens=model_score.prompt_tokens,
            completion_tokens=model_score.completion_tokens,
            cost_usd=cost,
        )


def _price_of(plan: EvalPlan, label: str) -> Price | None:
    for part in plan.estimate.parts:
        if part.label == label:
            return part.price
    return None
