"""Validate a dataset file in one streaming pass: problems, tokens and billing -> DatasetReport."""

from __future__ import annotations

import datetime as dt
import heapq
import json
import os
from array import array
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from bot.core import privacy, rules
from bot.core.billing import BillingLine, billing_line, model_default_epochs
from bot.core.datasets import (
    MAX_NESTING,
    deeper_than,
    is_document,
    iter_records,
    looks_like_dataset,
)
from bot.core.models import ModelInfo, trainable_models
from bot.core.reports import MAX_LINES, DatasetReport, IssueSummary, excerpt, token_stats
from bot.core.tokens import BatchCounter, get_encoding

MIN_EXAMPLES = 10
# The fewest examples each backend trains on (OpenAI and Azure: 10; Together's SDK checks for 1,
# together/lib/constants.py MIN_SAMPLES). Backends not listed use MIN_EXAMPLES.
MIN_EXAMPLES_BY_BACKEND = {"together": 1}
# The largest training file each backend takes, when it has a limit the bot checks (Azure
# OpenAI: under 512 MB, shared/docs/backends.md; OpenAI's larger files go through Uploads).
MAX_BYTES_BY_BACKEND = {"azure": 512 * 1024 * 1024}
# Low diversity: one assistant reply in at least this share of the examples (and ≥ 3 of them).
LOW_DIVERSITY_SHARE = 0.25
LOW_DIVERSITY_MIN = 3
_PENDING_MAX = 100  # objects of no known shape kept until the file's format is known
_PARALLEL_BYTES = 1 << 20  # smaller files are counted on the calling thread
_REPLY_CANDIDATES = 4  # replies tracked for the low-diversity excerpt (any above 1/5 survives)
_REPLY_START = 256  # characters of a reply kept for its excerpt


class Issues:
    """Per kind: how many examples, the first line numbers, and the first line's start."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.lines: dict[str, list[int]] = {}
        self.first: dict[str, str | None] = {}  # kind -> excerpt of its first line

    def add(self, kind: str, line: int | None) -> None:
        """Record one example (at `line`, or file-level when None) with this problem."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        lines = self.lines.setdefault(kind, [])
        if line is not None and len(lines) < MAX_LINES:
            lines.append(line)

    def quote(self, kind: str, source: Callable[[], str | bytes | None]) -> None:
        """Keep the start of the first line with this problem (`source` runs once per kind)."""
        if kind not in self.first:
            self.first[kind] = excerpt(source())

    def set(self, kind: str, count: int, lines: Iterable[int], quoted: str | None = None) -> None:
        """Record a problem computed at the end of the pass."""
        self.counts[kind] = count
        self.lines[kind] = sorted(lines)[:MAX_LINES]
        self.first[kind] = quoted

    def summary(self) -> dict[str, IssueSummary]:
        """Kinds in a stable order (by first line, file-level last) with their summaries."""
        order = sorted(self.counts, key=lambda k: (self.lines[k][:1] or [1 << 62], k))
        return {
            k: IssueSummary(self.counts[k], tuple(self.lines[k]), self.first.get(k)) for k in order
        }


