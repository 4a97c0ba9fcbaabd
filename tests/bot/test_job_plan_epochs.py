"""Estimates across backends (issue 13): each model trains, and is estimated, at its own
backend's default epochs, whichever backend's model the report was made for."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bot.core.billing import default_epochs
from bot.core.models import resolve_model
from bot.core.validation import analyze
from bot.services import job_plan
from storage.jobs import JobRecord
from storage.repositories import DatasetRecord

TODAY = dt.date(2026, 11, 25)
OPENAI = "gpt-4o-mini-2024-07-18"
TOGETHER = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
LINE = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}


def dataset(tmp_path: Path, *, main: str, also: str, examples: int = 12) -> DatasetRecord:
    """A stored dataset whose report was made for `main` (its default backend) plus `also`."""
    path = tmp_path / "d.jsonl"
    rows = [{**LINE, "messages": [*LINE["messages"][:1], {"role": "assistant", "content": f"{i}"}]}
            for i in range(examples)]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = analyze(path, model=resolve_model(main), today=TODAY, also=(resolve_model(also),))
    assert report.valid, report.errors
    return DatasetRecord(
        id=1, slack_file_id="F1", channel_id="C1", thread_ts="1.0", uploader_id="U1",
        name="d.jsonl", size_bytes=1, sha256="x", format=report.format,
        examples=report.examples, total_tokens=report.tokens.total, valid=True,
        report=report.to_json(), status="ready", error=None, report_ts=None,
        created_at=dt.datetime(2026, 11, 25, tzinfo=dt.UTC),
    )  # fmt: skip


@pytest.mark.parametrize(("main", "also"), [(TOGETHER, OPENAI), (OPENAI, TOGETHER)])
def test_each_model_is_estimated_at_its_own_default_epochs(
    tmp_path: Path, main: str, also: str
) -> None:
    record = dataset(tmp_path, main=main, also=also)
    openai_line = job_plan.estimate(record, resolve_model(OPENAI), None, TODAY)
    together_line = job_plan.estimate(record, resolve_model(TOGETHER), None, TODAY)
    # OpenAI's rule for 12 examples (100 / 12 -> 9 epochs), Together's fixed default of 1
    assert openai_line.epochs == default_epochs(12) == 9
    assert together_line.epochs == 1
    assert together_line.quoted and not openai_line.quoted
    # the dollars follow the epochs: OpenAI's per-token price over all 9 epochs
    per_epoch = openai_line.billed_tokens_per_epoch
    assert openai_line.cost_usd == pytest.approx(per_epoch * 9 * 3.0 / 1_000_000)
    # and they are the lines the report itself gave each model
    lines = {line["model"]: line for line in record.report["other_models"]}  # type: ignore[index]
    lines[main] = {"epochs": record.report["epochs"]}  # type: ignore[index]
    assert (lines[OPENAI]["epochs"], lines[TOGETHER]["epochs"]) == (9, 1)
    # asked epochs win
    assert job_plan.estimate(record, resolve_model(OPENAI), 2, TODAY).epochs == 2


@pytest.mark.parametrize(("main", "also"), [(TOGETHER, OPENAI), (OPENAI, TOGETHER)])
def test_a_posted_job_shows_its_own_backends_default_epochs(
    tmp_path: Path, main: str, also: str
) -> None:
    record = dataset(tmp_path, main=main, also=also)

    def job(model: str, backend: str, hyper: dict[str, int] | None = None) -> JobRecord:
        fields = dict.fromkeys(JobRecord.__dataclass_fields__)
        return JobRecord(**{**fields, "model": model, "backend": backend,  # type: ignore[arg-type]
                            "hyperparameters": hyper or {}})  # fmt: skip

    assert job_plan.job_epochs(job(OPENAI, "openai"), record) == 9
    assert job_plan.job_epochs(job(TOGETHER, "together"), record) == 1
    assert job_plan.job_epochs(job(TOGETHER, "together", {"n_epochs": 3}), record) == 3
