"""Streaming dataset reader: JSONL line by line, or a JSON array item by item.

Yields `(number, value, error)` where `number` is the 1-based physical line (JSONL) or item
number (JSON array) and `error` is None, "invalid_json" or "not_utf8". The whole file is never
held in memory; blank lines are skipped (they are not examples).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

BOM = b"\xef\xbb\xbf"
Record = tuple[int, Any, str | None]

_CHUNK = 1 << 21
_MAX_ITEM_BUFFER = 256 << 20  # give up on one unparseable JSON-array item past this
_WS = " \t\r\n"


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
    number = 0
    for raw in _split_lines(f):
        number += 1
        if number == 1 and raw.startswith(BOM):
            raw = raw[3:]
        if not raw or raw.isspace():
            continue
        try:
            yield number, loads(raw), None
        except orjson.JSONDecodeError:
            yield _parse_slow(number, raw)


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
    """Tell bad UTF-8 from bad JSON; accept what Python's json accepts but orjson refuses."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return number, None, "not_utf8"
    try:
        return number, json.loads(text), None
    except (json.JSONDecodeError, RecursionError):
        return number, None, "invalid_json"


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
    decoder = json.JSONDecoder()
    item = 1
    try:
        opening = buf.skip_ws()
        if opening == "{":  # a .json file holding one example
            yield from _decode_item(buf, decoder, 1)
            return
        buf.pos += 1
        if buf.skip_ws() == "]":
            buf.pos += 1
            return
        while True:
            value = list(_decode_item(buf, decoder, item))
            yield from value
            if value[0][2] is not None:
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


def _decode_item(buf: _Buffer, decoder: json.JSONDecoder, item: int) -> Iterator[Record]:
    buf.skip_ws()
    while True:
        try:
            value, end = decoder.raw_decode(buf.text, buf.pos)
        except json.JSONDecodeError:
            end = -1
        # A value that ends exactly at the buffer's end may be cut off (a number, say).
        if end != -1 and (end < len(buf.text) or buf.eof):
            buf.pos = end
            yield item, value, None
            return
        if buf.eof or len(buf.text) > _MAX_ITEM_BUFFER or not buf.fill():
            yield item, None, "invalid_json"
            return
