"""Watching jobs: one edited status message, each event once, completion, chart, checkpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from handlers import ids
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_jobs import job_posts, ready
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack

pytestmark = pytest.mark.db

MESSAGES = [
    "Files validated, moving job to queued state",
    "Fine-tuning job started",
    "Checkpoint created at step 10",
    "Checkpoint created at step 20",
    "New fine-tuned model created",
    "The job has successfully completed",
]


@pytest.fixture
def watching(slack: FakeSlack, database_url: str, openai: FakeOpenAI) -> Iterator[Bot]:
    slack.add_user("UADMIN")
    bot = start_bot(
        slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2, FTBOT_ADMINS="UADMIN"
    )
    yield bot
    bot.stop()


def thread(bot: Bot, job_post: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        m for m in bot.slack.thread("C1", job_post["thread_ts"]) if m["ts"] != job_post["thread_ts"]
    ]


def checkpoint_list(bot: Bot, job_post: dict[str, Any]) -> dict[str, Any] | None:
    """The job's checkpoint list in its thread (as last edited), if it is there."""
    return next(
        (m for m in thread(bot, job_post) if ids.CHECKPOINT_CHOOSE in json.dumps(m.get("blocks"))),
        None,
    )


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m.get("text") or "" for m in messages]


def settled(engine: Engine, remote_id: str) -> bool:
    """The poller is done with the job: every notice recorded as sent, and the job finished in
    the store (a finished job is never polled again, so nothing more can be posted for it)."""
    with engine.connect() as connection:
        job = connection.execute(
            text("select id, state from jobs where remote_id = :job"), {"job": remote_id}
        ).first()
        if job is None or job.state != "finished":
            return False
        unsent = connection.execute(
            text("select count(*) from notifications where job_id = :id and status != 'sent'"),
            {"id": job.id},
        ).scalar_one()
    return unsent == 0


def run_job(bot: Bot, openai: FakeOpenAI, *, steps: int = 20) -> tuple[str, dict[str, Any]]:
    ready(bot)
    bot.command("start latest", user="UOWNER")
    post = wait_for(lambda: job_posts(bot.slack), what="job post")[0]
    job_id = next(iter(openai.jobs))
    openai.advance_job(job_id, status="queued")
    openai.advance_job(job_id, status="running")
    for step in range(1, steps + 1):
        openai.advance_job(
            job_id,
            step=step,
            total_steps=steps,
            train_loss=2.0 / step,
            train_acc=0.5 + step / (3 * steps),
            valid_loss=2.2 / step if step % 5 == 0 else None,
            valid_acc=0.45 + step / (3 * steps) if step % 5 == 0 else None,
        )
        if step in (10, 20):
            openai.add_checkpoint(
                job_id, step, {"valid_loss": 2.2 / step, "valid_mean_token_accuracy": 0.7}
            )
        if step == 12:  # let a poll see the job half-way
            wait_for(lambda: "60%" in json.dumps(bot.slack.messages("C1")), what="progress edit")
    openai.succeed(job_id, trained_tokens=173_148)
    return job_id, post


def test_a_job_from_start_to_success(watching: Bot, openai: FakeOpenAI) -> None:
    bot = watching
    job_id, post = run_job(bot, openai)
    notice = wait_for(
        lambda: [m for m in thread(bot, post) if m.get("reply_broadcast")], what="completion notice"
    )[0]
    model = openai.jobs[job_id]["fine_tuned_model"]
    assert model in notice["text"] and "<@UOWNER>" in notice["text"] and "173,148" in notice["text"]
    assert "Actual cost: $0.52" in notice["text"]  # 173,148 × $3 / 1M
    wait_for(lambda: bot.slack.uploaded_files, what="chart upload")
    choice = wait_for(
        lambda: [
            m
            for m in thread(bot, post)
            if ids.CHECKPOINT_CHOOSE in json.dumps(m.get("blocks") or [])
        ],
        what="checkpoint choice",
    )[0]
    wait_for(lambda: settled(bot.services.engine, job_id), what="the poller done with the job")
    replies = texts(thread(bot, post))  # all it will ever post: nothing twice
    for message in MESSAGES:
        assert sum(message in text for text in replies) == 1, (message, replies)
    assert not any(text.startswith("• Step") for text in replies)  # metrics feed the status
    assert sum(bool(m.get("reply_broadcast")) for m in thread(bot, post)) == 1
    # one status message, edited in place
    status = next(m for m in bot.slack.messages("C1") if m["ts"] == post["ts"])
    assert status["edit_count"] >= 2
    final = json.dumps(status["blocks"])
    assert "succeeded" in final and "100%" in final and "20/20 steps" in final
    assert ids.JOB_CANCEL not in final
    # the chart is a PNG in the thread
    (upload,) = bot.slack.uploaded_files
    assert upload.content.startswith(b"\x89PNG") and upload.thread_ts == post["thread_ts"]
    # checkpoint buttons: step 10 and step 20; the final model is current (no button)
    values = [
        b["accessory"]["value"]
        for b in choice["blocks"]
        if b.get("accessory", {}).get("action_id") == ids.CHECKPOINT_CHOOSE
    ]
    assert values == [f"{model}:ckpt-step-10", f"{model}:ckpt-step-20"]
    final_row = next(b for b in choice["blocks"] if "*Final model*" in json.dumps(b))
    assert "✅ current" in final_row["text"]["text"] and "accessory" not in final_row


