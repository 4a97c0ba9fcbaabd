"""The report's blocks and CLI text in plain words: labels, the first line's start (escaped),
'all N examples', and a verdict that counts serious warnings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.issue_words import IssueLine
from bot.core.models import resolve_model
from bot.core.validation import analyze
from bot.report_text import render
from handlers.blocks.report import dataset_report_blocks, issue_row, report_text, verdict
from tests.conftest import TODAY

MINI = resolve_model("gpt-4o-mini")
OK = '{"messages": [{"role": "user", "content": "q%d"}, {"role": "assistant", "content": "%s"}]}'


def write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(rows) + "\n")
    return path


def text_of(blocks: list) -> str:
    return json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)


@pytest.mark.parametrize(
    ("line", "row"),
    [
        (IssueLine("invalid_json", "Not valid JSON", "line 17", 17, '{"messages": [ …',
                   "a trailing comma?", False),
         '• *Not valid JSON* — line 17: `{"messages": [ …` — a trailing comma?'),
        (IssueLine("invalid_json", "Not valid JSON", "3 examples (lines 17, 20, 25)", 17,
                   "{'a'", "single quotes?", False),
         "• *Not valid JSON* — 3 examples (lines 17, 20, 25) · line 17: `{'a'` — single quotes?"),
        (IssueLine("low_diversity", "One assistant reply fills 28 of 40 examples", "lines 1, 2",
                   1, "Sure!", "vary them", True),
         "• ⚠️ *One assistant reply fills 28 of 40 examples* — lines 1, 2 · the reply: `Sure!` — "
         "vary them"),
        (IssueLine("invalid_json", "Not valid JSON", "line 2", 2, "<!channel> `x` &", "h", False),
         "• *Not valid JSON* — line 2: `&lt;!channel&gt; ˋxˋ &amp;` — h"),
        (IssueLine("too_few_examples", "Too few examples (5)", "", None, None, "add <more>", False),
         "• *Too few examples (5)* — add &lt;more&gt;"),
    ],
)  # fmt: skip
def test_issue_rows(line: IssueLine, row: str) -> None:
    assert issue_row(line) == row


def test_a_json_error_and_low_diversity_in_blocks_and_cli(tmp_path: Path) -> None:
    rows = [OK % (i, "Sure thing!" if i % 3 else f"a{i}") for i in range(40)]
    rows[16] = '{"messages": [{"role": "user", "content": "<@U1> hi"},]}'
    report = analyze(write(tmp_path, rows), model=MINI, today=TODAY)
    blocks = text_of(dataset_report_blocks(name="d.jsonl", report=report, file_id="F1"))
    assert 'Not valid JSON* — line 17: `{\\"messages\\": [{\\"role\\"' in blocks
    assert "&lt;@U1&gt;" in blocks and "<@U1>" not in blocks
    assert "— a trailing comma?" in blocks
    assert "One assistant reply fills 25 of 40 examples" in blocks
    assert "the reply: `Sure thing!`" in blocks
    assert "`invalid_json`" not in blocks and "`low_diversity`" not in blocks
    assert verdict(report) == "⚠️ Needs fixes"
    cli = render(report, "d.jsonl")
    assert "  - Not valid JSON — line 17  [invalid_json]" in cli
    assert "      line 17: " + '{"messages": [{"role": "user", "content": "<@U1> hi"},]}' in cli
    assert "      → a trailing comma?" in cli
    assert "  ! One assistant reply fills 25 of 40 examples — lines 2, 3, 5" in cli
    assert "      the reply: Sure thing!" in cli


def test_all_examples_instead_of_a_list(tmp_path: Path) -> None:
    report = analyze(write(tmp_path, [OK % (i, f"a{i}") for i in range(30)]), model=MINI,
                     today=TODAY)  # fmt: skip
    blocks = text_of(dataset_report_blocks(name="d.jsonl", report=report, file_id="F1"))
    assert "*No system message* — all 30 examples" in blocks
    assert "lines 1, 2, 3" not in blocks
    assert "No system message — all 30 examples" in render(report, "d.jsonl")


@pytest.mark.parametrize(
    ("rows", "header", "cli", "button"),
    [
        ([OK % (i, f"a{i}") for i in range(40)], "✅ Ready to train", "READY TO TRAIN", True),
        ([OK % (i, "Sure!" if i < 28 else f"a{i}") for i in range(40)], "Ready · ⚠️ 1 warning",
         "READY · 1 WARNING", True),
        ([OK % (i, "Sure!" if i < 28 else f"a{i}") for i in range(39)] + [OK % (0, "Sure!")],
         "Ready · ⚠️ 2 warnings", "READY · 2 WARNINGS", True),
        ([OK % (i, f"a{i}") for i in range(39)] + ["{"], "⚠️ Needs fixes", "NEEDS FIXES", False),
    ],
)  # fmt: skip
def test_verdicts_in_header_fallback_and_cli(
    tmp_path: Path, rows: list[str], header: str, cli: str, button: bool
) -> None:
    report = analyze(write(tmp_path, rows), model=MINI, today=TODAY)
    blocks = dataset_report_blocks(name="d.jsonl", report=report, file_id="F1")
    assert blocks[0].to_dict()["text"]["text"] == f"{header}: d.jsonl"
    assert report_text("d.jsonl", report).startswith(f"{header}: d.jsonl")
    assert render(report, "d.jsonl").startswith(f"d.jsonl: {cli}\n")
    assert ("dataset_start" in text_of(blocks)) is button
