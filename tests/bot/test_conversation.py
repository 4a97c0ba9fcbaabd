"""The conversation layer without Slack: tools from the command table, confirmation rules."""

from __future__ import annotations

import json
from typing import Any

from bot.core import commands
from bot.core.jobs import ServiceError
from bot.services.conversation import Conversation, command_text, tools


def test_one_tool_per_subcommand_from_the_table() -> None:
    names = {t["function"]["name"] for t in tools()}
    assert names == {s.name.replace("-", "_") for s in commands.SPECS if s.name != "help"}
    start = next(t for t in tools() if t["function"]["name"] == "start")["function"]
    assert start["parameters"]["required"] == ["dataset"]
    assert {"model", "epochs", "suffix", "method"} <= set(start["parameters"]["properties"])


def test_tool_calls_become_command_text_that_parses() -> None:
    text = command_text(
        "start", {"dataset": "my data.jsonl", "epochs": "2", "model": "gpt-4o-mini"}
    )
    assert commands.parse(text) == commands.Start("my data.jsonl", "gpt-4o-mini-2024-07-18", 2)
    assert command_text("jobs", {"mine_or_all": "mine"}) == "jobs mine"
    assert commands.parse(command_text("try", {"prompt": "what's up?"})) == commands.Try(
        "what's up?"
    )


def chat_script(*replies: dict[str, Any]) -> Any:
    queue = list(replies)
    return lambda messages, _tools: queue.pop(0)


def call(name: str, **arguments: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
        ],
    }


def test_spend_and_delete_are_never_run_directly() -> None:
    ran: list[str] = []
    for name, args in (
        ("start", {"dataset": "latest"}),
        ("cancel", {"job": "ftjob-1"}),
        ("delete_model", {"model": "ft:x"}),
    ):
        conversation = Conversation(
            chat=chat_script(call(name, **args), {"content": "ok"}), run=ran.append
        )
        reply = conversation.reply(text="please do it", context=[])
        assert reply.confirm and not ran


def test_reads_run_and_feed_the_answer() -> None:
    conversation = Conversation(
        chat=chat_script(call("jobs", mine_or_all="mine"), {"content": "You have one job."}),
        run=lambda text: f"ran {text}",
    )
    assert conversation.reply(text="my jobs?", context=[]).text == "You have one job."


def test_exact_commands_skip_the_model_and_failures_are_friendly() -> None:
    def boom(*_: Any) -> dict[str, Any]:
        raise ServiceError("unavailable", "HTTP 500")

    assert (
        Conversation(chat=boom, run=lambda t: f"ran {t}").reply(text="jobs mine", context=[]).text
        == "ran jobs mine"
    )
    assert (
        "/finetune help" in Conversation(chat=boom, run=str).reply(text="hello?", context=[]).text
    )
    without = Conversation(chat=None, run=str).reply(text="hello?", context=[]).text
    assert "an admin can turn them on" in without and "/finetune help" in without
    assert "FTBOT_" not in without  # a setting name is for admins, not every reader
    assert "\n" not in without and "OpenAI" not in without  # any backend may serve the chat
    assert Conversation(chat=None, run=str).reply(text="start latest", context=[]).confirm == (
        "start latest",
    )
