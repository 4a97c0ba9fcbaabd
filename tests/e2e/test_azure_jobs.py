"""Jobs on Azure OpenAI end to end (issue 14, point 1): `start … backend=azure` uploads once to
the Azure-mode fake (`/openai/...`, `api-version`, `api-key`), posts the job in the dataset's
thread with the price unknown (never invented), edits one status message, posts each event once,
the completion notice, loss chart and checkpoint choice; pause/resume work; cancel is gated; a
job started elsewhere on Azure is adopted when OpenAI does not know its `ftjob-` id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from openai import AzureOpenAI

from bot.backends.azure import AzureBackend
from handlers import ids
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_jobs import job_posts, ready
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack

pytestmark = pytest.mark.db

VERSION = "2025-04-01-preview"
MODEL = "gpt-4o-mini-2024-07-18"
JOBS = "/openai/fine_tuning/jobs"


@pytest.fixture
def azure() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(azure=True) as fake:
        yield fake
        assert not fake.errors, fake.errors


def azure_settings(azure: FakeOpenAI) -> dict[str, Any]:
    return {
        "AZURE_OPENAI_API_KEY": "azure-test-key",
        "AZURE_OPENAI_ENDPOINT": azure.azure_endpoint,
        "OPENAI_API_VERSION": VERSION,
    }


@pytest.fixture
def bot(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, azure: FakeOpenAI
) -> Iterator[Bot]:
    slack.add_user("UADMIN")
    running = start_bot(
        slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2, FTBOT_ADMINS="UADMIN",
        **azure_settings(azure),
    )  # fmt: skip
    yield running
    running.stop()


def creates(azure: FakeOpenAI) -> list[Any]:
    return [c for c in azure.calls_to("POST", JOBS) if c.status == 200]


def thread(bot: Bot, ts: str) -> list[dict[str, Any]]:
    return bot.slack.thread("C1", ts)


def test_start_on_azure_watch_pause_resume_and_finish(
    bot: Bot, azure: FakeOpenAI, openai: FakeOpenAI
) -> None:
    slack = bot.slack
    file = ready(bot)
    status, payload = bot.command(f"start {file['id']} backend=azure epochs=2", user="U5")
    assert status == 200, payload
    assert "on Azure OpenAI" in payload["text"] and "price unknown" in payload["text"], payload
    assert "$" not in payload["text"]
    post = wait_for(lambda: job_posts(slack), what="the job post")[0]
    (call,) = creates(azure)
    assert call.json is not None and call.json["model"] == MODEL
    assert "metadata" not in call.json and call.json["suffix"].startswith("ftb")
    assert call.query["api-version"] == VERSION and call.headers["api-key"] == "azure-test-key"
    job_id = next(iter(azure.jobs))
    assert post["thread_ts"] == file["shares"]["public"]["C1"][0]["ts"]
    assert "<@U5>" in post["text"] and "$" not in post["text"], post["text"]
    assert f'"value": "{job_id}"' in json.dumps(post["blocks"])
    # nothing went to OpenAI: no upload, no job
    assert openai.calls_to("POST", "/v1/files") == [] and openai.jobs == {}
    # the same dataset again: a second job, no second upload to Azure
    bot.command(f"start {file['id']} backend=azure", user="U5")
    wait_for(lambda: len(creates(azure)) == 2, what="the second job")
    assert len(azure.calls_to("POST", "/openai/files")) == 1
    second = next(j for j in azure.jobs if j != job_id)
    # the bot knows the job by its id once it has recorded it (its post follows that)
    wait_for(lambda: len(job_posts(bot.slack)) == 2, what="the second job's post")
    # cancel is gated: not by another user; by the owner once
    _, refused = bot.command(f"cancel {second}", user="U6")
    assert "can't" in refused["text"], refused
    assert azure.calls_to("POST", f"{JOBS}/{second}/cancel") == []
    _, done = bot.command(f"cancel {second}", user="U5")
    assert done["text"].startswith(f"Cancelling `{second}`"), done
    assert azure.jobs[second]["status"] == "cancelled"
    # pause and resume reach Azure
    azure.advance_job(job_id, status="running", step=1, total_steps=10, train_loss=1.5)
    wait_for(
        lambda: [c for c in slack.calls_to("chat.update") if c.params.get("ts") == post["ts"]],
        what="the status message edited",
    )
    _, paused = bot.command(f"pause {job_id}", user="U5")
    assert azure.jobs[job_id]["status"] == "paused", paused
    _, resumed = bot.command(f"resume {job_id}", user="U5")
    assert azure.jobs[job_id]["status"] == "queued", resumed
    assert len(azure.calls_to("POST", f"{JOBS}/{job_id}/pause")) == 1
    assert len(azure.calls_to("POST", f"{JOBS}/{job_id}/resume")) == 1
    # training to the end: events once each, the notice, the loss chart, the checkpoints
    azure.advance_job(job_id, status="running")
    for step in range(2, 11):
        azure.advance_job(job_id, step=step, total_steps=10, train_loss=2.0 / step)
        if step in (5, 10):
            azure.add_checkpoint(job_id, step, {"train_loss": 2.0 / step})
    azure.succeed(job_id, trained_tokens=4321)
    final = azure.jobs[job_id]["fine_tuned_model"]
    assert final.startswith(f"{MODEL}.ft-")
    root = post["thread_ts"]
    notice = wait_for(
        lambda: [m for m in thread(bot, root) if m.get("reply_broadcast") and final in m["text"]],
        what="the completion notice",
        timeout=30,
    )[0]
    assert "<@U5>" in notice["text"], notice["text"]
    wait_for(lambda: slack.uploaded_files, what="the loss chart", timeout=30)
    choice = wait_for(
        lambda: [m for m in thread(bot, root) if ids.CHECKPOINT_CHOOSE in json.dumps(m["blocks"])],
        what="the checkpoint choice",
        timeout=30,
    )[0]
    assert final in json.dumps(choice["blocks"]) and ":ckpt-step-5" in json.dumps(choice["blocks"])
    assert "✅ current" in json.dumps(choice["blocks"], ensure_ascii=False)
    assert slack.uploaded_files[0].title.startswith("Loss chart · ")
    assert "job:" not in slack.uploaded_files[0].title
    texts = [m.get("text") or "" for m in thread(bot, root)]
    assert len([t for t in texts if final in t and "<@U5>" in t]) == 1
    # status: the settings Azure used, the tokens, and no provider page (Azure has no stable one)
    _, answer = bot.command(f"status {job_id}", user="U6")
    shown = json.dumps(answer["blocks"], ensure_ascii=False)
    assert "· Azure OpenAI ·" in shown and "✅ succeeded" in shown and "2 epochs" in shown
    assert "trained tokens 4,321" in shown and "Open on" not in shown
    # Azure's rates are not OpenAI's and none is published: never an invented or $0.00 cost
    assert "actual unknown" in shown and "$" not in notice["text"]
    status = json.dumps(
        next(m for m in slack.messages("C1") if m["ts"] == post["ts"])["blocks"], ensure_ascii=False
    )
    assert "4,321 trained tokens · price unknown" in status and "actual" not in status
    # every call about the job went to Azure, none to OpenAI
    assert [c for c in openai.calls if job_id in c.path] == []


def test_an_azure_job_started_elsewhere_is_adopted(
    bot: Bot, azure: FakeOpenAI, openai: FakeOpenAI
) -> None:
    client = AzureOpenAI(
        api_key="k", azure_endpoint=azure.azure_endpoint, api_version=VERSION, max_retries=0
    )
    elsewhere = AzureBackend(client)
    file_id = azure.add_file(b'{"messages": []}\n', purpose="fine-tune")["id"]
    job = elsewhere.create_job(metadata={}, model=MODEL, training_file=file_id)
    assert job.id.startswith("ftjob-")
    _, payload = bot.command(f"watch {job.id}", user="UADMIN")
    assert "Watching" in payload["text"], payload
    # OpenAI was asked first (the id has OpenAI's shape) and did not know it; Azure did
    assert openai.calls_to("GET", f"/v1/fine_tuning/jobs/{job.id}")
    assert azure.calls_to("GET", f"{JOBS}/{job.id}")
    wait_for(
        lambda: [m for m in bot.slack.messages("C1") if job.id in json.dumps(m.get("blocks"))],
        what="the adopted job's status message",
    )
    _, again = bot.command(f"watch {job.id}", user="UADMIN")
    assert "already watched" in again["text"]
