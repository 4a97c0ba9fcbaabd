"""Mentions and DMs: tool calling onto the same commands, confirmation before spend."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from handlers import ids
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_jobs import creates, job_posts, ready
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether
from tests.fakes.signing import app_mention_event, dm_message_event
from tests.inert import check_sent

pytestmark = pytest.mark.db


def tool_call(name: str, **arguments: Any) -> dict[str, Any]:
    return {
        "tool_calls": [
            {"type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
        ]
    }


def scripted(first: dict[str, Any], final: str = "") -> Any:
    """A chat model that calls one tool, then answers with the tool's result in it."""

    def respond(request: dict[str, Any]) -> Any:
        last = request["messages"][-1]
        if last["role"] == "tool":
            return final or f"Here you go: {last['content'][:300]}"
        return first

    return respond


def bot_replies(bot: Bot, channel: str, ts: str) -> list[str]:
    return [m.get("text") or "" for m in bot.slack.thread(channel, ts) if m["ts"] != ts]


def mention(bot: Bot, text: str, *, user: str = "U1", ts: str = "1700000100.000100") -> str:
    assert bot.event(app_mention_event(text, channel="C1", user=user, ts=ts)) == 200
    return ts


def test_a_status_question_is_answered_with_the_real_status(bot: Bot, openai: FakeOpenAI) -> None:
    ready(bot)
    bot.command("start latest", user="UOWNER")
    wait_for(lambda: job_posts(bot.slack), what="job")
    job_id = next(iter(openai.jobs))
    openai.chat_responder = scripted(tool_call("status", job=job_id))
    ts = mention(bot, "<@UBOT> how is my last job doing?", user="UOWNER")
    answer = wait_for(lambda: bot_replies(bot, "C1", ts), what="answer")[0]
    assert job_id in answer and "validating files" in answer
    chats = openai.calls_to("POST", "/v1/chat/completions")
    assert {t["function"]["name"] for t in chats[0].json["tools"]} >= {
        "start",
        "status",
        "jobs",
        "cancel",
        "usage",
    }
    tool_message = chats[-1].json["messages"][-1]
    assert tool_message["role"] == "tool" and "validating files" in tool_message["content"]


def test_start_needs_the_requesters_confirmation_and_starts_once(
    bot: Bot, openai: FakeOpenAI
) -> None:
    ready(bot)
    openai.chat_responder = scripted(
        tool_call("start", dataset="latest", epochs="2"), "I need your OK first."
    )
    ts = mention(bot, "<@UBOT> start a job on the drone dataset with 2 epochs", user="UREQ")
    confirm = wait_for(
        lambda: [
            m
            for m in bot.slack.thread("C1", ts)
            if ids.CONFIRM_COMMAND in json.dumps(m.get("blocks") or [])
        ],
        what="confirmation",
    )[0]
    # ONE message: the question (model, dataset, epochs, price) with Start and Cancel, no
    # command text, no "latest", nothing from the chat model besides it.
    assert [m["ts"] for m in bot.slack.thread("C1", ts) if m["ts"] != ts] == [confirm["ts"]]
    question = confirm["blocks"][0]["text"]["text"]
    assert question.startswith(
        "<@UREQ> Start fine-tuning `gpt-4o-mini-2024-07-18` on *drone.jsonl*, 2 epochs (≈ $"
    ), question
    assert "latest" not in question and "/finetune" not in question
    buttons = confirm["blocks"][1]["elements"]
    assert [(b["text"]["text"], b["action_id"]) for b in buttons] == [
        ("Start", ids.CONFIRM_COMMAND),
        ("Cancel", ids.CONFIRM_DISMISS),
    ]
    assert creates(openai) == []
    value = buttons[0]["value"]
    bot.click(ids.CONFIRM_COMMAND, value, user="USOMEONE", message_ts=confirm["ts"])
    wait_for(lambda: bot.slack.calls_to("chat.postEphemeral"), what="refusal")
    assert "Only <@UREQ>" in bot.slack.calls_to("chat.postEphemeral")[0].params["text"]
    for _ in range(2):  # a double click runs it once
        bot.click(ids.CONFIRM_COMMAND, value, user="UREQ", message_ts=confirm["ts"])
    wait_for(lambda: job_posts(bot.slack), what="job post")
    assert len(creates(openai)) == 1
    assert creates(openai)[0].json["method"]["supervised"]["hyperparameters"] == {"n_epochs": 2}
    assert creates(openai)[0].json["metadata"]["slack_user"] == "UREQ"


