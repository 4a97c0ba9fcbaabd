"""Bad answers from Together while a job is watched (issue 13, points 5–6): 429 with its retry
header, 500s and 401s. The SDK retries and the watcher keeps going; the user reads at most one
clear line (a refused key), never a traceback; nothing is posted twice; the job completes once
the faults stop. Commands about a Together job while Together fails answer one line each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from handlers import ids
from tests.e2e.conftest import SECRET, Bot, start_bot, wait_for
from tests.e2e.test_together_watch import started_elsewhere
from tests.e2e.test_watch import assert_folded, in_status, settled, texts
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether
from tests.fakes.foreign_host import RecordingHost
from tests.fakes.signing import command_request

pytestmark = pytest.mark.db

# What Together says about a job that runs 10 steps, saves a checkpoint at 5 and completes.
TOGETHER_EVENTS = [
    "Fine tune request created",
    "Job started",
    "Training started",
    "New checkpoint saved at step 5",
    "Training completed",
    "Compressing output model",
    "Uploading output model",
    "Job finished",  # "Job finished. Model output: …", made compact
]
REFUSED = "Together AI refused our API key"


def together_bot(
    slack: FakeSlack, url: str, openai: FakeOpenAI, together: FakeTogether, **kw: Any
) -> Bot:
    slack.add_user("UADMIN")
    return start_bot(
        slack, url, openai, FTBOT_ADMINS="UADMIN", TOGETHER_API_KEY="together-test-key",
        TOGETHER_BASE_URL=together.base_url, **kw,
    )  # fmt: skip


@pytest.fixture
def watching(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> Iterator[Bot]:
    bot = together_bot(slack, database_url, openai, together, poll=True, FTBOT_POLL_SECONDS=0.2)
    yield bot
    bot.stop()


def adopt(bot: Bot, job_id: str) -> dict[str, Any]:
    """`/finetune watch <job>` by an admin; returns the status message (the thread root)."""
    _, payload = bot.command(f"watch {job_id}", user="UADMIN")
    assert "Watching" in payload["text"], payload
    return wait_for(
        lambda: [m for m in bot.slack.messages("C1") if job_id in json.dumps(m.get("blocks"))],
        what="the adopted job's status message",
    )[0]


def replies(slack: FakeSlack, root: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in slack.thread("C1", root["ts"]) if m["ts"] != root["ts"]]


def faults_seen(together: FakeTogether, status: int) -> int:
    return sum(1 for c in together.calls if c.status == status)


def assert_each_once(slack: FakeSlack, root: dict[str, Any]) -> None:
    """Each of Together's events, the completion, the chart and the checkpoints: once."""
    thread = replies(slack, root)
    assert_folded(slack, root["ts"], root["ts"], TOGETHER_EVENTS)
    assert sum(bool(m.get("reply_broadcast")) for m in thread) == 1
    assert sum(ids.CHECKPOINT_CHOOSE in json.dumps(m.get("blocks") or []) for m in thread) == 1
    assert len(slack.uploaded_files) == 1
    everything = json.dumps([c.params for c in slack.calls])
    assert "Traceback" not in everything and "together." not in everything.lower()


def finish(bot: Bot, together: FakeTogether, job_id: str, root: dict[str, Any]) -> None:
    for step in range(6, 11):
        together.advance(job_id, step=step, total_steps=10, train_loss=2.0 / step)
    together.complete(job_id, token_count=12_345)
    wait_for(
        lambda: any(ids.CHECKPOINT_CHOOSE in json.dumps(m.get("blocks")) for m in replies(bot.slack, root)),
        what="the checkpoint choice (the last notice)",
        timeout=60,
    )  # fmt: skip
    wait_for(lambda: settled(bot.services.engine, job_id), what="the poller done with the job")


