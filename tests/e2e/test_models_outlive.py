"""Models outlive training (issue 14 point 4), end to end over FakeSlack and FakeOpenAI: after
OpenAI's last day of new jobs a fine-tuned model of a family still served keeps answering
(`try`, the checkpoint choice); `models` and the Home tab warn about a family shutting down
within 30 days and one shut down; for a shut-down family `try`, `compare` and the checkpoint
choice answer one line without calling OpenAI."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from handlers import ids
from tests.conftest import DATA
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_jobs import ephemerals, job_posts, ready
from tests.e2e.test_models import ask
from tests.e2e.test_wind_down import DayClock
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.signing import app_home_opened_event

pytestmark = pytest.mark.db

CHAT = "/v1/chat/completions"


def train(bot: Bot, openai: FakeOpenAI) -> str:
    """A job on the default model, succeeded with a checkpoint at step 5; its model's name."""
    ready(bot)
    bot.command("start latest", user="UOWNER")
    wait_for(lambda: job_posts(bot.slack), what="the job post")
    job_id = next(iter(openai.jobs))
    openai.advance_job(job_id, status="running")
    for step in range(1, 11):
        openai.advance_job(job_id, step=step, total_steps=10, train_loss=1.0 / step)
    openai.add_checkpoint(job_id, 5, {"valid_loss": 0.5})
    openai.succeed(job_id, trained_tokens=5000)
    wait_for(
        lambda: ids.CHECKPOINT_CHOOSE in json.dumps(bot.slack.messages("C1")), what="checkpoints"
    )
    return str(openai.jobs[job_id]["fine_tuned_model"])


def models_text(bot: Bot) -> str:
    _, payload = bot.command("models", user="UOWNER")
    return json.dumps(payload, ensure_ascii=False)


def home_text(bot: Bot, slack: FakeSlack) -> str:
    before = len(slack.calls_to("views.publish"))
    assert bot.event(app_home_opened_event("UOWNER")) == 200
    call = wait_for(lambda: slack.calls_to("views.publish")[before:], what="views.publish")[0]
    return json.dumps(call.params["view"], ensure_ascii=False)


def test_a_model_still_served_keeps_answering_after_the_last_day(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    bot = start_bot(
        slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2,
        clock=DayClock(dt.date(2027, 1, 10)),
    )  # fmt: skip
    try:
        model = train(bot, openai)  # trained before OpenAI refuses (the fake still takes it)
        openai.training_not_available = True
        openai.chat_responder = lambda request: f"answer from {request['model']}"
        assert ask(bot, f"try {model} hello")["text"].startswith(f"{model}: answer from {model}")
        checkpoint = f"{model}:ckpt-step-5"
        assert bot.click(ids.CHECKPOINT_CHOOSE, checkpoint, user="UOWNER") == 200
        wait_for(  # the checkpoint list, edited in place, says so
            lambda: "chosen by <@UOWNER>" in json.dumps(slack.messages("C1")), what="choice"
        )
        assert ask(bot, "try hello again")["text"].startswith(f"{checkpoint}: answer from")
        listing = models_text(bot)
        assert model in listing and "answers" not in listing  # no warning for gpt-4o-mini
    finally:
        bot.stop()


def test_a_family_shutting_down_is_warned_about_then_refused_without_calling_openai(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    clock = DayClock(dt.date(2026, 10, 1))  # gpt-3.5-turbo still trains; its family ends 23 Oct
    bot = start_bot(
        slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2, clock=clock,
        FTBOT_DEFAULT_MODEL="gpt-3.5-turbo-0125",
    )  # fmt: skip
    openai.fine_tunable_models.add("gpt-3.5-turbo-0125")  # in October 2026 it still trained
    try:
        model = train(bot, openai)
        assert model.startswith("ft:gpt-3.5-turbo-0125:")
        soon = "stops answering on 23 Oct 2026 (in 22 days: family ft-gpt-3.5-turbo shuts down)"
        assert soon in models_text(bot)
        assert soon in home_text(bot, slack)
        openai.chat_responder = lambda request: "still here"
        assert ask(bot, f"try {model} hello")["text"].endswith("still here")

        clock.delta += dt.timedelta(days=31)  # 1 Nov 2026: the family is shut down
        ended = "no longer answers since 23 Oct 2026 (family ft-gpt-3.5-turbo shut down)"
        assert ended in models_text(bot) and ended in home_text(bot, slack)
        calls = len(openai.calls_to("POST", CHAT))
        answer: dict[str, Any] = ask(bot, f"try {model} hello")
        assert ended in answer["text"] and "OpenAI no longer serves it" in answer["text"], answer
        ready(bot, "heldout.jsonl", content=(DATA / "bom.jsonl").read_bytes())
        compared = ask(bot, f"compare {model} heldout.jsonl n=2")
        assert ended in compared["text"], compared
        listed = f"/v1/fine_tuning/jobs/{next(iter(openai.jobs))}/checkpoints"
        before = len(openai.calls_to("GET", listed))
        assert bot.click(ids.CHECKPOINT_CHOOSE, f"{model}:ckpt-step-5", user="UOWNER") == 200
        wait_for(lambda: any(ended in e for e in ephemerals(slack)), what="the choice refused")
        assert len(openai.calls_to("POST", CHAT)) == calls
        assert len(openai.calls_to("GET", listed)) == before
    finally:
        bot.stop()