def test_cancel_on_a_confirmation_says_so_and_starts_nothing(bot: Bot, openai: FakeOpenAI) -> None:
    ready(bot)
    openai.chat_responder = scripted(tool_call("start", dataset="latest", epochs="2"))
    ts = mention(bot, "<@UBOT> train the drone dataset", user="UREQ")
    confirm = wait_for(
        lambda: [
            m
            for m in bot.slack.thread("C1", ts)
            if ids.CONFIRM_DISMISS in json.dumps(m.get("blocks") or [])
        ],
        what="confirmation",
    )[0]
    start, cancel = (b["value"] for b in confirm["blocks"][1]["elements"])
    bot.click(ids.CONFIRM_DISMISS, cancel, user="USOMEONE", message_ts=confirm["ts"])
    wait_for(lambda: bot.slack.calls_to("chat.postEphemeral"), what="refusal")
    bot.click(ids.CONFIRM_DISMISS, cancel, user="UREQ", message_ts=confirm["ts"])
    settled = wait_for(
        lambda: [
            c.params
            for c in bot.slack.calls_to("chat.update")
            if "cancelled by" in (c.params.get("text") or "")
        ],
        what="cancelled",
    )
    assert len(settled) == 1
    assert settled[0]["blocks"][0]["text"]["text"].endswith(
        "(≈ $0.35)? — cancelled by <@UREQ>: nothing was started."
    )
    assert "confirm_" not in json.dumps(settled[0]["blocks"])  # no buttons left
    # Start after Cancel (a stale message) runs nothing; nor does a second Cancel.
    bot.click(ids.CONFIRM_COMMAND, start, user="UREQ", message_ts=confirm["ts"])
    bot.click(ids.CONFIRM_DISMISS, cancel, user="UREQ", message_ts=confirm["ts"])
    time.sleep(1.0)  # listeners run on a pool: give any wrongly accepted click time to act
    assert creates(openai) == [] and job_posts(bot.slack) == []
    assert openai.calls_to("POST", "/v1/files") == []
    assert (
        len(
            [
                c
                for c in bot.slack.calls_to("chat.update")
                if "cancelled by" in (c.params.get("text") or "")
            ]
        )
        == 1
    )


def test_cancel_by_someone_else_is_refused_by_the_same_check(bot: Bot, openai: FakeOpenAI) -> None:
    ready(bot)
    bot.command("start latest", user="UOWNER")
    wait_for(lambda: job_posts(bot.slack), what="job")
    job_id = next(iter(openai.jobs))
    openai.chat_responder = scripted(tool_call("cancel", job=job_id))
    ts = mention(bot, "<@UBOT> cancel that job", user="UOTHER")
    confirm = wait_for(
        lambda: [
            m
            for m in bot.slack.thread("C1", ts)
            if ids.CONFIRM_COMMAND in json.dumps(m.get("blocks") or [])
        ],
        what="confirmation",
    )[0]
    bot.click(
        ids.CONFIRM_COMMAND,
        confirm["blocks"][1]["elements"][0]["value"],
        user="UOTHER",
        message_ts=confirm["ts"],
    )
    wait_for(
        lambda: any(
            "only its owner" in (c.params.get("text") or "")
            for c in bot.slack.calls_to("chat.update")
        ),
        what="refusal",
    )
    assert openai.calls_to("POST", f"/v1/fine_tuning/jobs/{job_id}/cancel") == []


