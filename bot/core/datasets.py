"""Streaming dataset reader: JSONL line by line, or a JSON array item by item.

Yields `(number, value, error)` where `number` is the 1-based physical line (JSONL) or item
number (JSON array) and `error` is None, "invalid_json", "not_utf8", "nesting_too_deep" or
"number_out_of_range"; with an error, `value` is the start of the offending line or item
(bytes or str, at most EXCERPT_BYTES: hostile text, for the report to quote). The whole file is never held in memory; blank lines are skipped (they
are not examples). `looks_like_dataset` tells a binary or plain-text file from a dataset.
"""

from __future__ import annotations

import codecs
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

BOM = b"\xef\xbb\xbf"
Record = tuple[int, Any, str | None]

_CHUNK = 1 << 21
_MAX_ITEM_BUFFER = 256 << 20  # give up on one unparseable JSON-array item past this
_WS = " \t\r\n"
_SNIFF_BYTES = 64 << 10
_SNIFF_LINES = 100
EXCERPT_BYTES = 240  # how much of an unparseable line an error record carries
# Arrays/objects inside one another: beyond this orjson cannot encode a value (its limit), and
# Python's json cannot even read one much deeper. Real examples nest fewer than 20 levels.
MAX_NESTING = 254


class _OutOfRange(Exception):
    """A JSON number beyond what a double holds (about ±1.8e308)."""


class _NotJson(Exception):
    """NaN or Infinity: Python's json reads them, JSON (and OpenAI) do not."""


def _int(text: str) -> int:
    if len(text) < 300:  # below 1e300: in range
        return int(text)
    # Decide on the float first: int() of more than 4,300 digits raises a bare ValueError.
    if math.isinf(float(text)):
        raise _OutOfRange(text[:20])
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _OutOfRange(text[:20])
    return value


def _constant(text: str) -> Any:
    raise _NotJson(text)


# Python's json with JSON's own limits on numbers; for what orjson refuses (lone surrogates).
_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)


def deeper_than(value: Any, limit: int) -> bool:
    """True when arrays/objects nest more than `limit` levels in `value` (no recursion)."""
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def is_document(path: str | Path) -> bool:
    """True when the file is one JSON value (examples numbered by item), False for JSONL."""
    path = Path(path)
    with path.open("rb") as f:
        return _is_document(f, path.suffix.lower() == ".json")


def iter_records(path: str | Path, *, document: bool | None = None) -> Iterator[Record]:
    """Every example of the file with its line or item number, parsed or with its error kind.

    `document` is `is_document(path)`, when the caller has already asked.
    """
    path = Path(path)
    if document is None:
        document = is_document(path)
    with path.open("rb") as f:
        yield from (_iter_document(f) if document else _iter_lines(f))


RawRecord = tuple[int, Any, str | None, bytes | None]


def iter_raw_records(path: str | Path, *, document: bool | None = None) -> Iterator[RawRecord]:
    """`iter_records` plus each JSONL line's own bytes (without BOM and line end), so a copy can
    keep an unchanged line byte for byte; the raw part is None for a JSON array's items."""
    path = Path(path)
    if document is None:
        document = is_document(path)
    with path.open("rb") as f:
        if document:
            for number, value, error in _iter_document(f):
                yield number, value, error, None
            return
        for number, raw in _numbered_lines(f):
            try:
                yield number, orjson.loads(raw), None, raw
            except orjson.JSONDecodeError:
                yield (*_parse_slow(number, raw), raw)


def looks_like_dataset(path: str | Path) -> bool:
    """False for a file that is plainly no dataset: binary, or text that is not JSON.

    Binary means a NUL byte in the first 64 KiB (JSON text never holds one). Not JSON means
    that none of the first 100 non-blank lines there begins an object or array (`{` or `[`):
    a CSV, a log or a program. An empty or blank file is a dataset with no examples.
    """
    with Path(path).open("rb") as f:
        head = f.read(_SNIFF_BYTES).removeprefix(BOM)
    if b"\0" in head:
        return False
    seen = 0
    for line in head.split(b"\n"):  # a line cut at the end still shows how it begins
        start = line.lstrip()
        if not start:
            continue
        if start[:1] in (b"{", b"["):
            return True
        seen += 1
        if seen >= _SNIFF_LINES:
            break
    return seen == 0


def _is_document(f: BinaryIO, json_suffix: bool) -> bool:
    """True when the file is one JSON value (an array of examples) rather than JSONL."""
    head = f.read(_CHUNK)
    f.seek(0)
    if head.startswith(BOM):
        head = head[3:]
    stripped = head.lstrip()
    if not stripped.startswith(b"["):
        return json_suffix and stripped.startswith(b"{") and not _first_line_parses(f)
    if json_suffix or not _first_line_parses(f):
        return True
    # A one-line array is a document; several complete lines are JSONL whose lines are arrays.
    f.readline()
    rest_has_content = any(not line.isspace() for line in f)
    f.seek(0)
    return not rest_has_content


def _first_line_parses(f: BinaryIO) -> bool:
    line = f.readline()
    f.seek(0)
    try:
        orjson.loads(line.removeprefix(BOM))
    except orjson.JSONDecodeError:
        return False
    return True


