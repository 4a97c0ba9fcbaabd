"""Running an evaluation's calls: every contender answers every case, the grader judges one pair
per case (order seeded), at a bounded concurrency, within a dollar budget. A failing model or
grader leaves holes that the outcome counts; nothing here raises for a provider's failure."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bot.core.evaluation import Answer, Case, Price
from bot.core.grader import candidate_first, grader_messages, order, outcome, parse_verdict
from bot.core.jobs import ServiceError

Chat = Callable[[list[dict[str, Any]]], tuple[str, int, int]]


@dataclass(frozen=True, slots=True)
class Asked:
    """A model as the runner asks it: its chat call, its price (None: unknown) and what one
    call is expected to cost (reserved against the budget before the call)."""

    label: str
    chat: Chat
    price: Price | None
    expected_usd: float = 0.0


@dataclass
class Budget:
    """Dollars an evaluation may still spend: a call is made only if its expected cost fits."""

    cap_usd: float
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reserve(self, amount: float) -> bool:
        """Hold `amount` for a call; False (and the call is not made) past the cap."""
        with self._lock:
            if self.spent_usd + self.reserved_usd + amount > self.cap_usd + 1e-12:
                self.refused += 1
                return False
            self.reserved_usd += amount
            return True

    def settle(self, reserved: float, actual: float) -> None:
        """Replace a call's reservation by what it cost."""
        with self._lock:
            self.reserved_usd -= reserved
            self.spent_usd += actual


@dataclass
class Outcome:
    """What the calls gave: answers per contender and case, the candidate's verdicts, the
    grader's tokens, failures by who failed (with the first error) and the budget."""

    answers: list[list[Answer | None]]
    verdicts: list[str | None]
    grader_tokens: list[int]
    failures: dict[str, tuple[int, str]]
    budget: Budget
    grader_calls: int = 0


def _call(asked: Asked, messages: list[dict[str, Any]], budget: Budget) -> Answer | None:
    """One call: None when the budget refused it, Answer(None) when the model failed."""
    if not budget.reserve(asked.expected_usd):
        return None
    started = time.monotonic()
    try:
        text, prompt_tokens, completion_tokens = asked.chat(messages)
    except ServiceError:
        budget.settle(asked.expected_usd, 0.0)
        raise
    cost = asked.price.cost(prompt_tokens, completion_tokens) if asked.price else 0.0
    budget.settle(asked.expected_usd, cost)
    return Answer(text, time.monotonic() - started, prompt_tokens, completion_tokens)


def run_calls(
    cases: Sequence[Case],
    contenders: Sequence[Asked],
    *,
    grader: Asked | None,
    pair: tuple[int, int] | None,
    seed: int,
    concurrency: int,
    budget: Budget,
    progress: Callable[[int, int], None],
) -> Outcome:
    """Ask every contender every case (at most `concurrency` cases at once), then, where both
    answers of `pair` (candidate, opponent) are there, the grader once per case."""
    result = Outcome(
        answers=[[None] * len(cases) for _ in contenders],
        verdicts=[None] * len(cases),
        grader_tokens=[0, 0],
        failures={},
        budget=budget,
    )
    lock = threading.Lock()
    done = [0]

    def failed(who: str, error: ServiceError) -> None:
        with lock:
            count, first = result.failures.get(who, (0, str(error)))
            result.failures[who] = (count + 1, first)

    def one(index: int) -> None:
        case = cases[index]
        for slot, asked in enumerate(contenders):
            try:
                result.answers[slot][index] = _call(asked, case.prompt, budget)
            except ServiceError as error:
                result.answers[slot][index] = Answer(None)
                failed(asked.label, error)
        if grader is not None and pair is not None:
            mine, theirs = (result.answers[pair[0]][index], result.answers[pair[1]][index])
            if mine and theirs and mine.text is not None and theirs.text is not None:
                first = candidate_first(seed, case.number)
                shown = order(mine.text, theirs.text, first=first)
                try:
                    judged = _call(grader, grader_messages(case, *shown), budget)
                except ServiceError as error:
                    judged = None
                    failed(grader.label, error)
                if judged is not None:
                    with lock:
                        result.grader_calls += 1
                        result.grader_tokens[0] += judged.prompt_tokens
                        result.grader_tokens[1] += judged.completion_tokens
                    result.verdicts[index] = outcome(parse_verdict(judged.text), first=first)
        with lock:
            done[0] += 1
            finished = done[0]
        progress(finished, len(cases))

    with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="eval") as pool:
        list(pool.map(one, range(len(cases))))
    return result
