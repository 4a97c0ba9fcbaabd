"""A routine Together job's thread (issue 15): the report, the status message, the outcome, the
chart and the checkpoints, not one reply per event. Routine events fold into the status
message's timeline (each once); a warning is a reply naming its job; the next-step buttons
re-check the clicker as the commands do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from handlers import ids
from tests.e2e.conftest import Bot, wait_for
from tests.e2e.test_jobs import ephemerals, job_posts, ready
from tests.e2e.test_together_start import together_bot
from tests.e2e.test_watch import actions_in, settled, status_of
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether

pytestmark = pytest.mark.db

ROUTINE = (  # the newest eight: "Fine tune request created" came first, and is counted
    "Job started",
    "Training started",
    "New checkpoint saved at step 3",
    "New checkpoint saved at step 5",
    "Training completed",
    "Compressing output model",
    "Uploading output model",
    "Job finished",
)


@pytest.fixture
def bot(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> Iterator[Bot]:
    for user in ("U1", "UOWNER", "UOTHER"):
        slack.add_user(user)
    slack.add_channel("C1", members=["U1", "UOWNER", slack.bot_user_id])  # not UOTHER
    running = together_bot(slack, database_url, openai, together, poll=True, FTBOT_POLL_SECONDS=0.2)
    yield running
    running.stop()


def replies(bot: Bot, post: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in bot.slack.thread("C1", post["thread_ts"]) if m["ts"] != post["thread_ts"]]


def test_a_together_jobs_thread_is_quiet_and_complete(
    bot: Bot, together: FakeTogether, openai: FakeOpenAI
) -> None:
    ready(bot)
    bot.command("start latest backend=together suffix=sports", user="UOWNER")
    post = wait_for(lambda: job_posts(bot.slack), what="the job post")[0]
    job_id = next(iter(together.jobs))
    together.advance(job_id, status="running", total_steps=10)
    for step in range(1, 11):
        together.advance(job_id, step=step, total_steps=10, train_loss=2.0 / step,
                         valid_loss=2.2 / step if step % 5 == 0 else None,
                         checkpoint=step in (3, 5))  # fmt: skip
    together.add_event(job_id, "warning", "Learning rate may be too high", level="warning")
    together.complete(job_id, token_count=12_345)
    output = together.jobs[job_id]["model_output_name"]
    wait_for(lambda: settled(bot.services.engine, job_id), what="the poller done", timeout=30)
    thread = replies(bot, post)
    texts = [m.get("text") or "" for m in thread]
    # the report, the status message, the warning (naming its job), the outcome, the chart,
    # the checkpoints
    assert len(thread) == 6, texts
    assert thread[1]["ts"] == post["ts"]
    assert texts[2] == "⚠️ `sports`: Learning rate may be too high"
    outcome = thread[3]
    assert outcome["reply_broadcast"] and texts[3].startswith(f"✅ `drone.jsonl` → `{output}` · ")
    assert " · 12,345 tokens · " in texts[3] and texts[3].endswith(" · <@UOWNER>")
    assert thread[4].get("files") and ids.CHECKPOINT_CHOOSE in json.dumps(thread[5]["blocks"])
    final = json.dumps(status_of(bot, post)["blocks"], ensure_ascii=False)
    for routine in ROUTINE:
        assert final.count(routine) == 1, (routine, final)
        assert not any(routine in text for text in texts), routine
    # the last eight, after how many came before them
    assert "… and 1 earlier event" in final and "Fine tune request created" not in final
    assert "*✅ Succeeded*" in final and "(Together AI) on `drone.jsonl`" in final
    assert "supervised · LoRA · 1 epoch · batch size " in final and "suffix `sports`" in final
    assert "12,345 trained tokens · Together AI's quote: $" in final
    # Together has not priced the job (total_price 0): its quote, never "actual $0.00"
    assert "$0.00" not in final + "".join(texts) and "actual" not in final
    assert "learning rate 0.00001" in final and "1e-05" not in final  # no exponent
    assert [c for c in openai.calls if job_id in c.path] == []


def test_the_next_step_buttons_check_the_clicker(
    bot: Bot, together: FakeTogether, openai: FakeOpenAI
) -> None:
    ready(bot)
    bot.command("start latest backend=together", user="UOWNER")
    post = wait_for(lambda: job_posts(bot.slack), what="the job post")[0]
    job_id = next(iter(together.jobs))
    together.complete(job_id, token_count=100)
    wait_for(lambda: settled(bot.services.engine, job_id), what="the poller done", timeout=30)
    status = status_of(bot, post)
    assert actions_in(status) == [ids.JOB_TRY, ids.JOB_COMPARE, ids.JOB_CHECKPOINTS, ids.JOB_CHART]
    output = together.jobs[job_id]["model_output_name"]
    # someone outside the job's channel learns nothing, and nothing is sent to Together
    before = len(together.calls)
    bot.click(ids.JOB_CHECKPOINTS, job_id, user="UOTHER")
    bot.click(ids.JOB_CHART, job_id, user="UOTHER")
    wait_for(lambda: len(ephemerals(bot.slack)) == 2, what="two refusals")
    assert all("No job matches" in text for text in ephemerals(bot.slack)), ephemerals(bot.slack)
    assert len(together.calls) == before and len(bot.slack.uploaded_files) == 1
    # in the channel: the checkpoint choice, ephemerally; the chart, in the thread
    bot.click(ids.JOB_CHECKPOINTS, job_id, user="UOWNER")
    wait_for(lambda: len(ephemerals(bot.slack)) == 3, what="the checkpoints")
    last = bot.slack.calls_to("chat.postEphemeral")[-1].params
    # the final model is the only entry: current, so nothing to choose
    assert output in json.dumps(last.get("blocks")) and "current" in json.dumps(last.get("blocks"))
    bot.click(ids.JOB_CHART, job_id, user="UOWNER")
    wait_for(lambda: len(bot.slack.uploaded_files) == 2, what="the chart again")
    # Try it opens a prompt form; its answer comes from the model, to the asker only
    together.chat_responder = lambda body: f"answer from {body['model']}"
    bot.click(ids.JOB_TRY, output, user="UOWNER")
    (opened,) = wait_for(lambda: bot.slack.calls_to("views.open"), what="the Try it form")
    view = opened.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == ids.TRY_CALLBACK and output in json.dumps(view)
    status, ack = bot.submit(
        ids.TRY_CALLBACK,
        {"prompt": {"prompt_input": {"type": "plain_text_input", "value": "hello"}}},
        user="UOWNER",
        view_id=opened.response["view"]["id"],
        private_metadata=view["private_metadata"],
    )
    assert status == 200 and ack["response_action"] == "update"
    answer = wait_for(
        lambda: [
            c
            for c in bot.slack.calls_to("views.update")
            if f"answer from {output}" in json.dumps(c.params.get("view"))
        ],
        what="the answer in the form",
    )
    assert answer
