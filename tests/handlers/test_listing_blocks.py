"""Builders of listings, status and the Home tab (issue 15 point 9): table tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest

from bot.core.job_settings import JobSettings
from bot.core.jobs import JobSnapshot
from bot.core.usage import Tally, Usage
from bot.core.watch import Metrics
from bot.services.inspect import StatusAnswer
from bot.services.models import Home, JobLine
from handlers import ids
from handlers.blocks.inspect import provider_link, status_answer_blocks
from handlers.blocks.listing import age, ago, home_view, job_menu, jobs_blocks, permalink
from handlers.blocks.usage import figures, usage_blocks
from storage.fine_tuned import ModelRecord
from storage.jobs import JobRecord
from storage.repositories import DatasetRecord
from tests.fakes.slack_blocks import check_blocks, check_view
from tests.fakes.slack_state import WORKSPACE_URL
from tests.inert import check_payload

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
EPOCH = int(NOW.timestamp())


def job(**changes: Any) -> JobRecord:
    base = JobRecord(
        id=1, request_key="k", remote_id="ftjob-abc", dataset_id=1, validation_dataset_id=None,
        channel_id="C1", thread_ts="1700000000.000100", owner_id="U1", model="gpt-4o-mini",
        method="supervised", hyperparameters=None, suffix=None, seed=None, state="created",
        status="running", estimated_cost_usd=0.04, estimated_tokens=1000, trained_tokens=None,
        fine_tuned_model=None, status_ts="1700000001.000200", approver_id=None, approval_ts=None,
        error=None, created_at=NOW - dt.timedelta(minutes=12), backend="openai",
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0 s"), (59, "59 s"), (60, "1 min"), (3599, "59 min"), (7200, "2 h"), (90000, "1 d")],
)
def test_age(seconds: int, shown: str) -> None:
    assert age(NOW - dt.timedelta(seconds=seconds), NOW) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "just now"), (59, "just now"), (60, "1 min ago"), (7200, "2 h ago")],
)
def test_ago(seconds: int, shown: str) -> None:
    assert ago(NOW - dt.timedelta(seconds=seconds), NOW) == shown


@pytest.mark.parametrize(
    ("workspace", "channel", "ts", "thread", "link"),
    [
        (WORKSPACE_URL, "C1", "1.2", None, f"{WORKSPACE_URL}archives/C1/p12"),
        (WORKSPACE_URL, "C1", "1.2", "1.2", f"{WORKSPACE_URL}archives/C1/p12"),
        (
            WORKSPACE_URL,
            "C1",
            "1.3",
            "1.2",
            f"{WORKSPACE_URL}archives/C1/p13?thread_ts=1.2&amp;cid=C1",
        ),
        (None, "C1", "1.2", None, ""),  # no workspace URL known: no link
        ("http://evil.example/", "C1", "1.2", None, ""),
        ("https://x.slack.com/|<!here>", "C1", "1.2", None, ""),
        (WORKSPACE_URL, "<!here>", "1.2", None, ""),
        (WORKSPACE_URL, "C1", "1.2|x", None, ""),
        (WORKSPACE_URL, "C1", None, None, ""),
    ],
)
def test_permalink(
    workspace: str | None, channel: str, ts: str | None, thread: str | None, link: str
) -> None:
    assert permalink(workspace, channel, ts, thread) == link


@pytest.mark.parametrize(
    ("record", "options"),
    [
        (job(), ["Status", "Cancel", "Chart"]),
        (job(status="queued"), ["Status", "Cancel", "Chart"]),
        (job(status="succeeded"), ["Status", "Chart"]),  # nothing left to cancel
        (job(status="failed"), ["Status", "Chart"]),
        (job(remote_id=None, status=None, state="awaiting_approval"), None),  # no id yet
        (job(remote_id="ft-" + "9" * 200), None),  # too long for an option's value
    ],
)
def test_job_menu(record: JobRecord, options: list[str] | None) -> None:
    menu = job_menu(JobLine(record, 0, 0))
    if options is None:
        assert menu is None
        return
    assert menu is not None
    data = menu.to_dict()
    assert data["action_id"] == ids.JOB_MENU and len(data["options"]) <= 5
    assert [o["text"]["text"] for o in data["options"]] == options
    values = [json.loads(o["value"]) for o in data["options"]]
    assert {v["j"] for v in values} == {record.remote_id}


def test_a_jobs_row_reads_as_a_sentence() -> None:
    lines = [JobLine(job(), 3, 10, dataset="sports.jsonl"), JobLine(job(status="succeeded"), 0, 0)]
    blocks, text = jobs_blocks(lines, scope="channel", now=NOW, workspace_url=WORKSPACE_URL)
    payload = [b.to_dict() for b in blocks]
    assert check_blocks(payload) == [] and check_payload(
        {"blocks": payload}, users=("U1",), channels=("C1",)
    )
    running, done = payload[1]["text"]["text"], payload[2]["text"]["text"]
    assert running == (
        "*sports.jsonl* · *running* · `gpt-4o-mini` · OpenAI · <@U1> · "
        f"<{WORKSPACE_URL}archives/C1/p1700000001000200?thread_ts=1700000000.000100&amp;cid=C1|thread>"
        " in <#C1> · 12 min ago\n`ftjob-abc`\n`▓▓▓▓▓▓░░░░░░░░░░░░░░ 30% (3/10 steps)`"
    )
    assert done.startswith("_started outside the bot_ · ✅ *succeeded* ·") and "▓" not in done
    assert text == "Jobs in this channel: 2"


def model(
    name: str = "ft:gpt-4o-mini:org::abc", base: str = "gpt-4o-mini-2024-07-18"
) -> ModelRecord:
    return ModelRecord(
        name=name, job_id=1, owner_id="U1", channel_id="C1", base_model=base,
        chosen=None, deleted=False, backend="openai",
    )  # fmt: skip


def dataset(valid: bool) -> DatasetRecord:
    return DatasetRecord(
        id=1, slack_file_id="F1" if valid else "F2", channel_id="C1", thread_ts="1.0",
        uploader_id="U1", name="a.jsonl", size_bytes=10, sha256=None, format="chat", examples=12,
        total_tokens=345, valid=valid, report=None, status="reported", error=None, report_ts=None,
        created_at=NOW,
    )  # fmt: skip


def accessories(view: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (b["accessory"]["action_id"], b["accessory"].get("value", ""))
        for b in view["blocks"]
        if "accessory" in b
    ]


def test_home_buttons_and_no_wall_of_commands() -> None:
    home = Home(
        running=[
            JobLine(job(), 3, 10, dataset="sports.jsonl"),
            JobLine(job(remote_id=None, status=None, state="requested"), 0, 0),
        ],
        models=[
            model(),
            model("ft:gpt-3.5-turbo-0613:org::old", "gpt-3.5-turbo-0613"),
        ],  # the second no longer answers
        datasets=[dataset(True), dataset(False)],
    )
    view = home_view(home, now=NOW, workspace_url=WORKSPACE_URL, notice="⏹️ Cancelled.").to_dict()
    assert check_view(view) == []
    assert accessories(view) == [
        (ids.HOME_JOB_CANCEL, "ftjob-abc"),  # the request not started yet has nothing to cancel
        (ids.HOME_MODEL_TRY, "ft:gpt-4o-mini:org::abc"),
        (ids.DATASET_START, "F1"),  # only a valid dataset can be started
    ]
    shown = json.dumps(view, ensure_ascii=False)
    assert (
        shown.count("/finetune") == 1 and view["blocks"][1]["elements"][0]["text"] == "⏹️ Cancelled."
    )
    empty = home_view(Home(running=[], models=[], datasets=[]), now=NOW).to_dict()
    assert check_view(empty) == [] and not accessories(empty)


def answer(status: str, **changes: Any) -> StatusAnswer:
    snapshot = JobSnapshot(
        id="ftjob-abc", status=status, model="gpt-4o-mini", created_at=EPOCH - 600,
        started_at=None, training_file="file-t", validation_file="file-v", trained_tokens=None,
        settings=JobSettings("supervised", 3, 4, 1.8, None, 42, "acc"),
    )  # fmt: skip
    fields = {k: changes.pop(k) for k in list(changes) if hasattr(snapshot, k)}
    return StatusAnswer(
        job_id="ftjob-abc", backend=changes.pop("backend", "openai"), owner_id="U1",
        snapshot=dataclasses.replace(snapshot, **fields), metrics=Metrics(10, 30, 0.5, 0.6),
        now=EPOCH, training_name="sports.jsonl", validation_name="held.jsonl",
        estimated_usd=0.0418, started_at=EPOCH - 500, **changes,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("case", "present", "absent"),
    [
        (
            answer("running", estimated_finish=EPOCH + 720),
            [
                "*Status:* running",
                "epoch 2 of 3",
                "33% (10/30 steps)",
                "finishes around",
                "trained tokens not known yet",
                "actual not known yet",
                "Latest: training loss 0.50 · validation loss 0.60",
            ],
            ["*Error*"],
        ),
        (
            answer(
                "succeeded",
                finished_at=EPOCH - 60,
                trained_tokens=13_936,
                fine_tuned_model="ft:gpt-4o-mini:org:acc:x",
                actual_usd=0.0418,
            ),
            [
                "✅ succeeded → `ft:gpt-4o-mini:org:acc:x`",
                "epoch 3 of 3",
                "100% (30/30 steps)",
                "trained tokens 13,936",
                "estimated $0.04",
                "actual $0.04",
                "(after 9 min)",
            ],
            ["finishes around", "*Error*"],
        ),
        (
            answer(
                "failed",
                finished_at=EPOCH - 60,
                error_code="exceeded_quota",
                error_message="Quota <!here>",
            ),
            [
                "❌ failed",
                "*Error* (`exceeded_quota`): Quota &lt;!here&gt;",
                "*What to do:* check the OpenAI organisation's billing",
                "trained tokens —",
                "actual unknown",
            ],
            ["<!here>"],
        ),
        (
            answer("failed", backend="together", error_message=None),
            [
                "*Error*: Together AI gave no reason",
                "contact Together AI support",
                "<https://api.together.ai/fine-tuning/ftjob-abc|Open on Together AI>",
            ],
            ["platform.openai.com"],
        ),
        (answer("cancelled", backend="azure"), ["⏹️ cancelled"], ["Open on"]),
    ],
)
def test_status_answer(case: StatusAnswer, present: list[str], absent: list[str]) -> None:
    blocks, _ = status_answer_blocks(case)
    payload = [b.to_dict() for b in blocks]
    assert check_blocks(payload) == [] and len(payload) <= 50
    shown = json.dumps(payload, ensure_ascii=False)
    for part in (
        "Supervised (SFT) · 3 epochs", "batch size 4 · learning-rate multiplier 1.8",
        "seed 42 · suffix `acc`", "training: *sports.jsonl* `file-t`",
        "validation: *held.jsonl* `file-v`", "started <!date^", *present,
    ):  # fmt: skip
        assert part in shown, part
    for part in absent:
        assert part not in shown, part


@pytest.mark.parametrize(
    ("backend", "job_id", "link"),
    [
        ("openai", "ftjob-abc", "<https://platform.openai.com/finetune/ftjob-abc|Open on OpenAI>"),
        ("together", "ft-1-2", "<https://api.together.ai/fine-tuning/ft-1-2|Open on Together AI>"),
        ("azure", "ftjob-abc", ""),
        ("openai", "ftjob-a|<!here>", ""),
        ("openai", "../x", ""),
    ],
)
def test_provider_link(backend: str, job_id: str, link: str) -> None:
    assert provider_link(backend, job_id) == link


def tally(jobs: int, usd: float) -> Tally:
    return Tally(
        jobs=jobs,
        estimated_tokens=jobs * 100,
        estimated_usd=usd,
        trained_tokens=jobs * 90,
        actual_usd=usd,
    )


@pytest.mark.parametrize(
    ("result", "sections"),
    [
        (Usage({}, {}, {}, {}, {}, {}), ["No fine-tuning jobs yet: nothing spent."]),
        (
            Usage({"U1": tally(1, 0.04)}, {"C1": tally(1, 0.04)}, {"U1": tally(1, 0.04)},
                  {"C1": tally(1, 0.04)}, {"openai": tally(1, 0.04)}, {"openai": tally(1, 0.04)}),
            ["*Fine-tuning usage* · OpenAI · <@U1> · <#C1>\nAll time (all this month): 1 job · "
             "estimated $0.04 (100 tokens) · actual $0.04 (90 trained tokens)"],
        ),
        (
            Usage({"U1": tally(2, 1.0), "U2": tally(1, 0.5)}, {"C1": tally(3, 1.5)},
                  {"U1": tally(1, 0.5)}, {"C1": tally(1, 0.5)}, {"openai": tally(3, 1.5)},
                  {"openai": tally(1, 0.5)}),
            ["*Fine-tuning usage* · OpenAI · <#C1>\nThis month: 1 job · estimated $0.50 (100 tokens)"
             " · actual $0.50 (90 trained tokens)\nAll time: 3 jobs · estimated $1.50 (300 tokens)"
             " · actual $1.50 (270 trained tokens)",
             "*By user*\n• <@U1>: 2 jobs · estimated $1.00 (200 tokens) · actual $1.00 (180 trained"
             " tokens) · this month 1 job, $0.50\n• <@U2>: 1 job · estimated $0.50 (100 tokens) · "
             "actual $0.50 (90 trained tokens) · none this month"],
        ),
    ],
)  # fmt: skip
def test_usage_shows_each_split_only_when_it_adds_something(
    result: Usage, sections: list[str]
) -> None:
    blocks, _ = usage_blocks(result)
    payload = [b.to_dict() for b in blocks]
    assert check_blocks(payload) == []
    assert [b["text"]["text"] for b in payload if b["type"] == "section"] == sections


def test_status_answer_reads_a_together_learning_rate_and_a_missing_seed() -> None:
    """Together AI's absolute learning rate as a plain decimal (it read `1e-05`), and a
    finished job without a seed says it was not reported (not "not known yet")."""
    case = answer(
        "succeeded",
        backend="together",
        finished_at=EPOCH - 60,
        settings=JobSettings("supervised", 1, 128, None, 1e-05, None, None),
    )
    blocks, _ = status_answer_blocks(case)
    shown = json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)
    assert "learning rate 0.00001" in shown and "seed not reported" in shown
    assert "1e-05" not in shown and "seed not known yet" not in shown


def test_usage_says_no_zero_token_counts_beside_unknown_costs() -> None:
    """An adopted job has no estimate and one not trained yet no tokens: "(0 tokens)" beside
    "unknown" read as if it were known."""
    adopted = Tally(jobs=1, unestimated=1, trained_tokens=5, unpriced=1)
    assert figures(adopted) == "1 job · estimated unknown · actual unknown (5 trained tokens)"
