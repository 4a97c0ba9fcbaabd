"""Mentions and DMs run on the chat completions of whichever configured backend serves
FTBOT_CHAT_MODEL (product §9): Together alone is enough; a chat model on an unconfigured backend
leaves one clear line, and commands keep working."""

from __future__ import annotations

import pytest

from bot.services.conversation import NO_CHAT_MODEL
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_conversation import bot_replies, mention, scripted, tool_call
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether
from tests.fakes.signing import dm_message_event

pytestmark = pytest.mark.db

CHAT_MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"


def together_only(
    slack: FakeSlack, database_url: str, together: FakeTogether, **settings: str
) -> Bot:
    """The bot with Together AI as its only backend (no OpenAI key at all)."""
    return start_bot(
        slack,
        database_url,
        TOGETHER_API_KEY="together-test-key",
        TOGETHER_BASE_URL=together.base_url,
        **settings,
    )


def test_a_mention_is_answered_through_togethers_chat_completions(
    slack: FakeSlack, database_url: str, together: FakeTogether
) -> None:
    bot = together_only(slack, database_url, together, FTBOT_CHAT_MODEL=CHAT_MODEL)
    try:
        together.chat_responder = scripted(tool_call("jobs", mine_or_all="mine"))
        ts = mention(bot, "<@UBOT> which jobs do I have?", user="U1")
        answer = wait_for(lambda: bot_replies(bot, "C1", ts), what="answer")
        assert len(answer) == 1 and answer[0].startswith("Here you go:"), answer
        # one turn that called the `jobs` tool, one that answered with its result
        assert together.chat_models_called() == [CHAT_MODEL, CHAT_MODEL]
        first, second = together.calls_to("POST", "/v1/chat/completions")
        assert {t["function"]["name"] for t in first.json["tools"]} >= {"start", "status", "jobs"}
        assert second.json["messages"][-1]["role"] == "tool"
    finally:
        bot.stop()


def test_a_dm_is_answered_through_together_too(
    slack: FakeSlack, database_url: str, together: FakeTogether
) -> None:
    bot = together_only(slack, database_url, together, FTBOT_CHAT_MODEL=CHAT_MODEL)
    try:
        together.chat_responder = lambda request: "Hello from Together."
        ts = "1700000300.000100"
        assert bot.event(dm_message_event("hi, what can you do?", channel="D1", ts=ts)) == 200
        assert wait_for(lambda: bot_replies(bot, "D1", ts), what="answer") == [
            "Hello from Together."
        ]
        assert together.chat_models_called() == [CHAT_MODEL]
    finally:
        bot.stop()


def test_a_chat_model_on_an_unconfigured_backend_gets_one_clear_line(
    slack: FakeSlack, database_url: str, together: FakeTogether
) -> None:
    # FTBOT_CHAT_MODEL left at its default, an OpenAI chat model: OpenAI is not configured.
    bot = together_only(slack, database_url, together)
    try:
        ts = mention(bot, "<@UBOT> how is my last job doing?")
        assert wait_for(lambda: bot_replies(bot, "C1", ts), what="answer") == [NO_CHAT_MODEL]
        assert "FTBOT_" not in NO_CHAT_MODEL and "/finetune help" in NO_CHAT_MODEL
        # an exact command still works without any chat model
        dm = "1700000400.000100"
        assert bot.event(dm_message_event("jobs mine", channel="D1", ts=dm)) == 200
        assert "Your jobs" in wait_for(lambda: bot_replies(bot, "D1", dm), what="answer")[0]
        assert together.chat_models_called() == []
    finally:
        bot.stop()
