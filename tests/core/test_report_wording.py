"""The report in plain words: labels, hints, where, the first line's start, the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.issue_words import EXCERPT_CHARS, excerpt, issue_line, json_hint
from bot.core.models import resolve_model
from bot.core.reports import IssueSummary
from bot.core.validation import analyze
from tests.conftest import TODAY

MINI = resolve_model("gpt-4o-mini")
OK = '{"messages": [{"role": "user", "content": "q%d"}, {"role": "assistant", "content": "a%d"}]}'


def ok(i: int) -> str:
    return OK % (i, i)


@pytest.mark.parametrize(
    ("kind", "summary", "examples", "label", "where"),
    [
        ("invalid_json", IssueSummary(1, (17,), "{"), 30, "Not valid JSON", "line 17"),
        ("missing_assistant_message", IssueSummary(3, (12, 20, 25)), 30, "No assistant message",
         "3 examples (lines 12, 20, 25)"),
        ("missing_system_message", IssueSummary(30, tuple(range(1, 21))), 30, "No system message",
         "all 30 examples"),
        ("low_diversity", IssueSummary(28, tuple(range(1, 21))), 40,
         "One assistant reply fills 28 of 40 examples", "lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, "
         "11, 12, 13, 14, 15, 16, 17, 18, 19, 20 …"),
        ("too_few_examples", IssueSummary(1, ()), 5, "Too few examples (5)", ""),
        ("duplicate_examples", IssueSummary(2, (4, 9)), 10, "Duplicates of an earlier example",
         "2 examples (lines 4, 9)"),
        ("over_token_limit", IssueSummary(1, (3,)), 1, "Over the model's token limit", "line 3"),
        ("some_new_kind", IssueSummary(2, (1, 2)), 5, "Some new kind", "2 examples (lines 1, 2)"),
    ],
)  # fmt: skip
def test_labels_and_where(
    kind: str, summary: IssueSummary, examples: int, label: str, where: str
) -> None:
    line = issue_line(kind, summary, examples)
    assert (line.label, line.where) == (label, where)
    assert line.hint or kind == "some_new_kind"
    assert "_" not in line.label  # no kind names in the words a user reads


@pytest.mark.parametrize(
    ("start", "hint"),
    [
        ('{"messages": [{"role": "user", "content": "hi"},]}', "a trailing comma?"),
        ('{"a": [1, 2, ]}', "a trailing comma?"),
        ("{'messages': []}", "single quotes? JSON needs double quotes"),
        ('{"weight": True}', "Python's True/False/None? JSON has true/false/null"),
        ('{"messages": [', "cut off? each example must be complete on one line"),
        ('{"a" "b"}', "check its quotes, commas and brackets"),
        (None, "check its quotes, commas and brackets"),
    ],
)
def test_json_hints(start: str | None, hint: str) -> None:
    assert json_hint(start) == hint


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"messages": [ ,', '{"messages": [ ,'),
        ("a\tb\r\n\x1b[31mc\u2028d", "a b [31mc d"),  # one line, no control characters
        ("x " * 100, ("x " * 30).strip() + " …"),
        ("key sk-proj-abc123DEF456ghi789", "key •••"),
        ("mail jo.doe@example.com now", "mail ••• now"),
        ("call +1 (555) 123-4567 today", "call ••• today"),
        ("token " + "A" * 40, "token •••"),
        ("-----BEGIN RSA PRIVATE KEY-----MIIE", "•••MIIE"),
        (b"\xff\xfe{", "\ufffd\ufffd{"),
        ("   ", None),
        (None, None),
    ],
)
def test_excerpts_are_short_one_line_and_private(raw: str | bytes | None, expected: str) -> None:
    assert excerpt(raw) == expected


def test_excerpts_never_exceed_the_bound() -> None:
    for raw in ("é" * 1000, "<!channel> " * 100, b"\x00" * 500 + b"x", "`" * 300):
        shown = excerpt(raw)
        assert shown is None or len(shown) <= EXCERPT_CHARS + 2


def test_first_offending_line_is_quoted_from_the_same_pass(tmp_path: Path) -> None:
    lines = [ok(i) for i in range(30)]
    lines[16] = '{"messages": [{"role": "user", "content": "hi"},], "x": "' + "y" * 5000 + '"}'
    lines[20] = "{broken"
    lines[5] = '{"messages": [{"role": "user", "content": "only a question"}]}'
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = analyze(path, model=MINI, today=TODAY)
    bad = report.errors["invalid_json"]
    assert bad.lines == (17, 21) and bad.excerpt is not None
    assert bad.excerpt.startswith('{"messages": [{"role": "user", "content": "hi"},]')
    assert len(bad.excerpt) <= EXCERPT_CHARS + 2 and bad.excerpt.endswith("…")
    assert issue_line("invalid_json", bad, 30).hint == "a trailing comma?"
    missing = report.errors["missing_assistant_message"]
    assert missing.lines == (6,) and missing.excerpt == (
        '{"messages":[{"role":"user","content":"only a question"}]}'
    )
    details = report.to_json()["details"]
    assert details["invalid_json"]["first_line"] == 17
    assert details["missing_assistant_message"]["where"] == "line 6"


def test_a_json_array_quotes_the_item(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text("[" + ",".join([ok(i) for i in range(11)] + ['{"a": NaN}']) + "]")
    report = analyze(path, model=MINI, today=TODAY)
    assert report.errors["invalid_json"].lines == (12,)
    assert report.errors["invalid_json"].excerpt == '{"a": NaN}]'


def test_low_diversity_quotes_the_reply_even_when_it_comes_late(tmp_path: Path) -> None:
    refusal = "I'm sorry, but I can't help with that."
    lines = [ok(i) for i in range(30)]
    lines += [
        json.dumps({"messages": [{"role": "user", "content": f"x{i}"},
                                 {"role": "assistant", "content": refusal}]})
        for i in range(12)
    ]  # fmt: skip
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = analyze(path, model=MINI, today=TODAY)
    low = report.warnings["low_diversity"]
    assert (low.count, low.lines[0], low.excerpt) == (12, 31, refusal)
    assert report.valid and report.verdict == "ready_with_warnings"
    assert report.serious_warnings == ("low_diversity",)
    line = issue_line("low_diversity", low, report.examples)
    assert line.label == "One assistant reply fills 12 of 42 examples"
    assert line.quoted_from() == "the reply" and line.serious


@pytest.mark.parametrize(
    ("rows", "verdict", "serious"),
    [
        ([ok(i) for i in range(12)], "ready", ()),
        ([ok(i) for i in range(11)] + [ok(0)], "ready_with_warnings", ("duplicate_examples",)),
        ([ok(i) for i in range(11)] + ["{"], "needs_fixes", ()),
        ([OK % (i, 0) for i in range(12)], "ready_with_warnings", ("low_diversity",)),
    ],
)
def test_verdicts(tmp_path: Path, rows: list[str], verdict: str, serious: tuple[str, ...]) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(rows) + "\n")
    report = analyze(path, model=MINI, today=TODAY)
    data = report.to_json()
    assert (report.verdict, report.serious_warnings) == (verdict, serious)
    assert (data["verdict"], data["serious_warnings"]) == (verdict, list(serious))
    # the contract's shape stays: kind -> {count, lines}, nothing more
    for issues in (data["errors"], data["warnings"]):
        assert all(set(v) == {"count", "lines"} for v in issues.values())
