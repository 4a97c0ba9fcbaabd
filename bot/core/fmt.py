"""How numbers and times read wherever a user reads them: money, durations, counts, moments.

Pure functions, one format each, so the command answer, the job's post, its status message and
the listings show the same figure for the same amount. `--json` output keeps exact numbers and
never goes through here.
"""

from __future__ import annotations

import datetime as dt
import math

from bot.core.message import When, WhenStyle

_IRREGULAR = {"entry": "entries", "summary": "summaries", "child": "children"}


def usd(amount: float) -> str:
    """Dollars to the cent with thousands separators: `$0.04`, `$1.80`, `$12,345.60`; anything
    positive under a cent is `< $0.01` (never `$0.00` for a cost that is not nothing)."""
    if not math.isfinite(amount):
        return "$—"
    if 0 < amount < 0.01:
        return "< $0.01"
    sign = "-" if amount < 0 else ""
    cents = round(abs(amount) * 100)
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def number(value: float) -> str:
    """A setting as people write it, never in exponent notation: `1.8`, `0.00001`, `2,048`."""
    if not math.isfinite(value):
        return "—"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    shown = f"{float(f'{value:.6g}'):.12f}".rstrip("0").rstrip(".")
    return shown if shown not in ("", "-0") else "0"


def loss(value: float) -> str:
    """A loss to four decimals, trailing zeros dropped down to two: `0.4823`, `0.11`, `1.50`."""
    if not math.isfinite(value):
        return "—"
    shown = f"{value:.4f}"
    while shown.endswith("0") and len(shown.split(".")[1]) > 2:
        shown = shown[:-1]
    return shown


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 dataset`, `2 datasets`, `1,204 examples`, `0 jobs` (`many`: an irregular plural)."""
    if count == 1:
        return f"1 {word}"
    return f"{count:,} {many or _IRREGULAR.get(word) or word + 's'}"


def duration(seconds: float) -> str:
    """A span as people say it, to its two largest units: `6 s`, `2 min 14 s`, `1 h 5 min`,
    `3 d 4 h` (`0 s` for nothing or a negative span)."""
    if not math.isfinite(seconds):
        return "—"
    total = max(int(seconds), 0)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    shown = [parts[0]] + [part for part in parts[1:2] if part[0]]
    return " ".join(f"{value:,} {unit}" for value, unit in shown)


def relative(seconds: float) -> str:
    """`in 12 min`, `in 1 h 5 min`; `any moment now` for under a minute ahead; `12 min ago`."""
    if not math.isfinite(seconds):
        return "—"
    if 0 <= seconds < 60:
        return "any moment now"
    if seconds < 0:
        return f"{duration(-seconds)} ago"
    # A prediction is not exact to the second: minutes are enough from a minute on.
    return f"in {duration(seconds - seconds % 60)}"


def clock(epoch: float) -> str:
    """The UTC fallback of a moment: `14:20 UTC`."""
    return f"{_utc(epoch):%H:%M} UTC"


def day_and_clock(epoch: float) -> str:
    """The UTC fallback of a moment on another day: `2024-05-03 14:20 UTC`."""
    return f"{_utc(epoch):%Y-%m-%d %H:%M} UTC"


def moment(epoch: float, now: float, *, seconds: bool = False) -> When:
    """A moment as Slack shows it in the reader's time zone: the time alone when it is today
    (UTC), else with its day; readable in UTC where Slack cannot show it."""
    at = _utc(epoch)
    same_day = at.date() == _utc(now).date()
    shown = f"{at:%H:%M:%S}" if seconds else f"{at:%H:%M}"
    fallback = f"{shown} UTC" if same_day else f"{at:%Y-%m-%d} {shown} UTC"
    style: WhenStyle
    if same_day:
        style = "time_secs" if seconds else "time"
    else:
        style = "date_time_secs" if seconds else "date_time"
    return When(int(epoch), fallback, style)


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
