"""Dataset doctor, Fix: a repaired copy of a dataset and the list of what changed. Pure rules
over a file read as a stream (one example in memory at a time) and a binary sink.

Removed and listed by line: invalid examples, exact duplicates of an earlier example, examples
over the model's token limit (or, when the user picks trim, only those that cannot be trimmed:
oldest turns dropped, then long messages shortened, the final assistant reply always kept).
A byte-order mark is stripped and a JSON array written as JSONL. Unchanged JSONL lines are
copied byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from bot.core import rules
from bot.core.datasets import BOM, MAX_NESTING, deeper_than, iter_raw_records, looks_like_dataset
from bot.core.datasets import is_document as _is_document
from bot.core.fmt import plural
from bot.core.issue_words import ISSUE_LABELS
from bot.core.models import ModelInfo
from bot.core.reports import DatasetReport
from bot.core.tokens import (
    REPLY_PRIMING,
    Parts,
    ToolDefinitionCounter,
    function_definitions,
    get_encoding,
    message_parts,
    token_counter,
)

DROP, TRIM = "drop", "trim"
OVER_LIMIT_CHOICES = (DROP, TRIM)
LINES_KEPT = 1000  # line numbers kept per kind of change (the count is always exact)
SHOWN_LINES = 20  # line numbers a one-line summary names
# Errors about the file as a whole: removing examples cannot cure them.
FILE_LEVEL_ERRORS = frozenset({"too_few_examples", "empty_file", "file_too_large", "not_jsonl"})
FIXABLE_WARNINGS = frozenset({"duplicate_examples", "over_token_limit"})
_PENDING_MAX = 100  # objects read to learn the file's format (as validation does)

# Kinds of change, in the order they are listed.
BOM_STRIPPED = "byte_order_mark"
ARRAY_CONVERTED = "json_array"
DUPLICATE = "duplicate"
OVER_LIMIT = "over_limit"
TRIMMED = "trimmed"
UNTRIMMABLE = "untrimmable"


class CannotFix(ValueError):
    """The file is no dataset at all (binary, or text that is not JSON); one line for the user."""


@dataclass(frozen=True, slots=True)
class Change:
    """One kind of change: how many examples, and the first line (or item) numbers."""

    kind: str  # an error kind (the example was removed as invalid) or one of the kinds above
    count: int
    lines: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Repair:
    """What `repair` did: examples read and kept, and each kind of change."""

    examples: int
    kept: int
    changes: tuple[Change, ...]
    numbering: str  # "line", or "item" for a JSON array
    limit: int  # the model's per-example token limit
    model: str

    @property
    def changed(self) -> bool:
        """Anything at all differs from the input."""
        return bool(self.changes)

    @property
    def removed(self) -> int:
        """Examples left out of the copy."""
        return self.examples - self.kept


@dataclass
class _Tally:
    counts: dict[str, int] = field(default_factory=dict)
    lines: dict[str, list[int]] = field(default_factory=dict)

    def add(self, kind: str, line: int | None = None) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        kept = self.lines.setdefault(kind, [])
        if line is not None and len(kept) < LINES_KEPT:
            kept.append(line)


def needs_fix(report: DatasetReport) -> bool:
    """Whether Fix can change something the report complains about: an invalid example, a
    duplicate or an over-limit example (file-level errors alone are not fixable)."""
    if report.not_a_dataset:
        return False
    return any(k not in FILE_LEVEL_ERRORS for k in report.errors) or any(
        k in FIXABLE_WARNINGS for k in report.warnings
    )


def repair(
    source: str | Path, out: BinaryIO, *, model: ModelInfo, over_limit: str = DROP
) -> Repair:
    """Write the repaired copy of the dataset at `source` to `out` (JSONL) and say what changed.

    `over_limit` is DROP or TRIM: what to do with an example over `model`'s token limit.
    Raises CannotFix for a file that is no dataset.
    """
    if over_limit not in OVER_LIMIT_CHOICES:
        raise ValueError(f"over_limit must be one of {OVER_LIMIT_CHOICES}")
    if not looks_like_dataset(source):
        raise CannotFix("it is not a dataset (binary, or text that is not JSON): nothing to fix")
    document = _is_document(source)
    with Path(source).open("rb") as f:
        has_bom = f.read(3) == BOM
    tally = _Tally()
    if has_bom:
        tally.add(BOM_STRIPPED)
    if document:
        tally.add(ARRAY_CONVERTED)
    fixer = _Fixer(model, over_limit, _format_of(source, document), tally)
    examples = kept = 0
    for number, value, error, raw in iter_raw_records(source, document=document):
        examples += 1
        line = fixer.fix(number, value, error, raw)
        if line is not None:
            out.write(line)
            out.write(b"\n")
            kept += 1
    order = [BOM_STRIPPED, ARRAY_CONVERTED]
    errors = sorted(
        (k for k in tally.counts if k not in _OWN_KINDS),
        key=lambda k: (tally.lines[k][:1] or [0], k),
    )
    order += [*errors, DUPLICATE, OVER_LIMIT, UNTRIMMABLE, TRIMMED]
    changes = tuple(
        Change(kind, tally.counts[kind], tuple(tally.lines[kind]))
        for kind in order
        if kind in tally.counts
    )
    return Repair(
        examples=examples,
        kept=kept,
        changes=changes,
        numbering="item" if document else "line",
        limit=model.example_limit,
        model=model.id,
    )


_OWN_KINDS = frozenset({BOM_STRIPPED, ARRAY_CONVERTED, DUPLICATE, OVER_LIMIT, TRIMMED, UNTRIMMABLE})


def _format_of(source: str | Path, document: bool) -> str:
    """The file's format as validation decides it: the shape of the first recognisable object."""
    seen = 0
    for _number, value, error, _raw in iter_raw_records(source, document=document):
        if error is None and isinstance(value, dict):
            shape = rules.shape_of(value)
            if shape is not None:
                return shape
            seen += 1
            if seen >= _PENDING_MAX:
                break
    return rules.CHAT


