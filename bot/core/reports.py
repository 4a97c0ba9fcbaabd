"""DatasetReport: the one object the CLI, Slack and the store render from."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bot.core.backend_names import backend_name as backend_name
from bot.core.billing import BillingLine, unknown_price
from bot.core.datasets import MAX_NESTING
from bot.core.fmt import plural
from bot.core.fmt import usd as usd
from bot.core.issue_words import EXCERPT_CHARS as EXCERPT_CHARS
from bot.core.issue_words import ISSUE_LABELS as ISSUE_LABELS
from bot.core.issue_words import SERIOUS_WARNINGS, IssueLine, issue_line
from bot.core.issue_words import excerpt as excerpt
from bot.core.issue_words import json_hint as json_hint
from bot.core.issue_words import warnings_text as warnings_text

MAX_LINES = 20
MIB = 1024 * 1024

# What each problem means, in the user's words. Keys are the contract's kind names.
ERROR_TEXT = {
    "invalid_json": "line is not valid JSON",
    "not_an_object": "example (or message) is not a JSON object",
    "missing_messages": "no `messages` list",
    "missing_role": "message without `role`",
    "missing_content": "message without `content` (or empty)",
    "unrecognized_key": "unrecognised key",
    "unrecognized_role": "unrecognised role",
    "invalid_content_type": "content of the wrong type",
    "missing_assistant_message": "no assistant message",
    "invalid_weight": "`weight` must be 0 or 1, on assistant messages only",
    "invalid_arguments": "tool or function call `arguments` are not valid JSON",
    "invalid_tool_calls": "malformed `tool_calls` / `function_call`",
    "invalid_tools": "malformed `tools` / `functions` definitions",
    "missing_preferred_output": "no `preferred_output`",
    "missing_non_preferred_output": "no `non_preferred_output`",
    "invalid_output": "preferred/non-preferred output must be one assistant message with text",
    "missing_prompt": "no `prompt`",
    "missing_completion": "no `completion`",
    "too_few_examples": "fewer than 10 examples (the service's minimum)",
    "not_utf8": "bytes that are not UTF-8",
    "empty_file": "the file has no examples",
    "file_too_large": "the file is 512 MB or larger (Azure OpenAI takes training files under "
    "512 MB)",
    "nesting_too_deep": f"arrays/objects nested more than {MAX_NESTING} levels deep",
    "number_out_of_range": "a number too large for JSON (beyond ±1.8e308)",
    "not_jsonl": "not a dataset: binary, or text that is not JSON (a dataset is JSONL, one "
    "JSON object per line, or a JSON array of examples)",
}
WARNING_TEXT = {
    "missing_system_message": "no system message",
    "missing_user_message": "no user message",
    "over_token_limit": "over the model's per-example token limit (will be truncated)",
    "duplicate_examples": "duplicate of an earlier example",
    "low_diversity": "the same assistant reply dominates the data",
    "pii_email": "looks like an e-mail address (not shown)",
    "pii_phone": "looks like a phone number (not shown)",
    "pii_card": "looks like a card number that passes the Luhn check (not shown)",
    "pii_iban": "looks like an IBAN with a valid checksum (not shown)",
    "secret_key": "looks like a secret key or access token (not shown)",
}


def issue_lines(report: DatasetReport, *, errors: bool) -> list[IssueLine]:
    """The report's errors (or warnings), each in plain words, in the report's order."""
    issues = report.errors if errors else report.warnings
    return [issue_line(kind, s, report.examples, report.numbering) for kind, s in issues.items()]


ESTIMATED_COUNT = "estimated count: its tokenizer isn't shipped"


def epochs_text(epochs: int) -> str:
    """'1 epoch', '3 epochs'."""
    return plural(epochs, "epoch")


def price_text(line: BillingLine) -> str:
    """The cost of a billing line: dollars, or who quotes it (never $0.00 for a quoted price)."""
    if line.unpriced:
        return unknown_price(line.backend)
    if line.quoted:
        return f"{backend_name(line.backend)} quotes the price when the job starts"
    return usd(line.cost_usd)


def estimate_text(line: BillingLine) -> str:
    """One plain line per model: 'Together AI · <model>: ~13,936 tokens × 1 epoch (estimated
    count: …) · Together quotes the price when the job starts'."""
    approx = "~" if line.tokens_estimated else ""
    count = f" ({ESTIMATED_COUNT})" if line.tokens_estimated else ""
    return (
        f"{backend_name(line.backend)} · {line.model}: {approx}{line.billed_tokens_per_epoch:,} "
        f"tokens × {epochs_text(line.epochs)}{count} · {price_text(line)}"
    )


FORMAT_NAMES = {
    "chat": "chat",
    "chat_tools": "chat with tools/functions",
    "prompt_completion": "prompt–completion (legacy models)",
    "dpo": "preference pairs (DPO)",
}


def megabytes(size: int, *, round_up: bool = False) -> str:
    """Bytes in MB as FTBOT_MAX_FILE_MB counts them (1 MB = 1,048,576 bytes), e.g. '64' or '64.1'.

    `round_up` for a size compared with a limit: 64 MB and one byte reads 64.1, never 64.
    """
    tenths = size * 10 / MIB
    tenths = math.ceil(tenths) if round_up else round(tenths)
    if tenths == 0 and size > 0:  # a limit set below 0.05 MB
        return f"{size / MIB:.2g}"
    return f"{tenths // 10:,}" if tenths % 10 == 0 else f"{tenths / 10:,.1f}"