def test_a_failing_chat_model_gives_one_friendly_line(bot: Bot, openai: FakeOpenAI) -> None:
    openai.fail_next("POST", "/v1/chat/completions", status=500, times=10, retry_after_ms=1)
    ts = mention(bot, "<@UBOT> what models do we have?")
    answer = wait_for(lambda: bot_replies(bot, "C1", ts), what="answer")
    assert len(answer) == 1 and "/finetune help" in answer[0] and "Traceback" not in answer[0]
    assert creates(openai) == []


def test_exact_commands_in_a_dm_need_no_language_model(bot: Bot, openai: FakeOpenAI) -> None:
    ts = "1700000200.000100"
    assert bot.event(dm_message_event("jobs mine", channel="D1", user="U1", ts=ts)) == 200
    answer = wait_for(lambda: bot_replies(bot, "D1", ts), what="answer")[0]
    assert "Your jobs" in answer
    # edits, bot messages and Slack retries get no second answer
    bot.event(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": "D1",
            "channel_type": "im",
            "ts": "1.2",
        }
    )
    bot.event(
        {
            "type": "message",
            "channel": "D1",
            "channel_type": "im",
            "user": "UBOT",
            "bot_id": "BBOT",
            "text": "jobs",
            "ts": "1.3",
        }
    )
    assert openai.calls_to("POST", "/v1/chat/completions") == []
    assert len(bot_replies(bot, "D1", ts)) == 1


def test_the_chat_models_own_words_never_ping(bot: Bot, openai: FakeOpenAI) -> None:
    from tests.inert import check_sent

    openai.chat_responder = lambda request: "<!everyone> look: <https://evil.example|login> <@U9>"
    ts = mention(bot, "<@UBOT> say something nice", user="U1")
    reply = wait_for(lambda: bot_replies(bot, "C1", ts), what="the reply")[0]
    assert "&lt;!everyone&gt;" in reply and "<!everyone>" not in reply
    check_sent(bot.slack, users=["U1"])


def test_a_chat_confirmed_together_start_says_together_quotes_the_price(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    """Together prices a job only after the upload: the confirmation says Together will quote
    it (never "estimated $0.00"); the OpenAI start in the same chat keeps its estimate."""
    with FakeTogether() as together:
        bot = start_bot(
            slack, database_url, openai,
            TOGETHER_API_KEY="together-test-key", TOGETHER_BASE_URL=together.base_url,
        )  # fmt: skip
        try:
            ready(bot)
            confirmations = []
            for n, (backend, ts) in enumerate(
                [("together", "1700000300.000100"), ("openai", "1700000400.000100")]
            ):
                openai.chat_responder = scripted(
                    tool_call("start", dataset="latest", backend=backend), "I need your OK first."
                )
                mention(bot, f"<@UBOT> train the drone dataset on {backend}", user="UREQ", ts=ts)
                confirmations.append(
                    wait_for(
                        lambda ts=ts: [
                            m
                            for m in bot.slack.thread("C1", ts)
                            if ids.CONFIRM_COMMAND in json.dumps(m.get("blocks") or [])
                        ],
                        what=f"confirmation {n}",
                    )[0]
                )
        finally:
            bot.stop()
        assert together.calls == []  # nothing uploaded or asked before the confirmation
    on_together, on_openai = (json.dumps(c["blocks"], ensure_ascii=False) for c in confirmations)
    assert "backend=together" in on_together
    assert "(Together AI quotes the price when the job starts)" in on_together, on_together
    assert "$" not in on_together
    assert "(≈ $0.52)?" in on_openai, on_openai
    assert "(Together AI) on *drone.jsonl*" in on_together, on_together
    assert check_sent(slack, users=("UREQ",), channels=("C1",)) > 0
