"""Fine-tuning spend, purely: by user and channel, this month and all time, estimated and actual."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.core.usage import JobCost, Tally, Usage, usage

TODAY = dt.date(2026, 11, 25)
PRICES = {"gpt-4o-mini-2024-07-18": 3.0, "gpt-4.1-2025-04-14": 25.0}


def price(model: str, backend: str = "openai") -> float | None:
    return PRICES.get(model) if backend == "openai" else None


def at(
    year: int, month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


def job(
    owner: str = "U1",
    channel: str = "C1",
    *,
    model: str = "gpt-4o-mini-2024-07-18",
    created: dt.datetime | None = None,
    tokens: int = 100_000,
    usd: float | None = 0.3,
    trained: int | None = 100_000,
    backend: str = "openai",
) -> JobCost:
    return JobCost(
        owner_id=owner,
        channel_id=channel,
        model=model,
        created_at=created or at(2026, 11, 20),
        estimated_tokens=tokens,
        estimated_usd=usd,
        trained_tokens=trained,
        backend=backend,
    )


def test_no_jobs_no_rows() -> None:
    assert usage([], today=TODAY, price=price) == Usage({}, {}, {}, {})


def test_by_user_and_by_channel() -> None:
    jobs = [job("U1", "C1"), job("U1", "C2"), job("U2", "C1")]
    result = usage(jobs, today=TODAY, price=price)
    assert {user: t.jobs for user, t in result.by_user.items()} == {"U1": 2, "U2": 1}
    assert {channel: t.jobs for channel, t in result.by_channel.items()} == {"C1": 2, "C2": 1}
    assert result.month_by_user == result.by_user
    assert result.month_by_channel == result.by_channel


def test_a_users_tally_adds_estimates_and_actuals() -> None:
    jobs = [
        job(tokens=100_000, usd=0.30, trained=173_148),
        job(model="gpt-4.1-2025-04-14", tokens=50_000, usd=1.25, trained=40_000),
    ]
    (tally,) = usage(jobs, today=TODAY, price=price).by_user.values()
    assert tally.jobs == 2
    assert tally.estimated_tokens == 150_000
    assert tally.estimated_usd == pytest.approx(1.55)
    assert tally.trained_tokens == 213_148
    # each job at its own model's price: 173,148 × $3/1M + 40,000 × $25/1M
    assert tally.actual_usd == pytest.approx(0.519444 + 1.0)


@pytest.mark.parametrize(
    ("cost", "trained_tokens", "actual_usd"),
    [
        (job(trained=200_000), 200_000, 0.6),
        (job(trained=None), 0, 0.0),  # still running, or OpenAI did not say: no actual yet
        (job(trained=0), 0, 0.0),
        (job(model="gpt-unknown", trained=200_000), 200_000, 0.0),  # no price: tokens only
        (job(model="gpt-unknown", trained=None), 0, 0.0),
        (job(trained=10**15), 10**15, 3e9),  # huge numbers
    ],
)
def test_actual_cost(cost: JobCost, trained_tokens: int, actual_usd: float) -> None:
    tally = usage([cost], today=TODAY, price=price).by_user["U1"]
    assert tally.trained_tokens == trained_tokens
    assert tally.actual_usd == pytest.approx(actual_usd)
    assert (tally.estimated_tokens, tally.estimated_usd) == (
        cost.estimated_tokens,
        cost.estimated_usd,
    )


@pytest.mark.parametrize(
    ("created", "today", "this_month"),
    [
        (at(2026, 11, 25), dt.date(2026, 11, 25), True),
        (at(2026, 11, 1, 0, 0, 0), dt.date(2026, 11, 30), True),  # the month's first second
        (at(2026, 11, 30, 23, 59, 59), dt.date(2026, 11, 1), True),  # ... and its last
        (at(2026, 10, 31, 23, 59, 59), dt.date(2026, 11, 1), False),  # the month before
        (at(2026, 12, 1, 0, 0, 0), dt.date(2026, 11, 30), False),  # a clock behind the store
        (at(2025, 11, 25), dt.date(2026, 11, 25), False),  # same month, last year
        (at(2026, 12, 31, 23, 59, 59), dt.date(2027, 1, 1), False),  # over the new year
        (at(2027, 1, 1, 0, 0, 0), dt.date(2027, 1, 31), True),
        (at(2024, 2, 29), dt.date(2024, 2, 1), True),  # a leap day
    ],
)
def test_this_month(created: dt.datetime, today: dt.date, this_month: bool) -> None:
    result = usage([job(created=created)], today=today, price=price)
    assert set(result.by_user) == {"U1"} and set(result.by_channel) == {"C1"}  # all time
    assert ("U1" in result.month_by_user) is this_month
    assert ("C1" in result.month_by_channel) is this_month


def test_this_month_and_all_time_side_by_side() -> None:
    jobs = [
        job("U1", "C1", created=at(2026, 11, 2), usd=1.0),
        job("U1", "C2", created=at(2026, 10, 30), usd=2.0),
        job("U2", "C2", created=at(2025, 11, 20), usd=4.0),
    ]
    result = usage(jobs, today=TODAY, price=price)
    spent = {key: tally.estimated_usd for key, tally in result.by_user.items()}
    assert spent == {"U1": 3.0, "U2": 4.0}
    assert {key: t.estimated_usd for key, t in result.month_by_user.items()} == {"U1": 1.0}
    assert {key: t.estimated_usd for key, t in result.by_channel.items()} == {"C1": 1.0, "C2": 6.0}
    assert {key: t.estimated_usd for key, t in result.month_by_channel.items()} == {"C1": 1.0}


def test_the_four_tables_do_not_share_tallies() -> None:
    result = usage([job("U1", "U1")], today=TODAY, price=price)  # a user id as the channel key
    tallies = [
        result.by_user["U1"],
        result.by_channel["U1"],
        result.month_by_user["U1"],
        result.month_by_channel["U1"],
    ]
    assert len({id(t) for t in tallies}) == 4
    assert all(t == Tally(1, 100_000, 0.3, 100_000, 0.3) for t in tallies)


def test_many_jobs() -> None:
    jobs = [job(f"U{n % 7}", f"C{n % 3}", trained=1_000) for n in range(10_000)]
    result = usage(jobs, today=TODAY, price=price)
    assert sum(t.jobs for t in result.by_user.values()) == 10_000
    assert sum(t.jobs for t in result.month_by_channel.values()) == 10_000
    assert sum(t.trained_tokens for t in result.by_channel.values()) == 10_000_000
    assert sum(t.actual_usd for t in result.by_user.values()) == pytest.approx(30.0)


@pytest.mark.parametrize(
    ("price_per_1m", "trained", "added"),
    [(3.0, 1_000_000, 3.0), (None, 1_000_000, 0.0), (3.0, None, 0.0), (0.0, 5, 0.0)],
)
def test_tally_add(price_per_1m: float | None, trained: int | None, added: float) -> None:
    tally = Tally()
    tally.add(job(trained=trained), price_per_1m)
    tally.add(job(trained=trained), price_per_1m)
    assert tally.jobs == 2 and tally.estimated_tokens == 200_000
    assert tally.actual_usd == pytest.approx(2 * added)
    assert tally.trained_tokens == 2 * (trained or 0)


def test_totals_per_backend_as_well_as_per_user_and_channel() -> None:
    together = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
    jobs = [
        job("U1", "C1", usd=1.0),
        job(
            "U1",
            "C1",
            model=together,
            usd=2.5,
            trained=50_000,
            created=at(2026, 10, 1),
            backend="together",
        ),
        job("U2", "C2", model=together, usd=None, trained=None, backend="together"),
    ]
    result = usage(jobs, today=TODAY, price=price)  # no per-token price for Together's model
    assert set(result.by_backend) == {"openai", "together"}
    openai, tog = result.by_backend["openai"], result.by_backend["together"]
    assert (openai.jobs, openai.estimated_usd, openai.actual_usd) == (1, 1.0, pytest.approx(0.3))
    assert (tog.jobs, tog.estimated_usd, tog.unestimated) == (2, 2.5, 1)
    # 50,000 trained tokens with no per-token rate: unknown, never $0
    assert (tog.trained_tokens, tog.actual_usd, tog.unpriced) == (50_000, 0.0, 1)
    assert {k: t.jobs for k, t in result.month_by_backend.items()} == {"openai": 1, "together": 1}
    assert result.by_user["U1"].jobs == 2 and result.by_user["U1"].unpriced == 1
    assert sum(t.jobs for t in result.by_backend.values()) == len(jobs)


@pytest.mark.parametrize(
    ("estimated", "trained", "unit", "counts"),
    [
        (0.3, 1_000, 3.0, (0, 0)),
        (None, 1_000, 3.0, (1, 0)),  # adopted: no estimate recorded
        (0.0, 1_000, 3.0, (0, 0)),  # a real $0 estimate is known, not unknown
        (2.0, 1_000, None, (0, 1)),  # quoted: trained tokens but no per-token rate
        (2.0, None, None, (0, 0)),  # not trained yet: nothing to price
        (None, 5, None, (1, 1)),
    ],
)
def test_unknown_costs_are_counted_not_zeroed(
    estimated: float | None, trained: int | None, unit: float | None, counts: tuple[int, int]
) -> None:
    tally = Tally()
    tally.add(job(usd=estimated, trained=trained), unit)
    assert (tally.unestimated, tally.unpriced) == counts
    assert tally.estimated_usd == (estimated or 0.0)


@pytest.mark.parametrize(
    ("billed", "trained", "unit", "actual", "unpriced"),
    [
        (1.23, 50_000, None, 1.23, 0),  # Together's own price: no per-token rate needed
        (1.23, None, None, 1.23, 0),
        (1.23, 1_000_000, 3.0, 1.23, 0),  # the backend's figure wins over tokens × rate
        (None, 1_000_000, 3.0, 3.0, 0),
        (None, 1_000_000, None, 0.0, 1),
        (0.0, 1_000_000, None, 0.0, 0),  # a backend's own $0 is known
    ],
)
def test_the_backends_own_figure_is_the_actual_cost(
    billed: float | None, trained: int | None, unit: float | None, actual: float, unpriced: int
) -> None:
    tally = Tally()
    tally.add(dataclasses.replace(job(trained=trained), billed_usd=billed), unit)
    assert tally.actual_usd == pytest.approx(actual)
    assert tally.unpriced == unpriced and tally.trained_tokens == (trained or 0)


def test_an_azure_job_is_not_priced_at_openais_rate() -> None:
    """Azure OpenAI trains the same GPT models at its own, unpublished rates: trained tokens
    there are an unknown cost, not OpenAI's price."""
    azure = job(backend="azure", trained=200_000)
    tally = usage([azure], today=TODAY, price=price).by_backend["azure"]
    assert tally.actual_usd == 0 and tally.unpriced == 1
