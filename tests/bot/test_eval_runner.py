"""The evaluation's call runner: bounded concurrency, the dollar budget, partial results when a
model or the grader fails (plain callables stand in for a backend's chat: no SDK is mocked)."""

from __future__ import annotations

import threading
import time
from typing import Any

from bot.core.evaluation import LOSS, TIE, WIN, Case, Price
from bot.core.jobs import ServiceError
from bot.services.eval_runner import Asked, Budget, run_calls

CASES = [Case(n, [{"role": "user", "content": f"q{n}"}], f"a{n}") for n in range(12)]


def answering(text: str, *, delay: float = 0.0, fail_on: frozenset[str] = frozenset()) -> Any:
    def chat(messages: list[dict[str, Any]]) -> tuple[str, int, int]:
        if delay:
            time.sleep(delay)
        asked = messages[-1]["content"]
        if asked in fail_on:
            raise ServiceError("unavailable", "the model is down")
        return (asked.replace("q", "a") if text == "right" else text), 10, 2

    return chat


def test_concurrency_is_bounded() -> None:
    running = [0, 0]
    lock = threading.Lock()

    def chat(messages: list[dict[str, Any]]) -> tuple[str, int, int]:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return "x", 1, 1

    seen: list[int] = []
    run_calls(
        CASES, [Asked("m", chat, None)], grader=None, pair=None, seed=1, concurrency=4,
        budget=Budget(cap_usd=1.0), progress=lambda done, total: seen.append(done),
    )  # fmt: skip
    assert running[1] == 4
    assert sorted(seen) == list(range(1, 13))


def test_budget_stops_calls_that_would_pass_the_cap() -> None:
    price = Price(1_000_000.0, 0.0)  # $10 per 10-token call
    model = Asked("m", answering("right"), price, expected_usd=10.0)
    outcome = run_calls(
        CASES, [model], grader=None, pair=None, seed=1, concurrency=1,
        budget=Budget(cap_usd=25.0), progress=lambda *_: None,
    )  # fmt: skip
    asked = [a for a in outcome.answers[0] if a is not None]
    assert len(asked) == 2 and outcome.budget.refused == 10
    assert outcome.budget.spent_usd == 20.0 and outcome.budget.reserved_usd == 0


def test_a_failing_model_and_grader_leave_a_partial_outcome() -> None:
    tuned = Asked("tuned", answering("right", fail_on=frozenset({"q3", "q4"})), None)
    base = Asked("base", answering("wrong"), None)
    replies = iter(["VERDICT: 1", "VERDICT: 2", "no idea", "VERDICT: TIE"] * 5)
    lock = threading.Lock()

    def grade(messages: list[dict[str, Any]]) -> tuple[str, int, int]:
        with lock:
            reply = next(replies)
        if reply == "no idea" and "q0" in messages[-1]["content"]:
            raise ServiceError("rate_limited", "slow down")
        return reply, 100, 3

    outcome = run_calls(
        CASES, [tuned, base], grader=Asked("grader", grade, None), pair=(0, 1), seed=5,
        concurrency=1, budget=Budget(cap_usd=1.0), progress=lambda *_: None,
    )  # fmt: skip
    assert outcome.failures["tuned"] == (2, "the model is down")
    assert [a.text is None for a in outcome.answers[0] if a].count(True) == 2
    # no pair to grade where the tuned model failed: 10 grader calls at most
    assert outcome.grader_calls <= 10
    assert {v for v in outcome.verdicts} <= {WIN, LOSS, TIE, None}
    assert outcome.verdicts[3] is None and outcome.verdicts[4] is None
    assert outcome.grader_tokens[0] == 100 * outcome.grader_calls