class _Fixer:
    """Judges one example at a time; remembers what it kept (for duplicates)."""

    def __init__(self, model: ModelInfo, over_limit: str, file_format: str, tally: _Tally) -> None:
        self._format = file_format
        self._mode = over_limit
        self._limit = model.example_limit
        self._tally = tally
        self._seen: set[bytes] = set()
        encoding = get_encoding(model.encoding)
        self._encoding = encoding
        self._count = token_counter(encoding)
        self._tools = ToolDefinitionCounter(encoding)

    def fix(self, number: int, value: Any, error: str | None, raw: bytes | None) -> bytes | None:
        """The line to write for this example, or None when it is left out (and tallied)."""
        tally = self._tally
        if error is not None:
            tally.add(error, number)
            return None
        if not isinstance(value, dict):
            tally.add("not_an_object", number)
            return None
        digest = _digest(value)
        if digest is None:
            tally.add("nesting_too_deep", number)
            return None
        checked = rules.check(value, self._format)
        if checked.errors:
            tally.add(min(checked.errors), number)  # one reason per example, stable
            return None
        if digest in self._seen:
            tally.add(DUPLICATE, number)
            return None
        self._seen.add(digest)
        if checked.parts is not None and self._tokens(checked) > self._limit:
            if self._mode == DROP:
                tally.add(OVER_LIMIT, number)
                return None
            trimmed = self._trim(value) if self._format == rules.CHAT else None
            if trimmed is None:
                tally.add(UNTRIMMABLE, number)
                return None
            tally.add(TRIMMED, number)
            return _dumps(trimmed)
        return raw.strip() if raw is not None else _dumps(value)

    def _tokens(self, checked: rules.Checked) -> int:
        parts = checked.parts
        assert parts is not None
        count = self._count
        return parts.base + self._tools(checked.functions) + sum(count(t) for t in parts.texts)

    def _message_tokens(self, message: Any) -> int:
        parts = Parts(0, [])
        message_parts((message,), parts)
        count = self._count
        return parts.base + sum(count(t) for t in parts.texts)

    def _trim(self, example: dict[str, Any]) -> dict[str, Any] | None:
        """The example cut to fit the limit, or None when even its final reply does not fit."""
        return trim_chat(
            example,
            limit=self._limit,
            message_tokens=self._message_tokens,
            fixed=REPLY_PRIMING + self._tools(function_definitions(example)),
            shorten=self._shorten,
        )

    def _shorten(self, text: str, tokens: int) -> str:
        """The start of `text`, at most `tokens` tokens long."""
        encoded = self._encoding.encode_ordinary(text)[: max(tokens, 0)]
        return self._encoding.decode_bytes(encoded).decode("utf-8", "ignore")


