"""The report's problems in plain words: a label and a hint per kind, where (which lines, or
"all 30 examples"), the first offending line's start made safe to show, and which warnings
change the verdict. Pure: renderers escape what they show."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.datasets import MAX_NESTING

if TYPE_CHECKING:
    from bot.core.reports import IssueSummary

# Warnings that change the verdict to "Ready · ⚠️ N warnings": the job would run, but train on
# something the team probably did not mean (truncated, doubled or one-note data, private data).
SERIOUS_WARNINGS = frozenset(
    {
        "over_token_limit",
        "duplicate_examples",
        "low_diversity",
        "pii_email",
        "pii_phone",
        "pii_card",
        "pii_iban",
        "secret_key",
    }
)

# Per kind, in plain words: a label and what to do about it. Keys are the contract's kind names.
ISSUE_LABELS: dict[str, tuple[str, str]] = {
    "invalid_json": ("Not valid JSON", "check its quotes, commas and brackets"),
    "not_an_object": ("Not a JSON object", 'each example is one object: {"messages": [ … ]}'),
    "missing_messages": ("No messages list", 'each example needs "messages": [ … ]'),
    "missing_role": (
        "A message without a role",
        'give every message "role": "system", "user" or "assistant"',
    ),
    "missing_content": (
        "A message without content (or an empty one)",
        'give every message a non-empty "content"',
    ),
    "unrecognized_key": (
        "A message key the service doesn't know",
        "messages take role, content, name, weight, tool_calls, tool_call_id, function_call",
    ),
    "unrecognized_role": (
        "A role the service doesn't know",
        "roles are system, user, assistant, tool (or function)",
    ),
    "invalid_content_type": ("Content of the wrong type", "content is text, or a list of parts"),
    "missing_assistant_message": (
        "No assistant message",
        "each example needs the reply to learn: a message with role assistant",
    ),
    "invalid_weight": ("A bad weight", "weight is 0 or 1, on assistant messages only"),
    "invalid_arguments": (
        "Tool-call arguments that aren't valid JSON",
        'arguments is a string holding JSON, e.g. "{\\"city\\": \\"Paris\\"}"',
    ),
    "invalid_tool_calls": (
        "A malformed tool call",
        "each call needs an id, type function, and a function with a name and arguments",
    ),
    "invalid_tools": (
        "Malformed tool definitions",
        'each tool is {"type": "function", "function": {"name": …, "parameters": {…}}}',
    ),
    "missing_preferred_output": (
        "No preferred output",
        "a preference pair needs input, preferred_output and non_preferred_output",
    ),
    "missing_non_preferred_output": (
        "No non-preferred output",
        "a preference pair needs input, preferred_output and non_preferred_output",
    ),
    "invalid_output": (
        "An output that isn't one assistant message",
        'each output is [{"role": "assistant", "content": "…"}]',
    ),
    "missing_prompt": ("No prompt", "a prompt–completion example needs both"),
    "missing_completion": ("No completion", "a prompt–completion example needs both"),
    "too_few_examples": ("Too few examples", "the service trains on at least 10: add more"),
    "not_utf8": ("Bytes that aren't UTF-8", "save the file as UTF-8"),
    "empty_file": ("No examples", "a dataset has one JSON object per line"),
    "file_too_large": (
        "The file is 512 MB or larger",
        "Azure OpenAI takes training files under 512 MB: split it",
    ),
    "nesting_too_deep": (
        f"Nested more than {MAX_NESTING} levels deep",
        "real examples nest a few levels: the line is probably broken",
    ),
    "number_out_of_range": ("A number too large for JSON", "numbers stay within ±1.8e308"),
    "not_jsonl": (
        "Not a dataset",
        "a dataset is JSONL (one JSON object per line) or a JSON array of examples",
    ),
    "missing_system_message": (
        "No system message",
        "fine if meant: use the same system message later as in training",
    ),
    "missing_user_message": ("No user message", "the model learns to answer the user's turn"),
    "over_token_limit": (
        "Over the model's token limit",
        "they will be truncated: shorten or split them",
    ),
    "duplicate_examples": (
        "Duplicates of an earlier example",
        "they count twice in training: remove them (Fix it does)",
    ),
    "low_diversity": (
        "One assistant reply dominates",
        "the model will learn to answer that way: vary the replies or drop some of them",
    ),
    # Privacy scan (bot/core/privacy.py): what was found is never shown, only where.
    "pii_email": (
        "Looks like an e-mail address",
        "personal data is uploaded with the file: remove or mask it (it isn't shown here)",
    ),
    "pii_phone": (
        "Looks like a phone number",
        "personal data is uploaded with the file: remove or mask it (it isn't shown here)",
    ),
    "pii_card": (
        "Looks like a card number (passes the Luhn check)",
        "card numbers must not be in training data: remove them (they aren't shown here)",
    ),
    "pii_iban": (
        "Looks like a bank account number (IBAN, valid checksum)",
        "personal data is uploaded with the file: remove or mask it (it isn't shown here)",
    ),
    "secret_key": (
        "Looks like a secret key or token",
        "remove it and revoke the key: a model can repeat what it was trained on",
    ),
}
PRIVATE_KINDS = frozenset({"pii_email", "pii_phone", "pii_card", "pii_iban", "secret_key"})
EXCERPT_CHARS = 60
_SPACES = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029]+")
# Secrets and contacts are never echoed back, not even in a line's start.
_PRIVATE = re.compile(
    r"-----BEGIN[^-]*-----|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?:sk|xox[a-z]|xapp|gh[pousr]|github_pat|AKIA)"
    r"[\w-]*|ASIA[A-Z0-9]{16}|[A-Za-z0-9_+/=-]{24,}|\+?\d[\d ().-]{7,}\d"
)
_TRAILING_COMMA = re.compile(r",\s*[}\]]")


def excerpt(raw: str | bytes | None) -> str | None:
    """The start of an offending line, safe to show: one line, at most EXCERPT_CHARS characters
    (then " …"), whitespace and control characters as single spaces, anything shaped like a
    secret, an e-mail address or a phone number masked as "•••". Not escaped for any markup."""
    if raw is None:
        return None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    head = _PRIVATE.sub("•••", _SPACES.sub(" ", text[: EXCERPT_CHARS * 4])).strip()
    if not head:
        return None
    if len(head) <= EXCERPT_CHARS and len(text) < EXCERPT_CHARS * 4:  # nothing cut
        return head
    return head[:EXCERPT_CHARS].rstrip() + " …"


def json_hint(start: str | None) -> str:
    """A guess at why a line is not valid JSON, from its start."""
    if start:
        if _TRAILING_COMMA.search(start):
            return "a trailing comma?"
        if start.startswith("{'") or "': " in start:
            return "single quotes? JSON needs double quotes"
        if re.search(r"[:\[,]\s*(True|False|None)\b", start):
            return "Python's True/False/None? JSON has true/false/null"
        if not start.endswith("…") and not start.rstrip().endswith(("}", "]")):
            return "cut off? each example must be complete on one line"
    return ISSUE_LABELS["invalid_json"][1]


@dataclass(frozen=True, slots=True)
class IssueLine:
    """One problem in plain words, for any renderer (nothing here is escaped)."""

    kind: str
    label: str  # "Not valid JSON", "One assistant reply fills 28 of 40 examples"
    where: str  # "line 17", "3 examples (lines 12, 20, 25)", "all 30 examples", or ""
    first: int | None  # the line (or item) the excerpt comes from
    excerpt: str | None  # its start, safe to show once escaped
    hint: str  # what to do
    serious: bool  # a warning that changes the verdict

    def quoted_from(self, unit: str = "line") -> str:
        """What the excerpt is: 'line 17' ('item 17'), or 'the reply' (low diversity)."""
        return "the reply" if self.kind == "low_diversity" else f"{unit} {self.first}"


def issue_line(kind: str, summary: IssueSummary, examples: int, unit: str = "line") -> IssueLine:
    """One kind of problem: label, where, the first offending line's start, and a hint."""
    label, hint = ISSUE_LABELS.get(kind, (kind.replace("_", " ").capitalize(), ""))
    if kind == "invalid_json":
        hint = json_hint(summary.excerpt)
    if kind == "low_diversity":
        label = f"One assistant reply fills {summary.count:,} of {examples:,} examples"
    if kind == "too_few_examples":
        label = f"Too few examples ({examples:,})"
    private = kind in PRIVATE_KINDS  # where it is, never what it is
    return IssueLine(
        kind=kind,
        label=label,
        where=where_text(summary, examples, unit, counted=kind != "low_diversity"),
        first=summary.lines[0] if summary.lines and summary.excerpt and not private else None,
        excerpt=summary.excerpt if summary.lines and not private else None,
        hint=hint,
        serious=kind in SERIOUS_WARNINGS,
    )


def where_text(summary: IssueSummary, examples: int, unit: str = "line", *, counted: bool) -> str:
    """'line 17', '3 examples (lines 12, 20, 25)', 'all 30 examples', or '' (file-level).

    `counted`: say how many examples (False when the label already does)."""
    if not summary.lines:
        return ""
    if summary.count == examples and examples > 1:
        return f"all {examples:,} examples"
    if summary.count == 1:
        return f"{unit} {summary.lines[0]}"
    shown = ", ".join(str(n) for n in summary.lines)
    more = " …" if summary.count > len(summary.lines) else ""
    where = f"{unit}s {shown}{more}"
    return f"{summary.count:,} examples ({where})" if counted else where


def warnings_text(count: int) -> str:
    """'1 warning', '2 warnings'."""
    return f"{count:,} warning{'' if count == 1 else 's'}"
