"""Every builder makes user, file, provider and model text inert and stays within Slack's limits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from bot.core.billing import BillingLine
from bot.core.checkpoints import CheckpointList, checkpoint_rows, job_title
from bot.core.compare import Case, Outcome, Score
from bot.core.job_events import Timeline, TimelineEntry
from bot.core.job_settings import JobSettings
from bot.core.jobs import Checkpoint, JobSnapshot
from bot.core.message import Text, say
from bot.core.models import resolve_model
from bot.core.status import JobFacts, outcome_text, status_view
from bot.core.usage import Tally, Usage
from bot.core.validation import analyze
from bot.core.watch import Event, Metrics
from bot.services.compare import Comparison
from bot.services.inspect import StatusAnswer
from bot.services.models import Home, JobLine
from handlers.blocks.checkpoints import checkpoint_blocks
from handlers.blocks.commands import datasets_blocks
from handlers.blocks.inspect import events_blocks, status_answer_blocks
from handlers.blocks.jobs import (
    approval_blocks,
    approved_blocks,
    cancel_actions,
    cost_blocks,
    error_blocks,
    job_blocks,
)
from handlers.blocks.listing import home_view, jobs_blocks
from handlers.blocks.models import (
    comparison_blocks,
    delete_confirmation,
    models_blocks,
    try_blocks,
)
from handlers.blocks.report import dataset_report_blocks, report_text
from handlers.blocks.start_form import StartFormData, start_form
from handlers.blocks.status import outcome_blocks, status_blocks
from handlers.blocks.usage import usage_blocks
from handlers.text import escape
from storage.fine_tuned import ModelRecord
from storage.jobs import JobRecord
from storage.repositories import DatasetRecord
from tests.conftest import TODAY, shared
from tests.fakes.slack_blocks import check_blocks, check_view
from tests.fakes.slack_state import WORKSPACE_URL
from tests.inert import check_inert, check_payload

EVIL = "x` <!channel> <https://evil.example|login> `y.jsonl"
LONG = "<!here>`\n" * 700  # 6,300 characters, 25,200 once escaped
NOW = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
NOW_S = int(NOW.timestamp())
USERS = ("U1", "U2")
CHANNELS = ("C1",)


def dataset(name: str) -> DatasetRecord:
    return DatasetRecord(
        id=1, slack_file_id="F1", channel_id="C1", thread_ts="1.0", uploader_id="U1", name=name,
        size_bytes=10, sha256=None, format="chat", examples=12, total_tokens=345, valid=True,
        report=None, status="reported", error=None, report_ts=None, created_at=NOW,
    )  # fmt: skip


def job(text: str) -> JobRecord:
    return JobRecord(
        id=1, request_key=text, remote_id=text, dataset_id=1, validation_dataset_id=None,
        channel_id="C1", thread_ts="1.0", owner_id="U1", model=text, method=text,
        hyperparameters={"n_epochs": text, text: 3}, suffix=text, seed=None, state="created",
        status=text, estimated_cost_usd=1.5, estimated_tokens=1000, trained_tokens=None,
        fine_tuned_model=text, status_ts="2.0", approver_id=None, approval_ts=None, error=None,
        created_at=NOW - dt.timedelta(hours=2), backend="openai",
    )  # fmt: skip


def facts(text: str) -> JobFacts:
    return JobFacts(
        owner_id="U1", model=text, backend=text, remote_id=text, method=text, dataset_name=text,
        suffix=text, requested={"n_epochs": text, text: 3}, estimated_cost=1.5, cancelled_by=text,
    )  # fmt: skip


def finished(text: str, status: str) -> JobSnapshot:
    return JobSnapshot(
        id=text, status=status, model=text, fine_tuned_model=text, error_code=text,
        error_message=text, settings=JobSettings(method=text, suffix=text), trained_tokens=5,
    )  # fmt: skip


def watched(text: str, status: str) -> Any:
    timeline = Timeline(tuple(TimelineEntry(NOW_S - i, text) for i in range(8)), earlier=10**6)
    return status_view(
        facts=facts(text), snapshot=finished(text, status), metrics=Metrics(3, 9, 0.5),
        timeline=timeline, now=NOW_S,
    )  # fmt: skip


def model(text: str) -> ModelRecord:
    return ModelRecord(
        name=text, job_id=1, owner_id="U1", channel_id="C1", base_model=text, chosen=text,
        deleted=False, backend="openai",
    )  # fmt: skip


def line(text: str) -> BillingLine:
    return BillingLine(
        model=text, encoding="o200k_base", example_limit=65536, usd_per_1m=3.0,
        billed_tokens_per_epoch=1000, epochs=3, cost_usd=0.009, trainable=False,
        shutdown=dt.date(2026, 1, 1),
    )  # fmt: skip


def comparison(text: str) -> Comparison:
    case = Case(1, [{"role": "system", "content": text}, {"role": "user", "content": text}], text)
    return Comparison(
        tuned_model=text, base_model=text, dataset=text,
        outcomes=[Outcome(dataclasses.replace(case, number=i), text, text) for i in range(20)],
        base=Score(0, 0, 20), tuned=Score(1, 2, 20), prompt_tokens=10, completion_tokens=20,
        cost_usd=0.01,
    )  # fmt: skip


def every_builder(text: str) -> dict[str, Callable[[], Any]]:
    """Each builder fed `text` wherever a user, a file, a provider or a model has a say."""
    report = analyze(
        shared("drone_training.jsonl"), model=resolve_model("gpt-4o-mini"), today=TODAY
    )
    snapshot = JobSnapshot(id=text, status=text, model=text)
    event = Event(id="e1", created_at=1_700_000_000, level="info", message=text)
    tally = Tally(jobs=1, estimated_tokens=10, estimated_usd=1.0)
    return {
        "report": lambda: (
            dataset_report_blocks(name=text, report=report, file_id="F1"),
            report_text(text, report),
        ),
        "datasets": lambda: datasets_blocks([dataset(text)], channel_id="C1"),
        "status answer": lambda: status_answer_blocks(
            StatusAnswer(
                job_id=text,
                backend=text,
                owner_id="U1",
                now=1_700_000_000,
                snapshot=JobSnapshot(
                    id=text,
                    status="failed",
                    model=text,
                    fine_tuned_model=text,
                    training_file=text,
                    validation_file=text,
                    error_code=text,
                    error_message=text,
                    created_at=1_700_000_000,
                    finished_at=1_700_000_600,
                    settings=JobSettings(method=text, epochs=3, suffix=text, seed=7),
                ),
                metrics=Metrics(step=3, total_steps=10, train_loss=0.5),
                training_name=text,
                validation_name=text,
            )
        ),
        "events": lambda: events_blocks(text, [event, event], text),
        "cancel": lambda: ([cancel_actions(text)], ""),
        "job post": lambda: job_blocks(
            job=job(text), dataset=dataset(text), snapshot=snapshot, epochs=3
        ),
        "approval": lambda: approval_blocks(
            job=job(text), dataset=dataset(text), threshold=1.0, epochs=3
        ),
        "approved": lambda: approved_blocks(job=job(text), dataset=dataset(text), approver_id="U2"),
        "error": lambda: error_blocks(
            job=job(text), text=say("OpenAI said no: ", Text(text)), retry=True
        ),
        "cost": lambda: cost_blocks(dataset(text), line(text)),
        "status": lambda: status_blocks(job=job(text), view=watched(text, "succeeded")),
        "status failed": lambda: status_blocks(job=job(text), view=watched(text, "failed")),
        "status running": lambda: status_blocks(job=job(text), view=watched(text, text)),
        "outcome": lambda: outcome_blocks(
            job=job(text),
            text=outcome_text(facts=facts(text), snapshot=finished(text, "succeeded")),
            model=text,
        ),
        "outcome failed": lambda: outcome_blocks(
            job=job(text),
            text=outcome_text(facts=facts(text), snapshot=finished(text, "failed")),
            model=None,
        ),
        "checkpoints": lambda: checkpoint_blocks(
            CheckpointList(
                job_id=text,
                title=job_title(dataset=text, suffix=text, job_id=text),
                rows=checkpoint_rows(
                    checkpoints=[
                        Checkpoint(step=10, model=f"{text}:10", metrics={"valid_loss": 0.5}),
                        Checkpoint(step=20, model=f"{text}:20"),
                    ],
                    final_model=text,
                    final_metrics=None,
                    chosen=f"{text}:10",
                    epochs=2,
                ),
                epochs=2,
                chosen=f"{text}:10",
                chosen_by="U1",
            )
        ),
        "jobs": lambda: jobs_blocks(
            [JobLine(dataclasses.replace(job(text), backend=text), 3, 10)], scope="all", now=NOW
        ),
        "models": lambda: models_blocks([dataclasses.replace(model(text), backend=text)]),
        "usage": lambda: usage_blocks(
            Usage(
                by_user={"U1": tally, text: tally},
                by_channel={"C1": tally, text: tally},
                month_by_user={text: tally},
                month_by_channel={text: tally},
                by_backend={"together": tally, text: tally},
                month_by_backend={text: tally},
            )
        ),
        "try": lambda: try_blocks(text, text, text),
        "delete": lambda: delete_confirmation(model(text)),
        "compare": lambda: comparison_blocks(comparison(text)),
    }


def views(text: str) -> dict[str, Any]:
    home = Home(
        running=[JobLine(dataclasses.replace(job(text), backend=text), 3, 10)],
        models=[dataclasses.replace(model(text), backend=text)],
        datasets=[dataset(text)],
    )
    return {
        "home": home_view(home, now=NOW, workspace_url=WORKSPACE_URL, notice=escape(text) * 40),
        "start form": start_form(
            StartFormData(
                dataset=dataset(text),
                backend="openai",
                backends=("openai", "together"),
                models=[text, "gpt-4o-mini-2024-07-18"],
                default_model=text,
                estimate=line(text),
                validation_choices=[dataset(text)],
                values={"epochs": text, "suffix": text, "model": text},
            )
        ),
        "together start form": start_form(
            StartFormData(
                dataset=dataset(text),
                backend="together",
                backends=("openai", "together"),
                models=[text],
                default_model=text,
                estimate=dataclasses.replace(line(text), quoted=True, tokens_estimated=True),
                validation_choices=[dataset(text)],
                values={"learning_rate": text, "checkpoints": text, "training": text},
            )
        ),
    }


def rendered(blocks: list[Any]) -> list[dict[str, Any]]:
    return [b.to_dict() if hasattr(b, "to_dict") else b for b in blocks]


CASES = [(text, name) for text in (EVIL, LONG) for name in every_builder(EVIL)]


@pytest.mark.parametrize(("text", "name"), CASES, ids=[f"{n}-{len(t)}" for t, n in CASES])
def test_builders_make_hostile_text_inert_and_fit_slacks_limits(text: str, name: str) -> None:
    blocks, fallback = every_builder(text)[name]()
    payload = {"text": fallback, "blocks": rendered(blocks)}
    assert check_blocks(payload["blocks"]) == []
    assert check_payload(payload, users=USERS, channels=CHANNELS) >= 1
    assert len(fallback) <= 4000
    dumped = json.dumps(payload, ensure_ascii=False)
    assert "&lt;!" in dumped or "&lt;https" in dumped or name == "cancel"  # shown, not dropped


@pytest.mark.parametrize("text", [EVIL, LONG])
def test_views_make_hostile_text_inert_and_fit_slacks_limits(text: str) -> None:
    for name, view in views(text).items():
        data = view.to_dict()
        assert check_view(data) == [], name
        assert check_payload(data, users=USERS, channels=CHANNELS) >= 1, name
        for block in data["blocks"]:
            for option in (block.get("element") or {}).get("options") or []:
                assert len(option["text"]["text"]) <= 75 and len(option["value"]) <= 150


def test_code_spans_in_the_job_post_hold_the_whole_name() -> None:
    _, text = job_blocks(
        job=job("ftjob-1"), dataset=dataset(EVIL), snapshot=JobSnapshot("ftjob-1", "queued", "m"),
        epochs=3,
    )  # fmt: skip
    assert "`xˋ &lt;!channel&gt; &lt;https://evil.example|login&gt; ˋy.jsonl`" in text
    assert text.startswith("🚀 <@U1> started fine-tuning")  # the bot's own mention stays live


def test_ids_that_are_not_ids_are_not_mentions() -> None:
    evil_job = dataclasses.replace(job("ftjob-1"), owner_id="U1> <!channel", channel_id="<!here>")
    blocks, _ = jobs_blocks([JobLine(evil_job, 1, 2)], scope="all", now=NOW)
    text = json.dumps(rendered(blocks))
    assert "<@" not in text and "<#" not in text and "&lt;!here&gt;" in text
    check_inert(
        usage_blocks(Usage({"<!everyone>": Tally()}, {}, {}, {}))[0][0].to_dict()["text"]["text"]
    )


def test_the_inertness_check_itself_catches_live_markup() -> None:
    for live in ("<!channel>", "<!here>", "<@U9>", "<#C9>", "<https://evil.example|x>", "a <b"):
        with pytest.raises(AssertionError):
            check_inert(live, users=USERS, channels=CHANNELS)
    check_inert("<@U1> in <#C1> at <!date^1700000000^{time}|soon>", users=USERS, channels=CHANNELS)
    with pytest.raises(AssertionError):
        check_payload(
            {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "<!here>"}}]}
        )
    assert check_payload({"type": "plain_text", "text": "<!here>"}) == 0  # not parsed by Slack
