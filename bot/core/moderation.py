"""The content check (product §11): which text of each example goes to a moderation endpoint, in
which requests, when the progress line is worth an edit, and how flagged pieces fold back into
flagged examples. Pure: the service streams the file, the adapter calls the endpoint.

Every example becomes one string (its message contents, or for a preference pair its input and
both outputs; a prompt–completion pair its prompt and completion), so each answer maps back to a
line. A longer example is sent in pieces, and any flagged piece flags its line. Requests carry at
most MAX_INPUTS strings and MAX_REQUEST_CHARS characters, which keeps one request well inside
the endpoint's per-request limits and the smallest tiers' tokens-per-minute budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

MODEL = "omni-moderation-latest"
MAX_INPUTS = 32  # strings per request
MAX_REQUEST_CHARS = 24_000  # about 6,000 tokens per request
MAX_PIECE_CHARS = 8_000  # an example longer than this is checked in pieces
PROGRESS_STEPS = 10  # the progress line is edited at each tenth of the way…
PROGRESS_SECONDS = 5.0  # …and at least this often while batches keep finishing
SEPARATOR = "\n\n"

Record = tuple[int, Any, str | None]  # bot.core.datasets' (number, value, error)


@dataclass(frozen=True, slots=True)
class Piece:
    """Text of one example (all of it, or one piece of a long one); `last`: its final piece."""

    line: int
    text: str
    last: bool = True


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the endpoint said about one input: flagged or not, and the flagged categories."""

    flagged: bool
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Flag:
    """A flagged example: its line (or JSON-array item) and the categories, in the API's words."""

    line: int
    categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Tally:
    """What a file holds for the check: examples with text, and those that cannot be checked."""

    checkable: int = 0
    unreadable: int = 0  # not valid JSON, not an object, not UTF-8
    empty: int = 0  # no text at all (only tool calls, images…)


def _contents(messages: Any, out: list[str]) -> None:
    """The text of each message's content (a string, or the text parts of a list)."""
    if not isinstance(messages, list):
        return
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            out.append(content)
        elif isinstance(content, list):
            out.extend(
                part["text"]
                for part in content
                if isinstance(part, dict) and isinstance(part.get("text"), str)
            )


def texts_of(value: Any) -> list[str]:
    """The texts of an example that a provider's safety check reads, in file order."""
    out: list[str] = []
    if not isinstance(value, dict):
        return out
    _contents(value.get("messages"), out)
    given = value.get("input")
    if isinstance(given, dict):  # a preference pair: the conversation, then both answers
        _contents(given.get("messages"), out)
    for key in ("preferred_output", "non_preferred_output"):
        _contents(value.get(key), out)
    for key in ("prompt", "completion"):
        if isinstance(value.get(key), str):
            out.append(value[key])
    return [text for text in out if text.strip()]


def example_text(value: Any) -> str:
    """One string for the example ('' when it has no text); text that cannot be encoded (a lone
    surrogate from a JSON escape) becomes '?' so the request can be sent."""
    text = SEPARATOR.join(texts_of(value))
    return text.encode("utf-8", "replace").decode("utf-8")


def split_text(text: str, limit: int = MAX_PIECE_CHARS) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at whitespace where one is near."""
    if limit < 1:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    while len(text) > limit:
        floor = limit * 3 // 4
        cut = max(text.rfind(" ", floor, limit), text.rfind("\n", floor, limit))
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut])
        text = text[cut:]
    if text or not pieces:
        pieces.append(text)
    return pieces


def tally(records: Iterable[Record]) -> Tally:
    """Count what the check will send and what it must leave out."""
    checkable = unreadable = empty = 0
    for _number, value, error in records:
        if error or not isinstance(value, dict):
            unreadable += 1
        elif example_text(value):
            checkable += 1
        else:
            empty += 1
    return Tally(checkable, unreadable, empty)


def pieces(records: Iterable[Record], *, limit: int = MAX_PIECE_CHARS) -> Iterator[Piece]:
    """The text of every readable example with text, in pieces of at most `limit` characters."""
    for number, value, error in records:
        if error:
            continue
        text = example_text(value)
        if not text:
            continue
        parts = split_text(text, limit)
        for index, part in enumerate(parts):
            yield Piece(number, part, last=index == len(parts) - 1)


def batches(
    items: Iterable[Piece],
    *,
    max_inputs: int = MAX_INPUTS,
    max_chars: int = MAX_REQUEST_CHARS,
) -> Iterator[list[Piece]]:
    """Requests in file order: at most `max_inputs` pieces and `max_chars` characters each (a
    single piece over `max_chars` goes alone)."""
    if max_inputs < 1:
        raise ValueError("max_inputs must be positive")
    batch: list[Piece] = []
    size = 0
    for piece in items:
        if batch and (len(batch) >= max_inputs or size + len(piece.text) > max_chars):
            yield batch
            batch, size = [], 0
        batch.append(piece)
        size += len(piece.text)
    if batch:
        yield batch


def flags_of(batch: Sequence[Piece], verdicts: Sequence[Verdict]) -> list[Flag]:
    """The flagged pieces of a request, by line; the answer must cover every input."""
    if len(verdicts) != len(batch):
        raise ValueError(f"{len(verdicts)} results for {len(batch)} inputs")
    return [
        Flag(piece.line, tuple(verdict.categories))
        for piece, verdict in zip(batch, verdicts, strict=True)
        if verdict.flagged
    ]


def merge(flags: Iterable[Flag]) -> list[Flag]:
    """One flag per line (the categories of all its pieces, first seen first), by line."""
    found: dict[int, list[str]] = {}
    for flag in flags:
        seen = found.setdefault(flag.line, [])
        seen.extend(c for c in flag.categories if c not in seen)
    return [Flag(line, tuple(found[line])) for line in sorted(found)]


def by_category(flags: Iterable[Flag]) -> list[tuple[str, int]]:
    """How many flagged examples each category has, most first (then by name)."""
    counts: dict[str, int] = {}
    for flag in flags:
        for category in flag.categories:
            counts[category] = counts.get(category, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def should_report(before: int, after: int, total: int, seconds: float) -> bool:
    """Edit the progress line now? When `after` examples done crosses another tenth of `total`
    since the last edit (at `before`), or PROGRESS_SECONDS passed and something moved."""
    if after <= before or total <= 0 or after >= total:
        return False  # nothing new; the end is reported by the result itself
    step = PROGRESS_STEPS * after // total > PROGRESS_STEPS * before // total
    return step or seconds >= PROGRESS_SECONDS
