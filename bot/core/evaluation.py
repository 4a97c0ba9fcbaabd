"""Evaluating models on held-out examples, purely: the held-out split, test cases (chat and DPO),
exact and normalised matching, per-model scores with a pairwise win rate, ranking, and the cost
estimate an evaluation is checked against before it runs (product §10).

The grader's prompt and the parsing of its verdict are in bot.core.grader.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

HOLDOUT_MIN, HOLDOUT_MAX = 1, 50  # percent of a dataset `holdout=` may keep back
LABEL_WORDS, LABEL_CHARS = 3, 40  # a reference this short is a label, not free text
LABEL_SHARE = 0.9  # ... and data whose references are mostly labels gets no grader
_SPACE = re.compile(r"\s+")

# ---- the held-out split ------------------------------------------------------------------------


def holdout_size(total: int, percent: int) -> int:
    """How many of `total` examples `percent`% holds out: rounded, at least one, and never all
    (at least one example is left to train on)."""
    if total < 2 or percent <= 0:
        return 0
    return min(total - 1, max(1, round(total * percent / 100)))


def held_out_positions(total: int, percent: int, seed: int) -> frozenset[int]:
    """The 0-based positions (in file order) of the examples held out: a seeded sample, so the
    same data, percentage and seed always hold out the same examples."""
    return frozenset(random.Random(seed).sample(range(total), holdout_size(total, percent)))


def stable_seed(text: str) -> int:
    """A seed derived from `text` (a dataset's content hash): repeated jobs on the same data hold
    out the same examples unless a seed is given."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


# ---- test cases --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    """One test example: the conversation up to the answer, and the reference answer."""

    number: int
    prompt: list[dict[str, Any]]
    reference: str


def _prompt(messages: list[Any]) -> list[dict[str, Any]]:
    """Role and text content of each turn (tool calls, content parts, weights stay behind)."""
    return [
        {"role": m["role"], "content": m["content"]}
        for m in messages
        if isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role")
    ]


def case_of(number: int, value: Any) -> Case | None:
    """The test case of one example: a chat example ending in a text assistant reply, or a
    preference pair (DPO), scored on its preferred output; None when it has none."""
    if not isinstance(value, dict):
        return None
    messages = value.get("messages")
    if isinstance(messages, list):
        if len(messages) < 2:
            return None
        last = messages[-1]
        if not (isinstance(last, dict) and last.get("role") == "assistant"):
            return None
        reference, prompt = last.get("content"), _prompt(messages[:-1])
    else:
        given = value.get("input")
        preferred = value.get("preferred_output")
        if not isinstance(given, dict) or not isinstance(preferred, list) or not preferred:
            return None
        asked = given.get("messages")
        last = preferred[-1]
        if not isinstance(asked, list) or not isinstance(last, dict):
            return None
        reference, prompt = last.get("content"), _prompt(asked)
    if isinstance(reference, str) and prompt:
        return Case(number, prompt, reference)
    return None


def cases_from(records: Iterable[tuple[int, Any, str | None]], limit: int) -> list[Case]:
    """The first `limit` usable cases of parsed records (`(number, value, error)`)."""
    found: list[Case] = []
    if limit <= 0:
        return found
    for number, value, error in records:
        case = None if error else case_of(number, value)
        if case is not None:
            found.append(case)
            if len(found) >= limit:
                break
    return found


# ---- matching ----------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Case, accents' composition, surrounding punctuation and runs of whitespace ignored."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _SPACE.sub(" ", text).strip()
    return text.strip(" .,;:!?\"'`")


def exact_match(answer: str, reference: str) -> bool:
    """The same text, but for surrounding whitespace."""
    return answer.strip() == reference.strip()


def normalised_match(answer: str, reference: str) -> bool:
    """The same text once normalised (see `normalise`)."""
    return normalise(answer) == normalise(reference)


def free_text(references: Sequence[str]) -> bool:
    """True when the reference answers are free text (worth a grader); False when they are mostly
    short labels (classification data), where matching says it all."""
    if not references:
        return False
    labels = sum(
        len(r.split()) <= LABEL_WORDS and len(r.strip()) <= LABEL_CHARS for r in references
    )
    return labels < LABEL_SHARE * len(references)


# ---- scores ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """One model's answer to one case (`text` None: the call failed)."""

    text: str | None
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0


WIN, LOSS, TIE = "win", "loss", "tie"


@dataclass(frozen=True, slots=True)
class ModelScore:
    """What one model scored over an evaluation's cases."""

    cases: int
    answered: int
    exact: int
    normalised: int
    graded: int = 0  # pairs the grader judged (a win, a loss or a tie)
    wins: int = 0
    ties: int = 0
    losses: int = 0
    latency_s: float = 0.0  # summed over answered calls
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def failed(self) -> int:
        """Cases the model gave no answer to."""
        return self.cases - self.answered

    @property
    def exact_rate(self) -> float:
        """Exact matches per case (a failed call counts as a miss)."""
        return self.exact / self.cases if self.cases else 0.0

    @property
    def normalised_rate(self) -> float:
        """Normalised matches per case."""
        return self.normalised / self.cases if self.cases else 0.0

    @property
    def win_rate(self) -> float | None:
        """Wins per graded pair, a tie counting half; None when nothing was graded."""
        return (self.wins + self.ties / 2) / self.graded if self.graded else None

    @property
    def mean_latency_s(self) -> float | None:
        """Mean seconds per answered call."""
        return self.latency_s / self.answered if self.answered else None


def score(
    cases: Sequence[Case], answers: Sequence[Answer | None], verdicts: Sequence[str | None] = ()
) -> ModelScore:
    """Match counts, latency and tokens of one model's answers (None: never asked); `verdicts`
    (win/loss/tie, None: not graded) are this model's against its opponent, case by case."""
    exact = normalised = answered = 0
    latency = 0.0
    tokens = [0, 0]
    for case, answer in zip(cases, answers, strict=True):
        if answer is None or answer.text is None:
            continue
        answered += 1
        exact += exact_match(answer.text, case.reference)
        normalised += normalised_match(answer.text, case.reference)
        latency += answer.latency_s
        tokens[0] += answer.prompt_tokens
        tokens[1] += answer.completion_tokens
    given = [v for v in verdicts if v in (WIN, LOSS, TIE)]
    return ModelScore(
        cases=len(cases),
        answered=answered,
        exact=exact,
        normalised=normalised,
        graded=len(given),
        wins=given.count(WIN),
        ties=given.count(TIE),
        losses=given.count(LOSS),
        latency_s=latency,
        prompt_tokens=tokens[0],
        completion_tokens=tokens[1],
    )


# ---- ranking -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ranked:
    """A model's standing on one dataset (what a leaderboard row ranks by)."""

    model: str
    backend: str
    normalised_rate: float
    exact_rate: float
    win_rate: float | None = None
    cost_usd: float | None = None  # e.g. its training or inference cost: cheaper ranks first


def rank(entries: Iterable[Ranked]) -> list[Ranked]:
    """Best first: normalised match, then exact match, then win rate (none counts as 0.5, an
    even match), then the cheaper (an unknown cost last), then by name for a stable order."""
    return sorted(
        entries,
        key=lambda e: (
            -round(e.normalised_rate, 9),
            -round(e.exact_rate, 9),
            -(0.5 if e.win_rate is None else e.win_rate),
            float("inf") if e.cost_usd is None else e.cost_usd,
            e.model,
            e.backend,
        ),
    )


# ---- the cost estimate -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Price:
    """USD per 1M tokens of a model's answers."""

    input_usd_per_1m: float
    output_usd_per_1m: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """The USD of that many tokens."""
        return (
            prompt_tokens * self.input_usd_per_1m + completion_tokens * self.output_usd_per_1m
        ) / 1_000_000


@dataclass(frozen=True, slots=True)
class Part:
    """One part of an evaluation's estimate: one model's calls (or the grader's)."""

    label: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    price: Price | None  # None: no price known

    @property
    def usd(self) -> float | None:
        """Its estimated cost; None when the price is unknown."""
        return self.price.cost(self.prompt_tokens, self.completion_tokens) if self.price else None


@dataclass(frozen=True, slots=True)
class Estimate:
    """An evaluation's estimated cost, part by part."""

    parts: tuple[Part, ...]

    @property
    def known_usd(self) -> float:
        """The sum of the parts whose price is known."""
        return sum(p.usd or 0.0 for p in self.parts)

    @property
    def unpriced(self) -> tuple[str, ...]:
        """The labels of the parts whose price is unknown."""
        return tuple(p.label for p in self.parts if p.price is None)

    @property
    def calls(self) -> int:
        """Model and grader calls in all."""
        return sum(p.calls for p in self.parts)


def answer_tokens(cases: Sequence[Case], count: Callable[[str], int]) -> tuple[int, int]:
    """(prompt, completion) tokens of answering every case once: the cookbook's 3 per message
    plus 3 for the reply priming, and an answer about twice the reference's length."""
    prompt = sum(3 + sum(3 + count(m["content"]) for m in c.prompt) for c in cases)
    completion = sum(2 * count(c.reference) + 8 for c in cases)
    return prompt, completion


def over_cap(estimate: Estimate, cap_usd: float) -> bool:
    """True when the known part of the estimate is above the cap."""
    return estimate.known_usd > cap_usd + 1e-12


def examples_within(cases: int, estimated_usd: float, cap_usd: float) -> int:
    """How many of `cases` examples fit under the cap, the estimate being about linear in them
    (0: not even one)."""
    if estimated_usd <= cap_usd:
        return cases
    return max(0, min(cases - 1, int(cases * cap_usd / estimated_usd)))
