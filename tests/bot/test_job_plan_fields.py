"""A start refused by the plan names the field it is about (the start form shows it there)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.core.command_types import Start
from bot.core.models import ModelInfo, resolve_model
from bot.services import job_plan
from bot.services.errors import UserError
from storage.repositories import DatasetRecord

TODAY = dt.date(2026, 11, 25)
MINI = resolve_model("gpt-4o-mini-2024-07-18", "openai")
QWEN = resolve_model("Qwen/Qwen2.5-7B-Instruct", "together")
CHAT = DatasetRecord(
    id=1, slack_file_id="F1", channel_id="C1", thread_ts="1.0", uploader_id="U1",
    name="d.jsonl", size_bytes=1, sha256="x", format="chat", examples=12, total_tokens=100,
    valid=True, report=None, status="ready", error=None, report_ts=None,
    created_at=dt.datetime(2026, 11, 25, tzinfo=dt.UTC),
)  # fmt: skip
PREFS = dataclasses.replace(CHAT, id=2, format="dpo", name="p.jsonl")


@pytest.mark.parametrize(
    ("cmd", "backend", "model", "data", "field"),
    [(Start("d", method="dpo"), "openai", MINI, CHAT, "method"),
     (Start("d"), "openai", MINI, PREFS, "method"),
     (Start("d", lr=50.0), "openai", MINI, CHAT, "lr"),
     (Start("d", suffix="a" * 30), "together", QWEN, CHAT, "suffix"),
     (Start("d", checkpoints=2), "azure", MINI, CHAT, "checkpoints"),
     (Start("d"), "openai", dataclasses.replace(MINI, shutdown=TODAY), CHAT, "model")],
)  # fmt: skip
def test_check_start_names_the_refused_field(
    cmd: Start, backend: str, model: ModelInfo, data: DatasetRecord, field: str
) -> None:
    with pytest.raises(UserError) as info:
        job_plan.check_start(cmd, backend, data, model, TODAY)
    assert info.value.field == field


def test_a_validation_file_of_another_format_is_refused_on_the_validation_field() -> None:
    with pytest.raises(UserError) as info:
        job_plan.check_validation(PREFS, ("chat", "chat_tools"))
    assert info.value.field == "validation" and "p.jsonl" in str(info.value)
    job_plan.check_validation(CHAT, ("chat", "chat_tools"))  # accepted
    with pytest.raises(UserError):
        job_plan.check_validation(dataclasses.replace(CHAT, valid=False), ("chat",))