def trim_chat(
    example: dict[str, Any],
    *,
    limit: int,
    message_tokens: Callable[[Any], int],
    fixed: int,
    shorten: Callable[[str, int], str],
) -> dict[str, Any] | None:
    """A chat example cut to at most `limit` tokens, or None when it cannot be.

    Kept: the leading system messages and the final assistant message (anything after it is
    not trained on and goes first). Then the oldest turns (a user message and what answers it)
    go, oldest first, while more than the last turn is left. Then the longest text contents
    other than the final reply are shortened (user and tool messages before system ones).
    `fixed` is what the example costs besides its messages (reply priming, tool definitions).
    """
    messages = example["messages"]
    last = max(
        (i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "assistant"),
        default=None,
    )
    if last is None:
        return None
    head = 0
    while head < last and _role(messages[head]) == "system":
        head += 1
    turns = list(_turns(messages[head : last + 1]))
    sizes = [message_tokens(m) for m in messages[: last + 1]]
    system = messages[:head]
    total = fixed + sum(sizes)
    offset = head
    kept_turns: list[list[tuple[int, Any]]] = []
    for turn in turns:
        kept_turns.append([(offset + i, m) for i, m in enumerate(turn)])
        offset += len(turn)
    while total > limit and len(kept_turns) > 1:
        dropped = kept_turns.pop(0)
        total -= sum(sizes[i] for i, _ in dropped)
    kept = [(i, m) for i, m in enumerate(system)] + [p for turn in kept_turns for p in turn]
    out = [dict(m) if isinstance(m, dict) else m for _, m in kept]
    if total > limit:
        final = len(out) - 1
        candidates = sorted(
            (
                j
                for j, m in enumerate(out)
                if j != final and isinstance(m, dict) and isinstance(m.get("content"), str)
            ),
            key=lambda j: (_role(out[j]) == "system", -sizes[kept[j][0]]),
        )
        for j in candidates:
            message = out[j]
            for _ in range(4):  # re-encoding a cut text may differ by a token: cut again
                excess = total - limit
                has = _content_tokens(message, message_tokens)
                if excess <= 0 or has <= 1:
                    break
                before = message_tokens(message)
                message["content"] = shorten(message["content"], max(has - excess, 1))
                total += message_tokens(message) - before
    if total > limit:
        return None
    trimmed = dict(example)
    trimmed["messages"] = out
    return trimmed


def _content_tokens(message: dict[str, Any], message_tokens: Callable[[Any], int]) -> int:
    """Tokens of the message's text content alone."""
    without = dict(message)
    without["content"] = ""
    return message_tokens(message) - message_tokens(without)


def _role(message: Any) -> Any:
    return message.get("role") if isinstance(message, dict) else None


def _turns(messages: list[Any]) -> Iterator[list[Any]]:
    """Messages in turns: each user message starts one (what comes before the first is one)."""
    turn: list[Any] = []
    for message in messages:
        if _role(message) == "user" and turn:
            yield turn
            turn = []
        turn.append(message)
    if turn:
        yield turn


def _digest(value: dict[str, Any]) -> bytes | None:
    """A digest of the example's canonical form (keys sorted); None when it nests too deep."""
    try:
        canonical = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        if deeper_than(value, MAX_NESTING):
            return None
        canonical = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.blake2b(canonical, digest_size=16).digest()


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):  # ints past 64 bits, lone surrogates
        return json.dumps(value, separators=(",", ":")).encode()


def where(change: Change, unit: str = "line", shown: int = SHOWN_LINES) -> str:
    """'lines 3, 7, 9 and 12 more' (the first `shown` numbers), or '' for a file-level change."""
    if not change.lines:
        return ""
    names = ", ".join(str(n) for n in change.lines[:shown])
    more = change.count - min(len(change.lines), shown)
    return f"{unit}{'s' if change.count > 1 else ''} {names}" + (
        f" and {more:,} more" if more else ""
    )


def change_text(change: Change, repair: Repair, shown: int = SHOWN_LINES) -> str:
    """One change in plain words (not escaped: the renderer does that)."""
    unit = "item" if repair.numbering == "item" else "line"
    n = change.count
    at = where(change, unit, shown)
    at = f" ({at})" if at else ""
    limit = f"{repair.limit:,}"
    if change.kind == BOM_STRIPPED:
        return "Removed the byte-order mark at the start of the file."
    if change.kind == ARRAY_CONVERTED:
        return "Wrote the JSON array as JSONL: one example per line."
    if change.kind == DUPLICATE:
        return f"Removed {plural(n, 'exact duplicate')} of an earlier example{at}."
    if change.kind == OVER_LIMIT:
        return f"Removed {plural(n, 'example')} over {repair.model}'s limit of {limit} tokens{at}."
    if change.kind == UNTRIMMABLE:
        return (
            f"Removed {plural(n, 'example')} over the {limit}-token limit that could not be "
            f"trimmed (the final assistant reply alone is too long, or not a chat example){at}."
        )
    if change.kind == TRIMMED:
        return (
            f"Trimmed {plural(n, 'example')} to fit the {limit}-token limit{at}: oldest turns "
            "dropped or long messages shortened, the final assistant reply kept."
        )
    label = ISSUE_LABELS.get(change.kind, (change.kind.replace("_", " "), ""))[0]
    return f"Removed {plural(n, 'invalid example')}: {label}{at}."


def summary_text(repair: Repair) -> str:
    """'97 of 103 examples remain.'"""
    return f"{repair.kept:,} of {plural(repair.examples, 'example')} remain."