def test_429_500_and_401_while_watching(watching: Bot, together: FakeTogether) -> None:
    bot, slack = watching, watching.slack
    job_id = started_elsewhere(together)
    root = adopt(bot, job_id)
    together.advance(job_id, status="running", total_steps=10)
    for step in range(1, 6):
        together.advance(
            job_id, step=step, total_steps=10, train_loss=2.0 / step, checkpoint=step == 5
        )
    wait_for(
        lambda: in_status(slack, root["ts"], "checkpoint saved at step 5"),
        what="the events before the faults",
    )  # fmt: skip
    # 429 with its retry header: the SDK waits as told and asks again (three in a row: a poll
    # gives up, the next one goes on)
    together.fail_next("GET", f"/v1/fine-tunes/{job_id}", status=429, retry_after=1, times=3)
    wait_for(lambda: faults_seen(together, 429) == 3, what="the 429s", timeout=30)
    limited = [c for c in together.calls if c.status == 429]
    assert limited[1].time - limited[0].time >= 0.9  # the retry header was honoured
    # 500s: retried with backoff, then polled again
    together.fail_next("GET", f"/v1/fine-tunes/{job_id}", status=500, times=4)
    wait_for(lambda: faults_seen(together, 500) == 4, what="the 500s", timeout=30)
    # 401: not retried (a refused key does not heal by asking again); one line says so
    together.fail_next(
        "GET", f"/v1/fine-tunes/{job_id}", status=401, times=4,
        body={"error": {"message": "Invalid API key provided", "type": "invalid_request_error",
                        "param": None, "code": "invalid_api_key"}},
    )  # fmt: skip
    wait_for(lambda: faults_seen(together, 401) == 4, what="the 401s", timeout=30)
    refused = wait_for(
        lambda: [t for t in texts(replies(slack, root)) if REFUSED in t],
        what="the line about the refused key",
    )
    assert "TOGETHER_API_KEY" in refused[0] and len(refused[0].splitlines()) == 1
    finish(bot, together, job_id, root)
    assert_each_once(slack, root)
    assert sum(REFUSED in t for t in texts(replies(slack, root))) == 1
    status_edits = [c for c in slack.calls_to("chat.update") if c.params.get("ts") == root["ts"]]
    assert status_edits and "Succeeded" in json.dumps(status_edits[-1].params, ensure_ascii=False)


@pytest.fixture
def idle(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> Iterator[Bot]:
    """A bot whose poller runs only when the test calls `poll_once`."""
    bot = together_bot(slack, database_url, openai, together)
    yield bot
    bot.stop()


def answer(bot: Bot, text: str) -> str:
    """The final answer to a command (after "Working on it…", through its response_url)."""
    bot.slack.ensure_user("UADMIN")
    with RecordingHost() as hooks:
        body, headers = command_request(
            text=text, secret=SECRET, user_id="UADMIN", response_url=hooks.url("/commands/T1/1/x")
        )
        status, payload = bot.send(body, headers)
        assert status == 200
        first = json.loads(payload)
        if "Working on it" not in first["text"]:
            return json.dumps(first)
        request = wait_for(lambda: hooks.requests, what=f"the answer to {text}", timeout=30)[0]
        return json.dumps(json.loads(request.body))


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (500, "Together AI did not answer properly (HTTP 500)"),
        (429, "Together AI is rate-limiting us right now"),
        (401, "Together AI refused our API key (TOGETHER_API_KEY)"),
    ],
)
def test_commands_about_a_together_job_while_together_fails_answer_one_line(
    idle: Bot, together: FakeTogether, status: int, says: str
) -> None:
    job_id = started_elsewhere(together)
    together.add_checkpoint(job_id, 5)
    adopt(idle, job_id)
    together.fail_next("*", f"/v1/fine-tunes/{job_id}", status=status, retry_after=0, times=10_000)
    for command in ("status", "checkpoints", "events"):
        before = len(together.calls)
        said = answer(idle, f"{command} {job_id}")
        assert says in said, (command, said)
        text = json.loads(said)["text"]
        assert len(text.splitlines()) == 1 and "Traceback" not in said, said
        assert any(c.status == status for c in together.calls[before:]), command  # it asked


def test_a_rate_limited_backend_rests_for_the_rest_of_the_cycle(
    idle: Bot, together: FakeTogether
) -> None:
    jobs = [started_elsewhere(together) for _ in range(3)]
    for job_id in jobs:
        adopt(idle, job_id)
    watcher = idle.services.watcher
    watcher._concurrency = 1  # one job after the other, so the order is known
    assert watcher.poll_once().failed == 0
    together.fail_next("GET", "/v1/fine-tunes/", status=429, retry_after="0.1", times=3)
    before = len(together.calls)
    stats = watcher.poll_once()
    assert (stats.jobs, stats.failed) == (3, 3)
    asked = together.calls[before:]
    assert [c.status for c in asked] == [429, 429, 429]  # one job's retries, then nothing
    stats = watcher.poll_once()  # the next cycle polls them all again
    assert (stats.jobs, stats.failed) == (3, 0)