def _iter_lines(f: BinaryIO) -> Iterator[Record]:
    # Big reads, split here: a read per line would drop the GIL thousands of times and
    # stall on worker threads taking it (the convoy effect).
    loads = orjson.loads
    for number, raw in _numbered_lines(f):
        try:
            yield number, loads(raw), None
        except orjson.JSONDecodeError:
            yield _parse_slow(number, raw)


def _numbered_lines(f: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """The JSONL lines that hold something, with their line numbers from 1 (the BOM dropped,
    blank lines skipped but counted)."""
    number = 0
    for raw in _split_lines(f):
        number += 1
        if number == 1 and raw.startswith(BOM):
            raw = raw[3:]
        if not raw or raw.isspace():
            continue
        yield number, raw


def _split_lines(f: BinaryIO) -> Iterator[bytes]:
    """The file's lines (without newline), read in large blocks; long lines are fine."""
    partial: list[bytes] = []
    while block := f.read(_CHUNK):
        lines = block.split(b"\n")
        if partial:
            if len(lines) == 1:
                partial.append(lines[0])
                continue
            partial.append(lines[0])
            lines[0] = b"".join(partial)
            partial = []
        partial.append(lines.pop())
        yield from lines
    tail = b"".join(partial)
    if tail:
        yield tail


def _parse_slow(number: int, raw: bytes) -> Record:
    """Tell why orjson refused a line; accept what it refuses but JSON allows (lone surrogates)."""
    start = raw[:EXCERPT_BYTES]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return number, start, "not_utf8"
    try:
        return number, _DECODER.decode(text), None
    except RecursionError:
        return number, start, "nesting_too_deep"
    except _OutOfRange:
        return number, start, "number_out_of_range"
    except (json.JSONDecodeError, _NotJson):
        return number, start, "invalid_json"


class _Buffer:
    """Decoded text of the file, filled a chunk at a time."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.text = ""
        self.pos = 0
        self.eof = False
        self._first = True

    def fill(self) -> bool:
        """Append the next chunk; False at end of file. Raises UnicodeDecodeError."""
        if self.eof:
            return False
        data = self._f.read(_CHUNK)
        if self._first:
            data = data.removeprefix(BOM)
            self._first = False
        self.eof = not data
        self.text = self.text[self.pos :] + self._decoder.decode(data, final=self.eof)
        self.pos = 0
        return not self.eof or bool(self.text)

    def skip_ws(self) -> str:
        """The next non-whitespace character ('' at end of file)."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.text):
                return self.text[self.pos]
            if self.eof or not self.fill():
                return ""


def _iter_document(f: BinaryIO) -> Iterator[Record]:
    buf = _Buffer(f)
    item = 1
    try:
        opening = buf.skip_ws()
        if opening == "{":  # a .json file holding one example
            yield _decode_item(buf, 1)
            return
        buf.pos += 1
        if buf.skip_ws() == "]":
            buf.pos += 1
            return
        while True:
            record = _decode_item(buf, item)
            yield record
            if record[2] in _UNSKIPPABLE:  # where this item ends is unknown
                return
            nxt = buf.skip_ws()
            buf.pos += 1
            if nxt == "]":
                if buf.skip_ws():
                    yield item + 1, None, "invalid_json"
                return
            if nxt != ",":
                yield item + 1, None, "invalid_json"
                return
            item += 1
    except UnicodeDecodeError:
        yield item, None, "not_utf8"


_UNSKIPPABLE = frozenset({"invalid_json", "nesting_too_deep"})
# Finds where an item with an out-of-range number ends (huge numbers become inf, not errors).
_LENIENT = json.JSONDecoder(parse_int=float)


def _decode_item(buf: _Buffer, item: int) -> Record:
    """The next item of the array, reading more of the file until it is complete."""
    buf.skip_ws()
    while True:
        error = None
        try:
            value, end = _DECODER.raw_decode(buf.text, buf.pos)
        except RecursionError:
            return item, buf.text[buf.pos : buf.pos + EXCERPT_BYTES], "nesting_too_deep"
        except _NotJson:
            return item, buf.text[buf.pos : buf.pos + EXCERPT_BYTES], "invalid_json"
        except _OutOfRange:
            value, error = buf.text[buf.pos : buf.pos + EXCERPT_BYTES], "number_out_of_range"
            # Where the item ends, to go on with the next one; an item cut at the buffer's end
            # (its number perhaps too) is judged once it is complete.
            try:
                end = _LENIENT.raw_decode(buf.text, buf.pos)[1]
            except RecursionError:
                return item, None, "nesting_too_deep"
            except json.JSONDecodeError:
                end = -1
        except json.JSONDecodeError:
            end = -1
        # A value that ends exactly at the buffer's end may be cut off (a number, say).
        if end != -1 and (end < len(buf.text) or buf.eof):
            buf.pos = end
            return item, value, error
        if buf.eof or len(buf.text) > _MAX_ITEM_BUFFER or not buf.fill():
            return item, buf.text[buf.pos : buf.pos + EXCERPT_BYTES], "invalid_json"
