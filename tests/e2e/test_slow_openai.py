"""Every request is acknowledged within Slack's 3 s whatever OpenAI does (issue 11, item 3).

The fake OpenAI answers every call after 4 s. A command whose answer needs OpenAI is acked at
once with "Working on it…", and the answer follows through its response_url; nothing is lost.
"""

from __future__ import annotations

import json

import pytest

from handlers import ids
from tests.e2e.conftest import SECRET, Bot, wait_for
from tests.e2e.test_jobs import ephemerals, job_posts, ready
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.foreign_host import RecordingHost
from tests.fakes.signing import command_request

pytestmark = pytest.mark.db


def started(bot: Bot, openai: FakeOpenAI) -> str:
    ready(bot)
    bot.command("start latest", user="UOWNER")
    wait_for(lambda: job_posts(bot.slack), what="job post")
    job_id = next(iter(openai.jobs))
    openai.add_checkpoint(job_id, 5, {"valid_loss": 0.5})
    return job_id


def test_commands_answer_after_the_ack_when_openai_takes_4_s(bot: Bot, openai: FakeOpenAI) -> None:
    job_id = started(bot, openai)
    openai.fail_next("*", "/v1/", slow_ms=4000, times=10_000)
    bot.slack.ensure_user("UOWNER")
    with RecordingHost() as hooks:
        for n, text in enumerate(
            (
                f"status {job_id}",
                f"events {job_id}",
                f"checkpoints {job_id}",
                f"chart {job_id}",
                f"pause {job_id}",
                f"cancel {job_id}",
            )
        ):
            body, headers = command_request(
                text=text, secret=SECRET, user_id="UOWNER",
                response_url=hooks.url(f"/commands/T1/{n}/x"),
            )  # fmt: skip
            status, payload = bot.send(body, headers)
            # acked before OpenAI could answer: the answer is not in the ack
            assert status == 200 and "Working on it" in json.loads(payload)["text"], text
        answers = wait_for(
            lambda: len(hooks.requests) >= 6 and hooks.requests, what="6 answers", timeout=60
        )
    by_path = {r.path: json.loads(r.body) for r in answers}
    assert job_id in json.dumps(by_path["/commands/T1/0/x"])  # status
    assert "ckpt-step-5" in json.dumps(by_path["/commands/T1/2/x"])  # checkpoints
    assert "paused" in by_path["/commands/T1/4/x"]["text"]
    assert by_path["/commands/T1/5/x"]["text"].startswith(f"Cancelling `{job_id}`")
    assert all(
        a["response_type"] == "ephemeral" and a["replace_original"] for a in by_path.values()
    )
    assert openai.jobs[job_id]["status"] == "cancelled"


def test_a_cancel_button_is_acked_at_once_and_answers_when_openai_does(
    bot: Bot, openai: FakeOpenAI
) -> None:
    job_id = started(bot, openai)
    openai.fail_next("*", "/v1/", slow_ms=4000, times=10_000)
    assert bot.click(ids.JOB_CANCEL, job_id, user="UOWNER") == 200
    wait_for(
        lambda: any(t.startswith("Cancelling") for t in ephemerals(bot.slack)),
        what="answer",
        timeout=30,
    )
    assert openai.jobs[job_id]["status"] == "cancelled"
