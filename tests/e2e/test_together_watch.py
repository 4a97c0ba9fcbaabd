"""A Together AI job adopted with `/finetune watch ft-…` and watched to the end (issue 13, first
slice): the registry sends every call about it to Together, the thread gets its status, events,
completion, loss chart and checkpoints, and `try` answers with its `model_output_name`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.backends.together import TogetherBackend
from handlers import ids
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_models import ask
from tests.e2e.test_watch import settled
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether

pytestmark = pytest.mark.db

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
LINE = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}'


@pytest.fixture
def watching(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> Iterator[Bot]:
    slack.add_user("UADMIN")
    bot = start_bot(
        slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2, FTBOT_ADMINS="UADMIN",
        TOGETHER_API_KEY="together-test-key", TOGETHER_BASE_URL=together.base_url,
    )  # fmt: skip
    yield bot
    bot.stop()


def started_elsewhere(together: FakeTogether) -> str:
    """A job created on Together directly (its dashboard or API), through the real SDK."""
    import together as sdk

    backend = TogetherBackend(sdk.Together(api_key="k", base_url=together.base_url))
    file_id = together.add_file(LINE + b"\n" * 1).id
    snapshot = backend.create_job(
        metadata={"ftbot_request": "elsewhere"},
        model=MODEL,
        training_file=file_id,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 1}}},
    )
    return snapshot.id


def thread_of(bot: Bot, root: dict[str, Any]) -> list[dict[str, Any]]:
    return bot.slack.thread("C1", root["ts"])


def test_a_together_job_is_adopted_watched_and_tried(
    watching: Bot, together: FakeTogether, openai: FakeOpenAI
) -> None:
    bot, slack = watching, watching.slack
    job_id = started_elsewhere(together)
    assert job_id.startswith("ft-")
    _, payload = bot.command(f"watch {job_id}", user="UADMIN")
    assert "Watching" in payload["text"], payload
    root = wait_for(
        lambda: [m for m in slack.messages("C1") if job_id in json.dumps(m.get("blocks") or [])],
        what="the adopted job's status message",
    )[0]
    together.advance(job_id, status="running", total_steps=10)
    for step in range(1, 11):
        together.advance(job_id, step=step, total_steps=10, train_loss=2.0 / step,
                         valid_loss=2.2 / step if step % 5 == 0 else None,
                         checkpoint=step == 5)  # fmt: skip
    together.complete(job_id, token_count=12_345)
    output = together.jobs[job_id]["model_output_name"]
    notice = wait_for(
        lambda: [m for m in thread_of(bot, root) if m.get("reply_broadcast")],
        what="the completion notice",
        timeout=30,
    )[0]
    assert "<@UADMIN>" in notice["text"] and output in notice["text"]
    wait_for(lambda: slack.uploaded_files, what="the loss chart", timeout=30)
    choice = wait_for(
        lambda: [
            m for m in thread_of(bot, root) if ids.CHECKPOINT_CHOOSE in json.dumps(m.get("blocks"))
        ],
        what="the checkpoint choice",
        timeout=30,
    )[0]
    assert output in json.dumps(choice["blocks"])
    listed = json.dumps(choice["blocks"], ensure_ascii=False)
    assert "*Step 5*" in listed and "validation loss 0.44" in listed  # Together's figures
    assert "*Final model* · step 10   ✅ current   ⭐ lowest validation loss" in listed
    assert slack.uploaded_files[0].title == f"Loss chart · {job_id}"  # adopted: no dataset
    # every call about this job went to Together, none to OpenAI
    assert [c for c in openai.calls if job_id in c.path] == []
    assert together.calls_to("GET", f"/v1/fine-tunes/{job_id}")
    # `status` reads it from Together; `try` answers with its model through Together's chat
    _, status = bot.command(f"status {job_id}", user="UADMIN")
    assert job_id in json.dumps(status) and "succeeded" in json.dumps(status)
    together.chat_responder = lambda body: f"answer from {body['model']}"
    answer = ask(bot, f"try {output} hello", user="UADMIN")
    assert f"answer from {output}" in answer["text"]
    assert output in together.chat_models_called()
    # choosing a checkpoint (Together names them <model_output_name>:<step>) makes it the
    # channel's default for `try`
    values = [
        e["value"]
        for b in choice["blocks"]
        for e in ([b["accessory"]] if b.get("accessory") else [])
        if e.get("action_id") == ids.CHECKPOINT_CHOOSE
    ]
    step = next(v for v in values if v != output)
    assert step.startswith(output + ":")
    bot.click(ids.CHECKPOINT_CHOOSE, step, user="UADMIN")
    wait_for(
        lambda: bot.services.inspector._models.get(output).chosen == step,  # type: ignore[union-attr]
        what="the checkpoint choice",
    )
    wait_for(  # the list in the thread, edited in place: its badge moved
        lambda: (
            "✅ current (chosen by <@UADMIN>)"
            in json.dumps(
                [m for m in thread_of(bot, root) if m["ts"] == choice["ts"]], ensure_ascii=False
            )
        ),
        what="the list edited",
    )
    answer = ask(bot, "try hello again", user="UADMIN")
    assert f"answer from {step}" in answer["text"]
    # a job the store knows is not adopted twice
    _, again = bot.command(f"watch {job_id}", user="UADMIN")
    assert "already watched" in again["text"]


def test_a_together_job_failing_between_its_read_and_its_events_gets_one_notice(
    watching: Bot, together: FakeTogether
) -> None:
    """The job fails right after a poll read it (still running, its answer without the events
    a retrieve usually carries) and before it listed its events: its `job_error` event is held
    back, then folds into the failure's outcome."""
    bot, slack = watching, watching.slack
    job_id = started_elsewhere(together)
    bot.command(f"watch {job_id}", user="UADMIN")
    root = wait_for(
        lambda: [m for m in slack.messages("C1") if job_id in json.dumps(m.get("blocks") or [])],
        what="the adopted job's status message",
    )[0]
    together.advance(job_id, status="running", total_steps=10)
    wait_for(
        lambda: (
            "Training" in json.dumps([m for m in slack.messages("C1") if m["ts"] == root["ts"]])
        ),
        what="running",
    )
    error = "Training crashed: CUDA out of memory"
    path = f"/v1/fine-tunes/{job_id}"
    running = json.loads(json.dumps(together.truncated(together.jobs[job_id])))
    together.fail_next("GET", path, status=200, body=running, exact=True)
    together.after_answer("GET", path, lambda: together.fail(job_id, error))
    notice = wait_for(
        lambda: [m for m in thread_of(bot, root) if m.get("reply_broadcast")],
        what="the failure notice",
        timeout=30,
    )[0]
    assert error in notice["text"]
    wait_for(lambda: settled(bot.services.engine, job_id), what="the poller done with the job")
    replies = [m for m in thread_of(bot, root) if m["ts"] != root["ts"]]
    assert sum(error in (m.get("text") or "") for m in replies) == 1, replies
