"""The one format for money, durations, counts and moments (bot/core/fmt.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.fmt import duration, loss, moment, number, plural, relative, usd
from bot.core.message import When, plain, say
from handlers.text import render


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (0, "$0.00"),
        (0.0001, "< $0.01"),
        (0.00999, "< $0.01"),
        (0.01, "$0.01"),
        (0.04181, "$0.04"),  # the figure the job post showed as $0.04181
        (0.06271, "$0.06"),
        (0.5226, "$0.52"),
        (0.0311, "$0.03"),
        (1.8, "$1.80"),
        (0.995, "$1.00"),
        (1234.5, "$1,234.50"),
        (1_234_567.891, "$1,234,567.89"),
        (-2.5, "-$2.50"),
        (float("nan"), "$—"),
        (float("inf"), "$—"),
    ],
)
def test_usd(amount: float, shown: str) -> None:
    assert usd(amount) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1e-05, "0.00001"),  # Together AI's learning rate, once shown as `1e-05`
        (2e-4, "0.0002"),
        (1.8, "1.8"),
        (0.1, "0.1"),
        (3.0, "3"),
        (2048.0, "2,048"),
        (1 / 3, "0.333333"),
        (-0.5, "-0.5"),
        (float("nan"), "—"),
    ],
)
def test_number_never_in_exponent_notation(value: float, shown: str) -> None:
    assert number(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.11, "0.11"), (0.2, "0.20"), (0.6667, "0.6667"), (1.5, "1.50"), (0.48231, "0.4823")],
)
def test_loss_reads_the_same_in_every_message(value: float, shown: str) -> None:
    assert loss(value) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 s"),
        (-5, "0 s"),
        (6, "6 s"),
        (6.9, "6 s"),
        (59, "59 s"),
        (60, "1 min"),
        (134, "2 min 14 s"),
        (600, "10 min"),
        (3600, "1 h"),
        (3_900, "1 h 5 min"),
        (3_905, "1 h 5 min"),  # two units at most
        (7_205, "2 h"),
        (86_400, "1 d"),
        (3 * 86_400 + 4 * 3600 + 5, "3 d 4 h"),
        (400 * 86_400, "400 d"),
        (float("nan"), "—"),
    ],
)
def test_duration(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "any moment now"),
        (59, "any moment now"),
        (60, "in 1 min"),
        (12 * 60 + 40, "in 12 min"),
        (3_900 + 30, "in 1 h 5 min"),
        (-120, "2 min ago"),
    ],
)
def test_relative(seconds: float, shown: str) -> None:
    assert relative(seconds) == shown


@pytest.mark.parametrize(
    ("count", "word", "shown"),
    [
        (0, "job", "0 jobs"),
        (1, "job", "1 job"),
        (2, "job", "2 jobs"),
        (1, "dataset", "1 dataset"),
        (3, "dataset", "3 datasets"),
        (1, "epoch", "1 epoch"),
        (1_204, "example", "1,204 examples"),
        (2, "entry", "2 entries"),
    ],
)
def test_plural(count: int, word: str, shown: str) -> None:
    assert plural(count, word) == shown


NOW = int(dt.datetime(2024, 5, 3, 14, 8, tzinfo=dt.UTC).timestamp())


@pytest.mark.parametrize(
    ("epoch", "seconds", "when", "markup"),
    [
        (
            NOW + 12 * 60,
            False,
            When(NOW + 12 * 60, "14:20 UTC", "time"),
            f"<!date^{NOW + 720}^{{time}}|14:20 UTC>",
        ),
        (
            NOW + 86_400,
            False,
            When(NOW + 86_400, "2024-05-04 14:08 UTC", "date_time"),
            f"<!date^{NOW + 86_400}^{{date_short_pretty}} {{time}}|2024-05-04 14:08 UTC>",
        ),
        (
            NOW - 3,
            True,
            When(NOW - 3, "14:07:57 UTC", "time_secs"),
            f"<!date^{NOW - 3}^{{time_secs}}|14:07:57 UTC>",
        ),
        (
            NOW - 86_400,
            True,
            When(NOW - 86_400, "2024-05-02 14:08:00 UTC", "date_time_secs"),
            f"<!date^{NOW - 86_400}^{{date_short_pretty}} {{time_secs}}|2024-05-02 14:08:00 UTC>",
        ),
    ],
)
def test_moment(epoch: int, seconds: bool, when: When, markup: str) -> None:
    """Slack's date markup in the reader's zone; a readable UTC fallback (and in plain text)."""
    assert moment(epoch, NOW, seconds=seconds) == when
    assert render(say(when)) == markup
    assert plain(say(when)) == when.fallback


def test_a_free_fallback_keeps_its_utc_moment_in_plain_text() -> None:
    assert plain(say(When(NOW, "at start"))) == "at start (2024-05-03 14:08 UTC)"
