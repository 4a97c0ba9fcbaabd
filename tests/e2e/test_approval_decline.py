"""An approval request names the admins and has Approve and Decline; a decline tells the
requester once and starts nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest

from handlers import ids
from tests.e2e.conftest import start_bot, wait_for
from tests.e2e.test_jobs import creates, ephemerals, job_posts, ready
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.inert import check_sent

pytestmark = pytest.mark.db


def _request(slack: FakeSlack) -> dict[str, Any]:
    return wait_for(
        lambda: [m for m in slack.messages("C1") if "must approve" in (m.get("text") or "")],
        what="approval request",
    )[0]


def _buttons(message: dict[str, Any]) -> dict[str, str]:
    return {
        e["text"]["text"]: e["value"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }


def test_decline_tells_the_requester_once_and_starts_nothing(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    slack.add_user("UADMIN")
    bot = start_bot(slack, database_url, openai, FTBOT_APPROVAL_USD=0.01, FTBOT_ADMINS="UADMIN")
    try:
        ready(bot)
        bot.command("start latest", user="UREQ")
        request = _request(slack)
        assert "An admin (<@UADMIN>) must approve or decline it." in request["text"]
        buttons = _buttons(request)
        assert list(buttons) == ["Approve", "Decline"]
        key = buttons["Decline"]
        assert bot.click(ids.JOB_DECLINE, key, user="UOTHER") == 200
        wait_for(lambda: ephemerals(slack), what="refusal")
        assert "can't" in ephemerals(slack)[0]
        assert bot.click(ids.JOB_DECLINE, key, user="UADMIN") == 200
        declined = wait_for(
            lambda: [
                c.params
                for c in slack.calls_to("chat.update")
                if "declined" in c.params.get("text", "")
            ],
            what="the decline",
        )
        text = declined[0]["text"]
        assert text.startswith("❌ <@UADMIN> declined <@UREQ>'s request to fine-tune"), text
        assert "Nothing was started." in text and "actions" not in str(declined[0]["blocks"])
        # A second decline and a late approval change nothing and say why.
        bot.click(ids.JOB_DECLINE, key, user="UADMIN")
        bot.click(ids.JOB_APPROVE, key, user="UADMIN")
        wait_for(
            lambda: sum("was declined" in t for t in ephemerals(slack)) >= 2,
            what="the late answers",
        )
        time.sleep(0.5)
        updates = [c for c in slack.calls_to("chat.update") if "declined" in c.params["text"]]
        assert len(updates) == 1
        assert creates(openai) == [] and job_posts(slack) == []
        assert openai.calls_to("POST", "/v1/files") == []
        check_sent(slack, users=("UADMIN", "UREQ"), channels=("C1",))
    finally:
        bot.stop()


def test_without_configured_admins_the_request_says_an_admin(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    slack.add_user("UWS", is_admin=True)
    bot = start_bot(slack, database_url, openai, FTBOT_APPROVAL_USD=0.01)
    try:
        ready(bot)
        bot.command("start latest", user="UREQ")
        request = _request(slack)
        assert "An admin must approve or decline it." in request["text"]
        assert "<@UWS>" not in request["text"]
        assert bot.click(ids.JOB_APPROVE, _buttons(request)["Approve"], user="UWS") == 200
        wait_for(lambda: job_posts(slack), what="job post")
        assert len(creates(openai)) == 1
    finally:
        bot.stop()