class _Analysis:
    """State of one pass over a file."""

    def __init__(
        self,
        model: ModelInfo,
        today: dt.date,
        executor: Any,
        also: tuple[ModelInfo, ...] = (),
    ) -> None:
        self.model = model
        self.errors = Issues()
        self.warnings = Issues()
        self.examples = 0
        self.file_format: str | None = None
        self.uses_tools = False
        self.estimated = False
        self.pending: list[tuple[int, dict[str, Any], int]] = []
        self.example_hashes = HashTally()
        self.reply_hashes = HashTally()
        # Misra–Gries: the replies that may dominate, with their starts (hash -> [count, start]).
        self.replies: dict[int, list[Any]] = {}
        self.histogram: dict[int, int] = {}  # tokens per example -> how many examples
        others = [m for m in trainable_models(today, model.backend) if m.id != model.id]
        # `also`: models of other backends (their default models), each once, after this
        # backend's. Their encodings join the pass only when none of this backend's has it.
        # OpenAI and Azure share model ids: a model is (backend, id). Token counts stay keyed
        # by id (the same model counts the same), each id counted once.
        mine = {(m.backend, m.id) for m in (model, *others)}
        extra = {(m.backend, m.id): m for m in also if (m.backend, m.id) not in mine}
        self.models = [model, *others, *extra.values()]
        self.billed = {m.id: 0 for m in self.models}
        self.counters: list[BatchCounter] = []
        for name in dict.fromkeys(m.encoding for m in self.models):
            chosen = name == model.encoding
            limits = list(
                dict.fromkeys((m.id, m.example_limit) for m in self.models if m.encoding == name)
            )
            sink = self._primary_sink(limits) if chosen else self._billing_sink(limits)
            counter = BatchCounter(get_encoding(name), sink, executor)
            self.counters.insert(0, counter) if chosen else self.counters.append(counter)

    def _billing_sink(self, limits: list[tuple[str, int]]) -> Callable[[int, int], None]:
        billed = self.billed

        def sink(line: int, tokens: int) -> None:
            for model_id, limit in limits:
                billed[model_id] += tokens if tokens < limit else limit

        return sink

    def _primary_sink(self, limits: list[tuple[str, int]]) -> Callable[[int, int], None]:
        bill = self._billing_sink(limits)
        limit = self.model.example_limit
        histogram = self.histogram
        over = self.warnings

        def sink(line: int, tokens: int) -> None:
            histogram[tokens] = histogram.get(tokens, 0) + 1
            if tokens > limit:
                over.add("over_token_limit", line)
            bill(line, tokens)

        return sink

    def feed(self, line: int, value: Any, error: str | None) -> None:
        """Take one record of the file."""
        self.examples += 1
        if error is not None:
            self.errors.add(error, line)
            self.errors.quote(error, lambda: value if isinstance(value, str | bytes) else None)
            return
        if not isinstance(value, dict):
            self.errors.add("not_an_object", line)
            self.errors.quote("not_an_object", lambda: _start(value))
            return
        canonical = _canonical(value)
        if canonical is None:
            self.errors.add("nesting_too_deep", line)
            self.errors.quote("nesting_too_deep", lambda: None)
            return
        self.example_hashes.add(hash(canonical), line)
        look = privacy.look_for(canonical)  # what the privacy scan needs to look for, if any
        if self.file_format is None:
            shape = rules.shape_of(value)
            if shape is None and len(self.pending) < _PENDING_MAX:
                self.pending.append((line, value, look))
                return
            self._decide(shape or rules.CHAT)
        self._check(line, value, look)

    def _decide(self, file_format: str) -> None:
        self.file_format = file_format
        pending, self.pending = self.pending, []
        for line, value, look in pending:
            self._check(line, value, look)

    def _check(self, line: int, value: dict[str, Any], look: int) -> None:
        file_format = self.file_format or rules.CHAT
        checked = rules.check(value, file_format)
        for issues, kinds in ((self.errors, checked.errors), (self.warnings, checked.warnings)):
            for kind in kinds:
                issues.add(kind, line)
                if kind not in issues.first:  # the first example of each kind only
                    issues.first[kind] = excerpt(_start(value))
        self.uses_tools = self.uses_tools or checked.uses_tools
        parts = checked.parts
        if parts is not None:
            self.estimated = self.estimated or parts.estimated or bool(checked.functions)
            for counter in self.counters:
                counter.add(line, parts.base + counter.tools(checked.functions), parts.texts)
        if checked.reply is not None:
            digest = hash(checked.reply)
            self.reply_hashes.add(digest, line)
            self._tally_reply(digest, checked.reply)
        if look:
            for kind in privacy.scan_example(value, file_format, look):
                self.warnings.add(kind, line)
                self.warnings.first[kind] = None  # never quoted: the line holds private data

    def _tally_reply(self, digest: int, reply: str | bytes) -> None:
        """Misra–Gries over the replies: any reply in more than 1/5 of them stays a candidate,
        so the dominating one's start is known at the end without keeping every reply."""
        replies = self.replies
        seen = replies.get(digest)
        if seen is not None:
            seen[0] += 1
        elif len(replies) < _REPLY_CANDIDATES:
            replies[digest] = [1, reply[:_REPLY_START]]
        else:
            for key in list(replies):
                replies[key][0] -= 1
                if not replies[key][0]:
                    del replies[key]

    def finish(self, epochs: int | None, today: dt.date, *, document: bool) -> DatasetReport:
        if self.file_format is None:
            self._decide(rules.CHAT)
        for counter in self.counters:
            counter.finish()
        self._file_level_errors()
        self._duplicates()
        self._diversity()
        n = self.examples
        # Each model at the epochs asked for, else at its own backend's default.
        lines = [
            billing_line(m, self.billed[m.id], epochs or model_default_epochs(m, n), today)
            for m in self.models
        ]
        file_format = self.file_format or rules.CHAT
        if file_format == rules.CHAT and self.uses_tools:
            file_format = rules.CHAT_TOOLS
        return DatasetReport(
            format=file_format,
            examples=self.examples,
            errors=self.errors.summary(),
            warnings=self.warnings.summary(),
            encoding=self.model.encoding,
            tokens=token_stats(self.histogram),
            tokens_estimated=self.estimated or self.model.tokens_estimated,
            default_epochs=model_default_epochs(self.model, n),
            billing=lines[0],
            other_billing=tuple(lines[1:]),
            notes=tuple(_notes(self.models, file_format, self.estimated, lines)),
            numbering="item" if document else "line",
        )

    def _file_level_errors(self) -> None:
        if "not_jsonl" in self.errors.counts or "file_too_large" in self.errors.counts:
            return
        if self.examples == 0:
            self.errors.add("empty_file", None)
        elif self.examples < min_examples(self.model.backend):
            self.errors.add("too_few_examples", None)

    def _duplicates(self) -> None:
        count, lines = self.example_hashes.repeats()
        if count:
            self.warnings.set("duplicate_examples", count, lines)

    def _diversity(self) -> None:
        count, lines = self.reply_hashes.most_common()
        if count >= LOW_DIVERSITY_MIN and count >= LOW_DIVERSITY_SHARE * self.examples:
            digest = self.reply_hashes.most_common_value
            reply = self.replies.get(digest) if digest is not None else None
            self.warnings.set("low_diversity", count, lines, excerpt(reply[1]) if reply else None)


