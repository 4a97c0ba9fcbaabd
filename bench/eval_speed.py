"""Evaluation speed: a 50-example evaluation against the fake OpenAI with a fixed per-call
latency, at the default concurrency and serially, through the real runner and the real OpenAI
SDK (bot.services.eval_runner.run_calls over OpenAIGateway.chat).

    python bench/eval_speed.py [--examples 50] [--latency-ms 100] [--concurrency 8]

Three models answer each example (the fine-tuned model, its base, the dataset's best) and the
grader judges one pair: 3N + N calls, the most an evaluation makes. Prints the wall time of each
run, the serial time the calls would take back to back (calls × latency) and the ratios.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import openai  # noqa: E402

from bot.core.evaluation import Case, Price  # noqa: E402
from bot.openai_gateway import OpenAIGateway  # noqa: E402
from bot.services.eval_runner import Asked, Budget, run_calls  # noqa: E402
from tests.fakes.fake_openai import FakeOpenAI  # noqa: E402
from tests.fakes.grading import EvalChat  # noqa: E402

MODELS = ("ft:gpt-4o-mini-2024-07-18:bench::tuned", "gpt-4o-mini-2024-07-18", "gpt-4o-mini")


def cases(count: int) -> list[Case]:
    """`count` free-text examples (so the grader runs)."""
    return [
        Case(n, [{"role": "user", "content": f"Question number {n}: what is {n} plus {n}?"}],
            f"The answer is {2 * n}.")
        for n in range(count)
    ]  # fmt: skip


def run(gateway: OpenAIGateway, examples: int, concurrency: int) -> tuple[float, int]:
    """(wall seconds, calls made) of one evaluation."""
    price = Price(0.30, 1.20)
    asked = [
        Asked(m, lambda msgs, m=m: gateway.chat(model=m, messages=msgs), price) for m in MODELS
    ]
    grader = Asked("grader", lambda msgs: gateway.chat(model="gpt-4o-mini", messages=msgs), price)
    started = time.monotonic()
    outcome = run_calls(
        cases(examples), asked, grader=grader, pair=(0, 1), seed=1, concurrency=concurrency,
        budget=Budget(cap_usd=1.0), progress=lambda *_: None,
    )  # fmt: skip
    wall = time.monotonic() - started
    answered = sum(1 for answers in outcome.answers for a in answers if a and a.text is not None)
    assert not outcome.failures, outcome.failures
    return wall, answered + outcome.grader_calls


def main() -> None:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with FakeOpenAI() as fake:
        fake.chat_latency_ms = args.latency_ms
        fake.add_model(MODELS[0])
        fake.chat_responder = EvalChat(answers={MODELS[0]: lambda q: q})
        client = openai.OpenAI(api_key="sk-bench", base_url=fake.base_url, max_retries=0)
        gateway = OpenAIGateway(client)
        wall, calls = run(gateway, args.examples, args.concurrency)
        serial_wall, _ = run(gateway, args.examples, 1)
    ideal = calls * args.latency_ms / 1000
    print(f"{args.examples} examples, {calls} calls (3N model + N grader), "
          f"{args.latency_ms} ms per call")  # fmt: skip
    print(f"serial (calls × latency):    {ideal:6.2f} s")
    print(f"measured, concurrency 1:     {serial_wall:6.2f} s")
    print(f"measured, concurrency {args.concurrency}:     {wall:6.2f} s")
    print(f"ratio to serial: {wall / ideal:.3f} (speed-up ×{serial_wall / wall:.1f} measured)")


if __name__ == "__main__":
    main()
