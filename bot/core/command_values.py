"""Values of /finetune arguments shared by the grammar, the start form and conversations."""

from __future__ import annotations

import re

from bot.core.evaluation import HOLDOUT_MAX, HOLDOUT_MIN

# ASCII only: Python's int() and float() also read other scripts' digits ("٣" is 3), "1_0"
# and surrounding spaces, none of which a user means as a number here.
_WHOLE = re.compile(r"[+-]?[0-9]+")


class UsageError(ValueError):
    """A malformed or unknown command; the message is one line for the user."""


def parse_whole(value: str, name: str, low: int, high: int) -> int:
    """A whole number written in ASCII digits, from `low` to `high`."""
    if not _WHOLE.fullmatch(value):
        raise UsageError(f"`{name}` must be a whole number, got `{_short(value)}`")
    number = int(value) if len(value) <= 20 else None  # int() refuses > 4,300 digits
    if number is None or not low <= number <= high:
        raise UsageError(f"`{name}` must be between {low} and {high}, got {_short(value)}")
    return number


def parse_holdout(value: str) -> int:
    """`holdout=20%` (or `20`): the percentage of examples kept back for evaluation."""
    text = value.strip().removesuffix("%")
    if not _WHOLE.fullmatch(text) or text.startswith(("+", "-")):
        raise UsageError(
            f"`holdout` must be a percentage like 20%, from {HOLDOUT_MIN}% to {HOLDOUT_MAX}%, "
            f"got `{_short(value)}`"
        )
    return parse_whole(text, "holdout (%)", HOLDOUT_MIN, HOLDOUT_MAX)


def parse_eval(value: str) -> bool:
    """`eval=off` (no automatic scorecard when the job succeeds) or `eval=on` (the default)."""
    word = value.strip().lower()
    if word not in ("on", "off"):
        raise UsageError(f"`eval` must be `on` or `off`, got `{_short(value)}`")
    return word == "on"


def _short(value: str) -> str:
    """A user's value echoed in a code span: short, and unable to close it."""
    value = value.replace("`", "\u02cb")
    return value if len(value) <= 24 else value[:23] + "…"