class HashTally:
    """64-bit hashes with the line each was seen on, in 8 + 4 bytes per entry.

    Entries are spread over 256 buckets by their low byte, so finding repeats needs a set of
    only one bucket at a time: memory stays small as files grow to gigabytes.
    """

    _BUCKETS = 256

    def __init__(self) -> None:
        self._hashes = [array("q") for _ in range(self._BUCKETS)]
        self._lines = [array("I") for _ in range(self._BUCKETS)]
        self.most_common_value: int | None = None  # the hash `most_common` found

    def add(self, value: int, line: int) -> None:
        """Record `value` (a hash) seen at `line`; lines must be added in ascending order."""
        bucket = value & 0xFF
        self._hashes[bucket].append(value)
        self._lines[bucket].append(line)

    def repeats(self) -> tuple[int, list[int]]:
        """How many entries repeat an earlier one, and the first lines of those repeats."""
        count = 0
        first: list[int] = []
        for hashes, lines in zip(self._hashes, self._lines, strict=True):
            seen: set[int] = set()
            for value, line in zip(hashes, lines, strict=True):
                if value in seen:
                    count += 1
                    first.append(line)
                else:
                    seen.add(value)
            first = heapq.nsmallest(MAX_LINES, first)
        return count, sorted(first)

    def most_common(self) -> tuple[int, list[int]]:
        """The size of the largest group of equal hashes, and its first lines."""
        best_count, best_value, best_bucket = 0, 0, 0
        for bucket, hashes in enumerate(self._hashes):
            counts: dict[int, int] = {}
            for value in hashes:
                counts[value] = counts.get(value, 0) + 1
            if counts:
                value, count = max(counts.items(), key=lambda item: item[1])
                if count > best_count:
                    best_count, best_value, best_bucket = count, value, bucket
        if best_count < 2:
            return 0, []
        self.most_common_value = best_value
        pairs = zip(self._hashes[best_bucket], self._lines[best_bucket], strict=True)
        return best_count, [line for value, line in pairs if value == best_value][:MAX_LINES]


