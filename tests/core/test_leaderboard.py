"""The leaderboard, purely: ranking standings (scores first, the cheaper among equals, one row per
model and backend), a job's training cost, how many examples fit under the cap, `eval=` and
`leaderboard` in the grammar."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core import commands
from bot.core.evaluation import Price, examples_within
from bot.core.leaderboard import Standing, ranked, training_usd
from bot.core.usage import JobCost

CHEAP, DEAR = Price(0.1, 0.4), Price(3.0, 12.0)


def standing(model: str, normalised: int, exact: int = 0, **kw: object) -> Standing:
    return Standing(model=model, backend=str(kw.pop("backend", "openai")), fine_tuned=True,
                    examples=10, exact=exact, normalised=normalised, **kw)  # type: ignore[arg-type]  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "order"),
    [
        ([standing("a", 5), standing("b", 9)], ["b", "a"]),  # normalised match first
        ([standing("a", 8, 2), standing("b", 8, 6)], ["b", "a"]),  # then exact
        ([standing("a", 8, win_rate=0.2), standing("b", 8)], ["b", "a"]),  # no grade = 0.5
        ([standing("a", 8, win_rate=0.9), standing("b", 8)], ["a", "b"]),
        ([standing("a", 8, price=DEAR), standing("b", 8, price=CHEAP)], ["b", "a"]),  # cheaper
        ([standing("a", 8), standing("b", 8, price=DEAR)], ["b", "a"]),  # unknown price last
        ([standing("b", 8), standing("a", 8)], ["a", "b"]),  # then by name: stable
        ([], []),
    ],
)
def test_ranked(rows: list[Standing], order: list[str]) -> None:
    assert [s.model for s in ranked(rows)] == order


def test_the_same_name_on_two_backends_is_two_rows() -> None:
    rows = [standing("m", 5, backend="openai"), standing("m", 7, backend="together")]
    assert [s.backend for s in ranked(rows)] == ["together", "openai"]


def test_rates_of_no_examples_are_zero() -> None:
    empty = Standing("m", "openai", False, examples=0, exact=0, normalised=0)
    assert (empty.exact_rate, empty.normalised_rate, empty.price_per_1m) == (0.0, 0.0, None)


def cost(trained_tokens: int | None = None, billed_usd: float | None = None) -> JobCost:
    return JobCost(
        owner_id="U1", channel_id="C1", model="m", created_at=dt.datetime(2026, 1, 1),
        estimated_tokens=0, estimated_usd=None, trained_tokens=trained_tokens,
        billed_usd=billed_usd,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("job", "price", "expected"),
    [
        (cost(billed_usd=1.23, trained_tokens=10), 3.0, 1.23),  # the backend's own figure
        (cost(trained_tokens=100_000), 3.0, 0.30),
        (cost(trained_tokens=100_000), None, None),  # no per-token price: unknown, not $0
        (cost(), 3.0, None),  # never trained
    ],
)
def test_training_usd(job: JobCost, price: float | None, expected: float | None) -> None:
    assert training_usd(job, price) == (pytest.approx(expected) if expected else None)


@pytest.mark.parametrize(
    ("cases", "estimate", "cap", "fits"),
    [(50, 0.5, 1.0, 50), (50, 2.0, 1.0, 25), (6, 0.001, 0.0005, 3), (6, 1.0, 0.0001, 0),
     (10, 1.0, 0.999, 9), (10, 10.0, 0.0, 0)],
)  # fmt: skip
def test_examples_within_the_cap(cases: int, estimate: float, cap: float, fits: int) -> None:
    assert examples_within(cases, estimate, cap) == fits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start latest eval=off", commands.Start("latest", evaluate=False)),
        ("start latest eval=ON holdout=20%", commands.Start("latest", holdout=20)),
        ("leaderboard sums.jsonl", commands.Leaderboard("sums.jsonl")),
        ("eval m latest n=5", commands.Eval("m", "latest", n=5)),
    ],
)
def test_parse(text: str, expected: commands.Command) -> None:
    assert commands.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("start latest eval=maybe", "`eval` must be `on` or `off`"),
        ("leaderboard", "`leaderboard` needs <dataset>"),
        ("eval m latest n=0", "`n` must be between 1 and 1000"),
    ],
)
def test_refused(text: str, needle: str) -> None:
    with pytest.raises(commands.UsageError, match=needle):
        commands.parse(text)


def test_help_lists_the_leaderboard_and_eval_off() -> None:
    lines = {usage.split()[1]: (usage, summary) for usage, summary, _ in commands.help_lines()}
    assert lines["leaderboard"][0] == "/finetune leaderboard <dataset>"
    assert "Use this model" in lines["leaderboard"][1]
    assert "[eval=…]" in lines["start"][0] and "`eval=off`" in lines["start"][1]