def test_checkpoint_choice_is_for_the_owner_or_an_admin(watching: Bot, openai: FakeOpenAI) -> None:
    bot = watching
    job_id, post = run_job(bot, openai, steps=10)
    wait_for(
        lambda: [
            m
            for m in thread(bot, post)
            if ids.CHECKPOINT_CHOOSE in json.dumps(m.get("blocks") or [])
        ],
        what="checkpoint choice",
    )
    model = openai.jobs[job_id]["fine_tuned_model"]
    checkpoint = f"{model}:ckpt-step-10"
    bot.click(ids.CHECKPOINT_CHOOSE, checkpoint, user="UOTHER")
    wait_for(lambda: bot.slack.calls_to("chat.postEphemeral"), what="refusal")
    assert "only its owner" in bot.slack.calls_to("chat.postEphemeral")[0].params["text"]
    assert bot.services.inspector._models.get(model).chosen is None
    bot.click(ids.CHECKPOINT_CHOOSE, checkpoint, user="UADMIN")
    wait_for(lambda: bot.services.inspector._models.get(model).chosen == checkpoint, what="choice")
    wait_for(  # the list itself says so: its badge moved, with who chose it
        lambda: "chosen by <@UADMIN>" in json.dumps(checkpoint_list(bot, post)),
        what="the list edited",
    )


def test_status_events_checkpoints_and_chart_commands(watching: Bot, openai: FakeOpenAI) -> None:
    bot = watching
    job_id, _ = run_job(bot, openai, steps=10)
    wait_for(lambda: bot.slack.uploaded_files, what="chart upload")
    _, payload = bot.command(f"status {job_id[:10]}")
    assert "succeeded" in json.dumps(payload) and "<@UOWNER>" in json.dumps(payload)
    _, payload = bot.command(f"events {job_id} 3")
    assert "successfully completed" in json.dumps(payload)
    _, payload = bot.command(f"checkpoints {job_id}")
    assert ids.CHECKPOINT_CHOOSE in json.dumps(payload)
    _, payload = bot.command(f"chart {job_id}")
    assert "Posted the loss chart" in payload["text"]
    assert len(bot.slack.uploaded_files) == 2


def test_failed_and_cancelled_jobs_get_one_notice(watching: Bot, openai: FakeOpenAI) -> None:
    bot = watching
    ready(bot)
    bot.command("start latest", user="UOWNER")
    post = wait_for(lambda: job_posts(bot.slack), what="job post")[0]
    job_id = next(iter(openai.jobs))
    openai.fail(
        job_id, "invalid_n_examples", "Training file has 3 example(s), but must have at least 10"
    )
    notice = wait_for(
        lambda: [m for m in thread(bot, post) if m.get("reply_broadcast")], what="failure notice"
    )[0]
    assert "failed" in notice["text"] and "at least 10" in notice["text"]
    assert "What to do" in notice["text"]
    wait_for(lambda: settled(bot.services.engine, job_id), what="the poller done with the job")
    assert sum(bool(m.get("reply_broadcast")) for m in thread(bot, post)) == 1


def test_watch_adopts_a_job_started_elsewhere(watching: Bot, openai: FakeOpenAI) -> None:
    bot = watching
    stored = openai.add_file(b'{"messages": []}\n', "x.jsonl", "fine-tune")
    file_id = stored["id"] if isinstance(stored, dict) else stored.id
    job = openai.new_job({"model": "gpt-4o-mini-2024-07-18", "training_file": file_id})
    _, payload = bot.command(f"watch {job['id']}", user="UOTHER")
    assert "only an admin" in payload["text"]
    _, payload = bot.command(f"watch {job['id']}", user="UADMIN")
    assert "Watching" in payload["text"]
    openai.advance_job(job["id"], status="running")
    root = wait_for(
        lambda: [
            m
            for m in bot.slack.messages("C1")
            if job["id"] in (m.get("text") or "") and not m.get("thread_ts")
        ],
        what="status message",
    )[0]
    wait_for(
        lambda: any(
            "Fine-tuning job started" in (m.get("text") or "")
            for m in bot.slack.thread("C1", root["ts"])
        ),
        what="event in the adopted thread",
    )
