"""Watching jobs: one edited status message, each event once, completion, chart, checkpoints."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, text

from handlers import ids
from tests.e2e.conftest import Bot, wait_for
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


def assert_folded(slack: FakeSlack, thread_ts: str, status_ts: str, events: Any) -> None:
    """Each routine event once in the job's status message (its timeline), none as a reply."""
    status = next(m for m in slack.messages("C1") if m["ts"] == status_ts)
    final = json.dumps(status.get("blocks"), ensure_ascii=False)
    others = [
        m.get("text") or ""
        for m in slack.thread("C1", thread_ts)
        if m["ts"] not in (thread_ts, status_ts)
    ]
    for event in events:
        assert final.count(event) == 1, (event, final)
        assert not any(event in text for text in others), (event, others)


def in_status(slack: FakeSlack, status_ts: str, text: str) -> bool:
    """`text` is in the job's status message (e.g. an event in its timeline)."""
    status = next((m for m in slack.messages("C1") if m["ts"] == status_ts), {})
    return text in json.dumps(status.get("blocks"), ensure_ascii=False)


def status_of(bot: Bot, post: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in bot.slack.messages("C1") if m["ts"] == post["ts"])


def actions_in(message: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def test_a_job_from_start_to_success(watching: Bot, openai: FakeOpenAI) -> None:
    bot = watching
    job_id, post = run_job(bot, openai)
    notice = wait_for(
        lambda: [m for m in thread(bot, post) if m.get("reply_broadcast")], what="completion notice"
    )[0]
    model = openai.jobs[job_id]["fine_tuned_model"]
    # the outcome leads with the dataset and the result, and mentions the owner
    assert notice["text"].startswith(f"✅ `drone.jsonl` → `{model}` · ")
    assert " · 173,148 tokens · $0.52 · validation loss 0.11 · <@UOWNER>" in notice["text"]
    assert actions_in(notice) == [ids.JOB_TRY, ids.JOB_COMPARE, ids.JOB_CHECKPOINTS]
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
    # all it will ever post: the report, the status message, the outcome, the chart and the
    # checkpoints; not one reply per event
    replies = thread(bot, post)
    assert len(replies) == 5, texts(replies)
    assert replies[0]["text"].startswith("✅ Ready to train") and replies[1]["ts"] == post["ts"]
    assert [bool(m.get("reply_broadcast")) for m in replies] == [False, False, True, False, False]
    assert replies[3].get("files") and replies[4]["ts"] == choice["ts"]
    # every event is in the status message's timeline, once; metrics feed its figures
    status = status_of(bot, post)
    assert status["edit_count"] >= 2
    final = json.dumps(status["blocks"], ensure_ascii=False)
    for message in MESSAGES:
        assert final.count(message) == 1, (message, final)
        assert not any(message in text for text in texts(replies)), message
    assert "Step " not in final
    # the final status message: state, settings used, figures, tokens and cost, times
    assert "*✅ Succeeded*" in final and "100% (20/20 steps)" in final
    assert "supervised · 3 epochs · batch size 1 · learning rate × 1.8 · seed " in final
    assert f"Model `{model}`" in final and "validation loss 0.11" in final
    assert "173,148 trained tokens · estimated $" in final and "actual $0.52" in final
    assert "Started <!date^" in final and " · finished <!date^" in final
    assert actions_in(status) == [ids.JOB_TRY, ids.JOB_COMPARE, ids.JOB_CHECKPOINTS, ids.JOB_CHART]
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


def test_a_failed_job_gets_one_notice_and_a_final_status(watching: Bot, openai: FakeOpenAI) -> None:
    bot = watching
    ready(bot)
    bot.command("start latest suffix=acc", user="UOWNER")
    post = wait_for(lambda: job_posts(bot.slack), what="job post")[0]
    job_id = next(iter(openai.jobs))
    openai.fail(
        job_id, "invalid_n_examples", "Training file has 3 example(s), but must have at least 10"
    )
    notice = wait_for(
        lambda: [m for m in thread(bot, post) if m.get("reply_broadcast")], what="failure notice"
    )[0]
    assert notice["text"].startswith("❌ `drone.jsonl` → `acc` failed")
    assert "<@UOWNER>: Training file has 3 example(s), but must have at least 10" in notice["text"]
    assert "What to do: add examples (at least 10) and start again." in notice["text"]
    wait_for(lambda: settled(bot.services.engine, job_id), what="the poller done with the job")
    replies = thread(bot, post)
    # the report, the status message, the outcome: the error event is not a second reply
    assert len(replies) == 3, texts(replies)
    assert sum(bool(m.get("reply_broadcast")) for m in replies) == 1
    final = json.dumps(status_of(bot, post)["blocks"], ensure_ascii=False)
    assert "*❌ Failed*" in final and "(`invalid_n_examples`)" in final
    assert "*What to do:* add examples (at least 10) and start again." in final
    assert "supervised · 3 epochs · seed " in final and " · suffix `acc`" in final
    assert "Estimated $" in final
    assert " · ended <!date^" in final
    # no Cancel left, nothing to try: the start form for the same dataset, one click away
    assert actions_in(status_of(bot, post)) == [ids.DATASET_START]


def test_a_job_failing_between_its_read_and_its_events_gets_one_notice(
    watching: Bot, openai: FakeOpenAI
) -> None:
    """The job fails right after a poll read it (still running) and before it listed its
    events: the error event is held back, then folds into the failure's outcome."""
    bot = watching
    ready(bot)
    bot.command("start latest", user="UOWNER")
    post = wait_for(lambda: job_posts(bot.slack), what="job post")[0]
    job_id = next(iter(openai.jobs))
    openai.advance_job(job_id, status="running")
    wait_for(lambda: "Training" in (status_of(bot, post).get("text") or ""), what="running")
    error = "The job failed due to an internal error"
    openai.after_answer(
        "GET", f"/v1/fine_tuning/jobs/{job_id}", lambda: openai.fail(job_id, "server", error)
    )
    wait_for(lambda: settled(bot.services.engine, job_id), what="the poller done with the job")
    replies = thread(bot, post)
    assert len(replies) == 3, texts(replies)  # the report, the status message, the outcome
    assert sum(error in text for text in texts(replies)) == 1, texts(replies)
    assert replies[-1].get("reply_broadcast")


def test_an_error_while_the_job_runs_is_a_reply_a_poll_later(
    watching: Bot, openai: FakeOpenAI
) -> None:
    bot = watching
    ready(bot)
    bot.command("start latest", user="UOWNER")
    post = wait_for(lambda: job_posts(bot.slack), what="job post")[0]
    job_id = next(iter(openai.jobs))
    openai.advance_job(job_id, status="running")
    wait_for(lambda: "Training" in (status_of(bot, post).get("text") or ""), what="running")
    openai.add_event(job_id, "GPU lost, resuming from the last checkpoint", level="error")
    label = job_id[:14]
    reply = wait_for(
        lambda: [m for m in thread(bot, post) if m["text"].startswith(f"❌ `{label}`")],
        what="the error reply",
    )
    assert reply[0]["text"] == f"❌ `{label}`: GPU lost, resuming from the last checkpoint"
    openai.advance_job(job_id, status="succeeded")
    wait_for(lambda: settled(bot.services.engine, job_id), what="the poller done with the job")
    assert sum("GPU lost" in text for text in texts(thread(bot, post))) == 1


def test_a_cancel_is_one_line_in_the_thread(watching: Bot, openai: FakeOpenAI) -> None:
    bot = watching
    ready(bot)
    bot.command("start latest", user="UOWNER")
    post = wait_for(lambda: job_posts(bot.slack), what="job post")[0]
    job_id = next(iter(openai.jobs))
    openai.advance_job(job_id, status="running")
    wait_for(lambda: "Training" in (status_of(bot, post).get("text") or ""), what="running")
    before = len(thread(bot, post))
    posts_before = len(bot.slack.calls_to("chat.postMessage"))
    assert bot.click(ids.JOB_CANCEL, job_id, user="UADMIN") == 200
    wait_for(lambda: settled(bot.services.engine, job_id), what="the poller done with the job")
    replies = thread(bot, post)
    # one line in the thread, not broadcast; the status message edited in place
    assert len(replies) == before + 1, texts(replies)
    (line,) = replies[before:]
    label = job_id[:14]  # `ftjob-` and 8 characters
    assert line["text"] == f"⏹ `{label}` cancelled by <@UADMIN>." and not line.get(
        "reply_broadcast"
    )
    assert len(bot.slack.calls_to("chat.postMessage")) == posts_before + 1
    status = status_of(bot, post)
    assert "*⏹ Cancelled by <@UADMIN>*" in status["text"]
    assert actions_in(status) == [ids.DATASET_START]  # start again, not Cancel
    # the final status message after a cancel: settings, the estimate (no actual), times
    final = json.dumps(status["blocks"], ensure_ascii=False)
    assert "supervised · 3 epochs · batch size 1 · learning rate × 1.8 · seed " in final
    assert "Estimated $0.52" in final and "actual" not in final
    assert "Started <!date^" in final and " · ended <!date^" in final
    assert "Fine-tuning job started" in final  # its timeline
    # the clicker reads that it is under way, not the thread's line again
    (told,) = [c.params["text"] for c in bot.slack.calls_to("chat.postEphemeral")]
    assert told.startswith(f"Cancelling `{job_id}`") and "cancelled by" not in told


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
    # its events fold into its status message (the root of its thread), not one reply each
    wait_for(
        lambda: "Fine-tuning job started" in json.dumps(status_of(bot, root)["blocks"]),
        what="event in the adopted job's status message",
    )
    assert "Adopted by <@UADMIN>" not in json.dumps(status_of(bot, root)["blocks"])  # edited
    assert [m["ts"] for m in bot.slack.thread("C1", root["ts"])] == [root["ts"]]