def number(value: float) -> str:
    """Exact integer with thousands separators; other values with at most one decimal."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def lines_text(summary: IssueSummary, unit: str = "line") -> str:
    """'lines 3, 7, 9 …' for an issue, or '' for a file-level one."""
    if not summary.lines:
        return ""
    shown = ", ".join(str(n) for n in summary.lines)
    more = " …" if summary.count > len(summary.lines) else ""
    plural = "s" if len(summary.lines) > 1 else ""
    return f"{unit}{plural} {shown}{more}"


@dataclass(frozen=True, slots=True)
class IssueSummary:
    """How many examples have a problem, and the first line numbers (ascending, ≤ 20)."""

    count: int
    lines: tuple[int, ...]
    excerpt: str | None = None  # the start of the first line (already `excerpt`-safe)


@dataclass(frozen=True, slots=True)
class TokenStats:
    """Distribution of tokens per example (examples whose tokens could be counted)."""

    counted: int
    total: int
    min: int
    mean: float
    median: float
    p95: float
    max: int


@dataclass(frozen=True, slots=True)
class DatasetReport:
    """Everything the validator found about one dataset file."""

    format: str
    examples: int
    errors: dict[str, IssueSummary]
    warnings: dict[str, IssueSummary]
    encoding: str
    tokens: TokenStats
    tokens_estimated: bool
    default_epochs: int
    billing: BillingLine
    other_billing: tuple[BillingLine, ...]
    notes: tuple[str, ...] = field(default=())
    numbering: str = "line"  # "item" for a JSON array: what the issue line numbers count

    @property
    def valid(self) -> bool:
        """Ready to train: no errors."""
        return not self.errors

    @property
    def serious_warnings(self) -> tuple[str, ...]:
        """Warning kinds that the verdict names ("Ready · ⚠️ 1 warning")."""
        return tuple(kind for kind in self.warnings if kind in SERIOUS_WARNINGS)

    @property
    def verdict(self) -> str:
        """'ready', 'ready_with_warnings' (serious ones) or 'needs_fixes'."""
        if not self.valid:
            return "needs_fixes"
        return "ready_with_warnings" if self.serious_warnings else "ready"

    @property
    def not_a_dataset(self) -> bool:
        """The file is binary or text that is not JSON: nothing in it was read as examples."""
        return "not_jsonl" in self.errors

    def to_json(self) -> dict[str, Any]:
        """The contract's JSON object (plus a few documented extras)."""
        return {
            "format": self.format,
            "examples": self.examples,
            "valid": self.valid,
            "errors": _issues_json(self.errors),
            "warnings": _issues_json(self.warnings),
            "total_tokens": self.tokens.total,
            "billed_tokens_per_epoch": self.billing.billed_tokens_per_epoch,
            "default_epochs": self.default_epochs,
            "epochs": self.billing.epochs,
            "model": self.billing.model,
            "backend": self.billing.backend,
            "estimated_cost_usd": _cost(self.billing),
            "price": _price(self.billing),
            "encoding": self.encoding,
            "tokens_estimated": self.tokens_estimated,
            "token_stats": {
                "counted_examples": self.tokens.counted,
                "min": self.tokens.min,
                "mean": self.tokens.mean,
                "median": self.tokens.median,
                "p95": self.tokens.p95,
                "max": self.tokens.max,
            },
            "other_models": [_billing_json(line) for line in self.other_billing],
            "notes": list(self.notes),
            "verdict": self.verdict,
            "serious_warnings": list(self.serious_warnings),
            "details": {
                line.kind: {
                    "label": line.label,
                    "where": line.where,
                    "hint": line.hint,
                    "first_line": line.first,
                    "excerpt": line.excerpt,
                }
                for line in (*issue_lines(self, errors=True), *issue_lines(self, errors=False))
            },
        }


def _issues_json(issues: dict[str, IssueSummary]) -> dict[str, Any]:
    return {kind: {"count": s.count, "lines": list(s.lines)} for kind, s in issues.items()}


def _billing_json(line: BillingLine) -> dict[str, Any]:
    return {
        "model": line.model,
        "billed_tokens_per_epoch": line.billed_tokens_per_epoch,
        "epochs": line.epochs,
        "estimated_cost_usd": _cost(line),
        "trainable": line.trainable,
        "backend": line.backend,
        "price": _price(line),
        "tokens_estimated": line.tokens_estimated,
    }


def _cost(line: BillingLine) -> float | None:
    """The estimate in dollars; None when the backend quotes the price itself (not known here)."""
    return None if line.quoted else line.cost_usd


def _price(line: BillingLine) -> str:
    if line.unpriced:
        return "unknown"
    return "quote" if line.quoted else "per_token"


def _value_at(histogram: list[tuple[int, int]], rank: int) -> int:
    """The value at 0-based position `rank` of the sorted data a histogram describes."""
    seen = 0
    for value, count in histogram:
        seen += count
        if rank < seen:
            return value
    raise IndexError(rank)


def percentile(histogram: list[tuple[int, int]], n: int, q: float) -> float:
    """Linear-interpolated percentile (as numpy) of n values given as sorted (value, count)."""
    if n == 0:
        return 0.0
    h = (n - 1) * q
    lo = int(h)
    low = _value_at(histogram, lo)
    high = _value_at(histogram, min(lo + 1, n - 1))
    return low + (h - lo) * (high - low)


def token_stats(histogram: dict[int, int]) -> TokenStats:
    """Statistics of per-example token counts given as {tokens: number of examples}."""
    items = sorted(histogram.items())
    n = sum(count for _, count in items)
    if n == 0:
        return TokenStats(0, 0, 0, 0.0, 0.0, 0.0, 0)
    total = sum(value * count for value, count in items)
    return TokenStats(
        counted=n,
        total=total,
        min=items[0][0],
        mean=round(total / n, 2),
        median=percentile(items, n, 0.5),
        p95=round(percentile(items, n, 0.95), 2),
        max=items[-1][0],
    )