def _canonical(value: dict[str, Any]) -> bytes | None:
    """The canonical form of an example (keys sorted): hashed for duplicate detection, and
    the privacy scan's cheap first look.

    None when the example nests deeper than MAX_NESTING: orjson refuses to encode exactly
    those (and huge ints, lone surrogates), so deep nesting costs nothing to find here.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        if deeper_than(value, MAX_NESTING):
            return None
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
        return text.encode("utf-8", "surrogatepass")


def _start(value: Any) -> bytes | None:
    """The start of an example as JSON (for the first example with a problem)."""
    try:
        return orjson.dumps(value)[:_REPLY_START]
    except (TypeError, orjson.JSONEncodeError):
        return None


def min_examples(backend: str) -> int:
    """The fewest examples `backend` trains on."""
    return MIN_EXAMPLES_BY_BACKEND.get(backend, MIN_EXAMPLES)


def _notes(
    models: list[ModelInfo], file_format: str, estimated: bool, lines: list[BillingLine]
) -> list[str]:
    """Notes on the chosen model (first), and on models of other backends the report names."""
    model, line = models[0], lines[0]
    notes = []
    if not line.trainable:
        notes.append(
            f"{model.id} was shut down on {model.shutdown}: it can no longer be fine-tuned; "
            "the numbers are for reference."
        )
    elsewhere = [m for m in models[1:] if m.backend != model.backend]
    for m in (model, *elsewhere):
        if file_format not in m.formats:
            notes.append(f"{m.id} cannot be trained on {file_format} data.")
    if estimated:
        notes.append(
            "Token counts for tool/function definitions and calls, images and preference pairs "
            "are estimates (the service does not document how it counts them)."
        )
    guessed = [m for m in models if m.tokens_estimated and (m is model or m in elsewhere)]
    for encoding in dict.fromkeys(m.encoding for m in guessed):
        names = ", ".join(m.id for m in guessed if m.encoding == encoding)
        notes.append(
            f"Token counts for {names} are estimates: its tokenizer isn't shipped, so they are "
            f"counted with {encoding}."
        )
    return notes


def analyze(
    path: str | Path,
    *,
    model: ModelInfo,
    epochs: int | None = None,
    today: dt.date | None = None,
    also: tuple[ModelInfo, ...] = (),
) -> DatasetReport:
    """Validate the dataset at `path` for `model` (its backend's rules and limits) and estimate
    its training cost on it, on the other trainable models of its backend, and on `also` (the
    default models of other backends)."""
    today = today or dt.date.today()
    if not looks_like_dataset(path):  # one clear line, not one error per line of a binary
        analysis = _Analysis(model, today, None, also)
        analysis.errors.add("not_jsonl", None)
        return analysis.finish(epochs, today, document=False)
    size = os.path.getsize(path)
    limit = MAX_BYTES_BY_BACKEND.get(model.backend)
    if limit is not None and size >= limit:  # one clear line: the backend refuses the file
        analysis = _Analysis(model, today, None, also)
        analysis.errors.add("file_too_large", None)
        return analysis.finish(epochs, today, document=False)
    document = is_document(path)
    workers = min(4, os.cpu_count() or 1)
    if size < _PARALLEL_BYTES or workers < 2:
        analysis = _Analysis(model, today, None, also)
        for record in iter_records(path, document=document):
            analysis.feed(*record)
        return analysis.finish(epochs, today, document=document)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tokens") as executor:
        analysis = _Analysis(model, today, executor, also)
        for record in iter_records(path, document=document):
            analysis.feed(*record)
        return analysis.finish(epochs, today, document=document)
