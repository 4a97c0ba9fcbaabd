"""What the content check says: its progress line, its result (flagged examples by line and
category, never their text), the pointer a second click gets, and the no-key line."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.fmt import plural
from bot.core.message import Code, Message, Text, say
from bot.core.moderation import Flag, by_category
from storage.content_checks import DONE, RUNNING, ContentCheckRecord

NO_KEY = (
    "The content check uses OpenAI's moderation endpoint; this bot has no OpenAI key configured."
)
SHOWN_FLAGS = 25  # flagged examples listed with their categories
SHOWN_MORE = 40  # line numbers listed after those
AGAIN = "Click *Check content* on the report to try again."


def head(name: str) -> Message:
    """`Content check of `x.jsonl``."""
    return say("Content check of ", Code(name))


def reading_text(name: str) -> Message:
    """The progress line before the file is counted."""
    return say("🔎 ", head(name), ": reading the file…")


def progress_text(name: str, *, model: str, done: int, total: int) -> Message:
    """`🔎 Content check of `x.jsonl` with `omni-moderation-latest`: Checked 120/400 examples…`."""
    return say("🔎 ", head(name), " with ", Code(model), f": Checked {done:,}/{total:,} examples…")


def _categories(categories: Sequence[str]) -> Message:
    """Categories as the API names them (`self-harm/intent`): values from the provider."""
    parts: list[str | Text] = []
    for index, category in enumerate(categories):
        parts += [", "] if index else []
        parts.append(Text(category))
    return say(*parts)


def _listing(flags: Sequence[Flag], unit: str, count: int) -> Message:
    rows = say()
    for flag in flags[:SHOWN_FLAGS]:
        rows += say(f"\n• {unit} {flag.line:,}: ", _categories(flag.categories))
    if count > SHOWN_FLAGS:
        rest = [f"{flag.line:,}" for flag in flags[SHOWN_FLAGS : SHOWN_FLAGS + SHOWN_MORE]]
        tail = ", …" if count - SHOWN_FLAGS > len(rest) else ""
        where = f" ({unit}s {', '.join(rest)}{tail})" if rest else ""
        rows += say(f"\n• …and {plural(count - SHOWN_FLAGS, 'more example')}{where}")
    counted = by_category(flags)
    if counted:
        rows += say("\n*By category:* ")
        for index, (category, n) in enumerate(counted):
            rows += say(" · " if index else "", Text(category), f" {n:,}")
    return rows


def _not_checked(skipped: int) -> str:
    if not skipped:
        return ""
    verb = "was" if skipped == 1 else "were"
    return f"\n{plural(skipped, 'example')} {verb} not checked (not readable as JSON, or no text)."


def result_text(
    name: str,
    *,
    model: str,
    total: int,
    checked: int,
    skipped: int,
    flags: Sequence[Flag],
    flagged_count: int,
    unit: str,
    error: Message | None = None,
) -> Message:
    """The result that replaces the progress line: flagged examples by line and category, or
    that none was flagged; with `error`, what was found before the check stopped."""
    listing = _listing(flags, unit, flagged_count)
    if error is not None:
        found = (
            say(f"\nFlagged so far ({flagged_count:,}), their text not repeated:", listing)
            if flagged_count
            else say("\nNothing was flagged in the examples checked so far.")
        )
        stop = "" if str(error).rstrip().endswith((".", "!", "?")) else "."
        return say(
            "⚠️ ",
            head(name),
            f" stopped after {checked:,} of {total:,} examples: ",
            error,
            stop,
            found,
            f"\n{AGAIN}",
        )
    if not total:
        return say("ℹ️ ", head(name), ": no example has any text to check.", _not_checked(skipped))
    if not flagged_count:
        return say(
            "✅ ",
            head(name),
            f": No example was flagged ({checked:,} checked with ",
            Code(model),
            ").",
            _not_checked(skipped),
        )
    return say(
        "⚠️ ",
        head(name),
        f": {flagged_count:,} of {checked:,} examples flagged by ",
        Code(model),
        " (their text is not repeated here):",
        listing,
        "\nThe provider's own safety check may refuse a job on these: fix or remove them first.",
        _not_checked(skipped),
    )


def _flags(check: ContentCheckRecord) -> list[Flag]:
    return [Flag(line, categories) for line, categories in check.flagged]


def stored_result(name: str, check: ContentCheckRecord, error: Message | None = None) -> Message:
    """The result of a stored check (a finished one reused, or a failure)."""
    return result_text(
        name,
        model=check.model,
        total=check.total,
        checked=check.checked,
        skipped=check.skipped,
        flags=_flags(check),
        flagged_count=check.flagged_count,
        unit=check.unit,
        error=error,
    )


def pointer_text(name: str, check: ContentCheckRecord) -> Message:
    """What a click on a dataset already checked (or being checked) answers, to the clicker."""
    if check.status == RUNNING:
        so_far = f" ({check.checked:,}/{check.total:,} so far)" if check.total else ""
        return say(Code(name), f" is being checked{so_far}: the result will be in its thread.")
    assert check.status == DONE
    if check.flagged_count:
        found = f"{check.flagged_count:,} of {check.checked:,} examples were flagged"
    else:
        found = f"no example was flagged ({check.checked:,} checked)"
    return say(Code(name), " was already checked with ", Code(check.model), f": {found}.")
