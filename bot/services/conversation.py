"""Plain-language requests: tool calling (the chat completions of the backend serving
FTBOT_CHAT_MODEL) onto the same commands, parser and checks.

The tools are generated from the command table; a tool call becomes the text of the matching
`/finetune` command and goes through the same parser, services and permission checks, as the
user who wrote the message. Commands that spend or delete are never run from here: they come
back as a confirmation to post, and run only when the requester (or an admin) clicks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.core import commands
from bot.core.jobs import ServiceError

log = logging.getLogger(__name__)

# Mentions and DMs when no configured backend serves FTBOT_CHAT_MODEL: commands still work.
NO_CHAT_MODEL = (
    "I can only follow commands here: plain-language requests need `FTBOT_CHAT_MODEL` on a "
    "configured backend. Try `jobs mine`, or `/finetune help` for everything I do."
)
NEEDS_CONFIRMATION = frozenset({"start", "cancel", "delete-model"})
MAX_ROUNDS = 4
SYSTEM = (
    "You are Finetune Bot, a Slack assistant for model fine-tuning (OpenAI, Together AI). "
    "Use the tools to answer; "
    "never invent job ids, numbers or statuses. Answer in one or two short sentences and cite "
    "the job or dataset you acted on. If the request is ambiguous, ask which dataset or job."
)


@dataclass(frozen=True, slots=True)
class Reply:
    """What to post in the thread: a text, and commands waiting for confirmation."""

    text: str
    confirm: tuple[str, ...] = ()
    from_model: bool = False  # the chat model's own words: untrusted, escaped when posted


def tools() -> list[dict[str, Any]]:
    """One function tool per subcommand, generated from the command table."""
    found = []
    for spec in commands.SPECS:
        if spec.name == "help":
            continue
        names = [*spec.args, *spec.optional, *spec.options]
        properties = {
            _arg(name): {"type": "string", "description": f"`{name}` of `/finetune {spec.usage}`"}
            for name in names
        }
        found.append(
            {
                "type": "function",
                "function": {
                    "name": spec.name.replace("-", "_"),
                    "description": spec.summary,
                    "parameters": {
                        "type": "object",
                        "properties": properties,
                        "required": [_arg(a) for a in spec.args],
                    },
                },
            }
        )
    return found


def _arg(name: str) -> str:
    return name.replace("|", "_or_")


def command_text(tool: str, arguments: dict[str, Any]) -> str:
    """The `/finetune` text a tool call stands for."""
    name = tool.replace("_", "-")
    spec = next((s for s in commands.SPECS if s.name == name), None)
    if spec is None:
        raise commands.UsageError(f"unknown tool `{tool}`")
    words = [name]
    for arg in (*spec.args, *spec.optional):
        value = arguments.get(_arg(arg))
        if value not in (None, ""):
            words.append(json.dumps(str(value)) if " " in str(value) else str(value))
    for option in spec.options:
        value = arguments.get(option)
        if value not in (None, ""):
            words.append(f"{option}={value}")
    if name == "try":
        return f"try {arguments.get('prompt', '')}"
    return " ".join(words)


class Conversation:
    """Answers a message, using `run(command text)` for every tool call."""

    def __init__(
        self,
        *,
        chat: Callable[[list[dict[str, Any]], list[dict[str, Any]]], dict[str, Any]] | None,
        run: Callable[[str], str],
    ) -> None:
        self._chat = chat
        self._run = run

    def reply(self, *, text: str, context: list[dict[str, str]]) -> Reply:
        """Handle one message (with the thread's recent messages as context)."""
        exact = self._as_command(text)
        if exact is not None:
            return exact
        if self._chat is None:
            return Reply(NO_CHAT_MODEL)
        messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}, *context]
        messages.append({"role": "user", "content": text})
        pending: list[str] = []
        try:
            for _ in range(MAX_ROUNDS):
                message = self._chat(messages, tools())
                calls = message.get("tool_calls") or []
                if not calls:
                    answer = (message.get("content") or "").strip()
                    return Reply(answer or "Done.", tuple(pending), from_model=bool(answer))
                messages.append(
                    {k: v for k, v in message.items() if k in ("role", "content", "tool_calls")}
                )
                for call in calls:
                    result = self._tool(call, pending)
                    messages.append(
                        {"role": "tool", "tool_call_id": call.get("id", ""), "content": result}
                    )
        except ServiceError as error:
            log.warning("chat model failed: %s", error)
            return Reply(
                "Sorry, I couldn't understand that right now. The slash command always works: "
                "`/finetune help`.",
                tuple(pending),
            )
        return Reply("That needed too many steps; try `/finetune help`.", tuple(pending))

    def _as_command(self, text: str) -> Reply | None:
        words = text.strip().split()
        names = {spec.name for spec in commands.SPECS}
        if not words or words[0].lower().removeprefix("/finetune") not in names | {""}:
            return None
        command = text.strip().removeprefix("/finetune").strip()
        if not command:
            return None
        try:
            parsed_name = command.split()[0].lower()
            commands.parse(command)
        except commands.UsageError as error:
            # Plain language that happens to start like a command: the model reads it.
            return None if self._chat is not None else Reply(str(error))
        if parsed_name in NEEDS_CONFIRMATION:
            return Reply("Please confirm:", (command,))
        return Reply(self._run(command))

    def _tool(self, call: dict[str, Any], pending: list[str]) -> str:
        function = call.get("function") or {}
        try:
            arguments = json.loads(function.get("arguments") or "{}")
            text = command_text(str(function.get("name", "")), arguments)
            commands.parse(text)
        except (ValueError, commands.UsageError) as error:
            return f"error: {error}"
        if text.split()[0] in NEEDS_CONFIRMATION:
            pending.append(text)
            return f"Not done yet: `{text}` needs the user's confirmation (a button is shown)."
        return self._run(text)
