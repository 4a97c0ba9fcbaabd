"""Every listing names each job's and model's backend (OpenAI, Together AI), within Slack's limits,
and usage never shows a cost the bot cannot know as $0.00 (product §9)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest

from bot.core.backend_names import backend_name
from bot.core.jobs import JobSnapshot
from bot.core.usage import JobCost, usage
from bot.core.watch import Event, Metrics
from bot.services.inspect import StatusAnswer
from bot.services.models import Home, JobLine, training_price
from handlers.blocks.inspect import events_blocks, status_answer_blocks
from handlers.blocks.listing import home_view, jobs_blocks
from handlers.blocks.models import models_blocks
from handlers.blocks.usage import usage_blocks
from storage.fine_tuned import ModelRecord
from storage.jobs import JobRecord
from tests.fakes.slack_blocks import check_blocks, check_view
from tests.inert import check_payload

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
MINI = "gpt-4o-mini-2024-07-18"


def job(remote_id: str, backend: str, *, model: str = MINI, status: str = "running") -> JobRecord:
    return JobRecord(
        id=1, request_key=remote_id, remote_id=remote_id, dataset_id=1,
        validation_dataset_id=None, channel_id="C1", thread_ts="1.0", owner_id="U1", model=model,
        method="supervised", hyperparameters=None, suffix=None, seed=None, state="created",
        status=status, estimated_cost_usd=1.5, estimated_tokens=1000, trained_tokens=None,
        fine_tuned_model=None, status_ts="2.0", approver_id=None, approval_ts=None, error=None,
        created_at=NOW - dt.timedelta(hours=2), backend=backend,
    )  # fmt: skip


def model(name: str, backend: str, base: str) -> ModelRecord:
    return ModelRecord(
        name=name, job_id=1, owner_id="U1", channel_id="C1", base_model=base, chosen=None,
        deleted=False, backend=backend,
    )  # fmt: skip


MIXED_JOBS = [
    JobLine(job("ftjob-abc", "openai"), 3, 10),
    JobLine(job("ft-12345678-aaaa", "together", model=LLAMA), 5, 10),
]
MIXED_MODELS = [
    model("ft:gpt-4o-mini-2024-07-18:org::abc", "openai", MINI),
    model("user/Meta-Llama-3.1-8B-Instruct-Reference-ftb1-abc", "together", LLAMA),
]


def sections(blocks: list[Any]) -> list[str]:
    return [
        b.to_dict()["text"]["text"]
        for b in blocks
        if b.to_dict()["type"] == "section" and "text" in b.to_dict()
    ]


def row_with(texts: list[str], needle: str) -> str:
    (found,) = [t for t in texts if needle in t]
    return found


@pytest.mark.parametrize(
    ("name", "shown"),
    [("openai", "OpenAI"), ("together", "Together AI"), ("azure", "Azure OpenAI"), ("x", "x")],
)
def test_display_names(name: str, shown: str) -> None:
    assert backend_name(name) == shown


def test_job_rows_name_their_backend() -> None:
    blocks, _ = jobs_blocks(MIXED_JOBS, scope="all", now=NOW)
    texts = sections(blocks)
    openai_row, together_row = row_with(texts, "ftjob-abc"), row_with(texts, "ft-12345678")
    assert "OpenAI" in openai_row and "Together AI" not in openai_row
    assert "Together AI" in together_row and "OpenAI" not in together_row
    assert f"`{LLAMA}` · Together AI · <@U1>" in together_row


def test_model_rows_name_their_backend() -> None:
    texts = sections(models_blocks(MIXED_MODELS)[0])
    assert f"base `{MINI}` · OpenAI · <#C1>" in row_with(texts, "ft:gpt-4o-mini")
    assert f"base `{LLAMA}` · Together AI · <#C1>" in row_with(texts, "ftb1-abc")


def test_home_tab_names_backends_of_jobs_and_models() -> None:
    view = home_view(Home(running=MIXED_JOBS, models=MIXED_MODELS, datasets=[]), now=NOW)
    data = view.to_dict()
    assert check_view(data) == []
    texts = [b["text"]["text"] for b in data["blocks"] if b["type"] == "section"]
    assert "Together AI" in row_with(texts, "ft-12345678") and "OpenAI" in row_with(texts, "ftjob")
    assert row_with(texts, "ftb1-abc").endswith("· Together AI")
    assert row_with(texts, "ft:gpt-4o-mini").endswith("· OpenAI")


def test_status_and_events_name_the_backend() -> None:
    answer = StatusAnswer(
        job_id="ft-1", backend="together", owner_id="U1", now=1_700_000_000,
        snapshot=JobSnapshot(id="ft-1", status="running", model=LLAMA), metrics=Metrics(),
    )  # fmt: skip
    blocks, text = status_answer_blocks(answer)
    assert sections(blocks)[0].startswith(f"*`ft-1`* · `{LLAMA}` · Together AI · owner <@U1>\n")
    assert "Together AI" in text
    event = Event(id="e1", created_at=1_700_000_000, level="info", message="Training started")
    blocks, text = events_blocks("ft-1", [event], "together")
    assert text == "Last event of `ft-1` on Together AI"
    assert events_blocks("ftjob-1", [], "openai")[1] == "`ftjob-1` on OpenAI has no events yet."


def test_long_mixed_listings_keep_paging_within_slacks_limits() -> None:
    """95 jobs on both backends with the longest names: 40 a page, every block within limits."""
    long_id = "ft-" + "9" * 400
    lines = [
        JobLine(
            dataclasses.replace(
                job(f"{long_id}{i:03d}" if i % 2 else f"ftjob-{i:03d}", "together"),
                backend="together" if i % 2 else "openai",
                model="m" * 500,
                status="<!channel>" * 50,
            ),
            i,
            100,
        )
        for i in range(95)
    ]
    blocks, _ = jobs_blocks(lines, scope="all", now=NOW)
    payload = [b.to_dict() for b in blocks]
    assert check_blocks(payload) == [] and len(payload) <= 50
    rows = sections(blocks)[1:]
    assert len(rows) == 40
    assert all(("Together AI" in r) != ("OpenAI" in r) for r in rows)
    assert "showing 1–40 of 95" in json.dumps(payload, ensure_ascii=False)
    models = [model("x" * 300 + str(i), "together", "y" * 300) for i in range(95)]
    blocks, _ = models_blocks(models, offset=80)
    assert check_blocks([b.to_dict() for b in blocks]) == []
    assert len(sections(blocks)) == 1 + 15
    view = home_view(Home(running=lines[:20], models=models[:10], datasets=[]), now=NOW).to_dict()
    assert check_view(view) == []


def cost(backend: str, model: str, *, usd: float | None, trained: int | None, **kw: Any) -> JobCost:
    return JobCost(
        owner_id=kw.get("owner", "U1"), channel_id="C1", model=model,
        created_at=NOW - dt.timedelta(days=1), estimated_tokens=100_000, estimated_usd=usd,
        trained_tokens=trained, backend=backend,
    )  # fmt: skip


def test_a_quoted_model_has_no_per_token_price() -> None:
    assert training_price(LLAMA) is None  # Together AI quotes each job: no rate is known offline
    assert training_price(MINI) == 3.0
    assert training_price("no-such-model") is None
    # Azure OpenAI fine-tunes the same GPT models at its own, unpublished rates: not OpenAI's
    assert training_price(MINI, "openai") == 3.0 and training_price(MINI, "azure") is None


def test_usage_totals_per_backend_and_unknown_costs_are_not_zero() -> None:
    jobs = [
        cost("openai", MINI, usd=0.9, trained=300_000),
        cost("together", LLAMA, usd=0.06, trained=120_000),  # Together AI's quote recorded
        cost("together", LLAMA, usd=None, trained=80_000, owner="U2"),  # adopted: no quote
    ]
    result = usage(jobs, today=NOW.date(), price=training_price)
    blocks, text = usage_blocks(result)
    payload = [b.to_dict() for b in blocks]
    assert check_blocks(payload) == []
    assert check_payload({"blocks": payload}, users=("U1", "U2"), channels=("C1",)) >= 1
    texts = sections(blocks)
    by_backend = row_with(texts, "*By backend*")
    assert (
        "• OpenAI: 1 job · estimated $0.90 (100,000 tokens) · "
        "actual $0.90 (300,000 trained tokens)" in by_backend
    )
    assert (
        "• Together AI: 2 jobs · estimated $0.06 + 1 unknown (200,000 tokens) · "
        "actual unknown (200,000 trained tokens)" in by_backend
    )
    assert (
        "• <@U2>: 1 job · estimated unknown (100,000 tokens) · "
        "actual unknown (80,000 trained tokens)" in row_with(texts, "*By user*")
    )
    assert "$0.00" not in json.dumps(payload)
    assert not [t for t in texts if "By channel" in t]  # one channel: it adds nothing
    assert texts[0].startswith("*Fine-tuning usage* · <#C1>\nAll time (all this month): 3 jobs")
    assert text == "Fine-tuning usage: $0.96 estimated in all (+ 1 job without an estimate)"
    note = payload[-1]["elements"][0]["text"]
    assert "Together AI" in note and "quote" in note
