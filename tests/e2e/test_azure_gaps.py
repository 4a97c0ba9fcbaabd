"""Azure OpenAI's remaining paths end to end (issue 14): the approval threshold on a price
nobody can know, the start form's Azure choice, the wind-down button onto Azure and compare
through a recorded base-model deployment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from handlers import ids
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_azure_jobs import azure_settings, creates
from tests.e2e.test_jobs import ephemerals, job_posts, ready
from tests.e2e.test_together_start import approval_key
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack

pytestmark = pytest.mark.db

MODEL = "gpt-4o-mini-2024-07-18"


@pytest.fixture
def azure_fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(azure=True) as fake:
        yield fake
        assert not fake.errors, fake.errors


def azure_bot(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, azure: FakeOpenAI, **kw: Any
) -> Bot:
    slack.add_user("UADMIN")
    return start_bot(
        slack, database_url, openai, FTBOT_ADMINS="UADMIN", **azure_settings(azure), **kw
    )


def test_an_unknown_price_needs_an_admin_before_anything_is_uploaded(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, azure_fake: FakeOpenAI
) -> None:
    bot = azure_bot(slack, database_url, openai, azure_fake, FTBOT_APPROVAL_USD=1000)
    try:
        file = ready(bot)
        _, payload = bot.command(f"start {file['id']} backend=azure", user="UREQ")
        assert "approval threshold" in payload["text"] and "$1,000.00" in payload["text"], payload
        request = wait_for(
            lambda: [m for m in slack.messages("C1") if "must approve" in (m.get("text") or "")],
            what="the approval request",
        )[0]
        assert request["thread_ts"] == file["shares"]["public"]["C1"][0]["ts"]
        assert "price unknown" in request["text"] and "Azure OpenAI" in request["text"]
        # nothing reached Azure before the approval
        assert azure_fake.calls_to("POST", "/openai/files") == [] and creates(azure_fake) == []
        key = approval_key(request)
        assert bot.click(ids.JOB_APPROVE, key, user="UREQ") == 200
        wait_for(lambda: ephemerals(slack), what="the requester's refusal")
        assert creates(azure_fake) == []
        assert bot.click(ids.JOB_APPROVE, key, user="UADMIN") == 200
        post = wait_for(lambda: job_posts(slack), what="the job post")[0]
        assert "<@UREQ>" in post["text"] and "$" not in post["text"], post["text"]
        assert bot.click(ids.JOB_APPROVE, key, user="UADMIN") == 200
        wait_for(
            lambda: any("already approved" in t for t in ephemerals(slack)),
            what="the second approval answered",
        )
        (call,) = creates(azure_fake)
        assert call.json is not None and call.json["model"] == MODEL
        assert len(azure_fake.calls_to("POST", "/openai/files")) == 1
        assert openai.jobs == {} and openai.calls_to("POST", "/v1/files") == []
    finally:
        bot.stop()


def test_without_a_threshold_an_azure_job_starts_at_once(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, azure_fake: FakeOpenAI
) -> None:
    bot = azure_bot(slack, database_url, openai, azure_fake)
    try:
        file = ready(bot)
        _, payload = bot.command(f"start {file['id']} backend=azure", user="UREQ")
        assert "approval" not in payload["text"], payload
        wait_for(lambda: job_posts(slack), what="the job post")
        assert len(creates(azure_fake)) == 1
        assert not [m for m in slack.messages("C1") if "must approve" in (m.get("text") or "")]
    finally:
        bot.stop()
