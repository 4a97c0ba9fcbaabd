"""Pure Block Kit builders: the same numbers as the report, within Slack's limits."""

from __future__ import annotations

import datetime as dt
import json

from bot.core.models import resolve_model
from bot.core.validation import analyze
from handlers.blocks.commands import datasets_blocks, help_blocks
from handlers.blocks.report import dataset_report_blocks, report_text
from storage.repositories import DatasetRecord
from tests.conftest import DATA, TODAY, shared

MINI = resolve_model("gpt-4o-mini")


def within_limits(blocks: list) -> None:
    assert len(blocks) <= 50
    for block in blocks:
        data = block.to_dict()  # validates required fields
        if data["type"] == "section":
            assert len(data.get("text", {}).get("text", "")) <= 3000
            assert len(data.get("fields", [])) <= 10
        if data["type"] == "header":
            assert len(data["text"]["text"]) <= 150


def test_report_blocks_carry_the_reports_numbers() -> None:
    report = analyze(shared("toy_chat_fine_tuning.jsonl"), model=MINI, today=TODAY)
    blocks = dataset_report_blocks(name="toy.jsonl", report=report, file_id="F1")
    within_limits(blocks)
    text = json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)
    assert "8,233" in text and "$0.49" in text and "20 (default for this size: 20)" in text
    assert "lines 3" not in text and "line 3" in text
    assert "dataset_start" not in text  # needs fixes: no start button
    assert report_text("toy.jsonl", report).startswith("⚠️ Needs fixes: toy.jsonl — 5 examples")


def test_huge_error_lists_stay_within_limits(tmp_path) -> None:
    path = tmp_path / "many.jsonl"
    bad = [f'{{"messages": [{{"role": "r{i}", "content": "x", "k{i}": 1}}]}}' for i in range(5000)]
    path.write_text("\n".join(["oops"] * 100 + bad) + "\n")
    report = analyze(path, model=MINI, today=TODAY)
    blocks = dataset_report_blocks(name="x" * 400 + ".jsonl", report=report, file_id="F1")
    within_limits(blocks)


def test_help_and_datasets_listing() -> None:
    blocks, text = help_blocks()
    within_limits(blocks)
    assert "/finetune datasets" in text
    now = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    records = [
        DatasetRecord(
            id=i,
            slack_file_id=f"F{i}",
            channel_id="C1",
            thread_ts="1.0",
            uploader_id="U1",
            name=f"d{i}.jsonl",
            size_bytes=10,
            sha256=None,
            format="chat",
            examples=1234,
            total_tokens=8233,
            valid=i % 2 == 0,
            report=None,
            status="reported",
            error=None,
            report_ts=None,
            created_at=now,
        )
        for i in range(300)
    ]
    blocks, text = datasets_blocks(records, channel_id="C1")
    within_limits(blocks)
    rendered = json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)
    assert "1,234 examples" in rendered and "8,233 tokens" in rendered and "<@U1>" in rendered
    assert "showing 1–40 of 300" in rendered and "list_more" in rendered
    assert "300 datasets" in text
    blocks, _ = datasets_blocks(records, channel_id="C1", offset=280)
    within_limits(blocks)
    last = json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)
    assert "showing 281–300 of 300" in last and "list_more" not in last
    assert "d299.jsonl" in last and "d0.jsonl" not in last


def test_json_array_reports_item_numbers() -> None:
    report = analyze(DATA / "array.json", model=MINI, today=TODAY)
    text = json.dumps(
        [b.to_dict() for b in dataset_report_blocks(name="a.json", report=report, file_id="F")]
    )
    assert "item 4" in text
