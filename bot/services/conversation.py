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
from bot.core.backend_names import OPENAI, backend_name
from bot.core.jobs import ServiceError
from bot.core.message import Code, Mention, Message, Part, Text, say
from bot.core.reports import usd
from bot.core.start_rules import price_words
from bot.services.job_plan import Plan

log = logging.getLogger(__name__)

# Mentions and DMs when no configured backend serves FTBOT_CHAT_MODEL: commands still work.
NO_CHAT_MODEL = (
    "I can only follow commands here: plain-language requests aren't set up in this workspace "
    "(an admin can turn them on). Try `jobs mine`, or `/finetune help` for everything I do."
)
# What the chat model reads for a command that waits for a click: it must not repeat it (the
# question with its buttons is the answer the user sees).
AWAITING_CLICK = (
    "Not run: the user is shown a question with buttons to confirm or cancel it. Don't repeat "
    "the question or mention buttons or commands."
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

    text: str  # empty: nothing to say besides the confirmations
    confirm: tuple[str, ...] = ()
    from_model: bool = False  # the chat model's own words: untrusted, escaped when posted


@dataclass(frozen=True, slots=True)
class Question:
    """A confirmation as the user reads it: the question, its two buttons, and what a cancel
    leaves as it was."""

    text: Message
    yes: str
    no: str = "Cancel"
    unchanged: str = "nothing was done"


def question(command: commands.Command, *, plan: Plan | None = None) -> Question:
    """The question asked before a command that spends or deletes runs (pure)."""
    match command:
        case commands.Start() if plan is not None:
            return Question(
                _start_question(command, plan), yes="Start", unchanged="nothing was started"
            )
        case commands.JobAction(action="cancel", job=job):
            return Question(
                say("Cancel the fine-tuning job ", Code(job), "? Training stops for good."),
                yes="Cancel the job",
                no="Keep it",
                unchanged="the job goes on",
            )
        case commands.DeleteModel(model=model):
            return Question(
                say("Delete the model ", Code(model), "? This can't be undone."),
                yes="Delete",
                no="Keep it",
                unchanged="nothing was deleted",
            )
    raise ValueError(f"no question for {type(command).__name__}")


def _start_question(command: commands.Start, plan: Plan) -> Message:
    epochs = f"{plan.epochs} epoch{'s' if plan.epochs != 1 else ''}"
    if plan.model.quoted or plan.model.unpriced:
        price = price_words(
            model=plan.model.id,
            backend=plan.backend,
            cost_usd=plan.estimate.cost_usd,
            tokens=None,
            before_start=True,
        )
    else:
        price = f"≈ {usd(plan.estimate.cost_usd)}"
    where = "" if plan.backend == OPENAI else f" ({backend_name(plan.backend)})"
    parts: list[Part | Message] = [
        "Start fine-tuning ",
        Code(plan.model.id),
        where,
        " on *",
        Text(plan.dataset.name),
        "*",
    ]
    if plan.validation is not None:
        parts += [" (validated on *", Text(plan.validation.name), "*)"]
    parts.append(f", {epochs}")
    if command.suffix:
        parts += [", suffix ", Code(command.suffix)]
    parts += [" (", Text(price), ")?"]  # "< $0.01" holds a "<": a value, escaped
    return say(*parts)


def dismissed(question: Question, actor: str) -> Message:
    """A confirmation after a cancel: who cancelled it and what is unchanged."""
    return say(question.text, " — cancelled by ", Mention(actor), f": {question.unchanged}.")


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
        ran: list[str] = []  # commands run for an answer (besides those awaiting a click)
        try:
            for _ in range(MAX_ROUNDS):
                message = self._chat(messages, tools())
                calls = message.get("tool_calls") or []
                if not calls:
                    answer = (message.get("content") or "").strip()
                    if pending and not ran:
                        # The questions are the whole answer: one message per confirmation.
                        return Reply("", tuple(pending))
                    return Reply(answer or "Done.", tuple(pending), from_model=bool(answer))
                messages.append(
                    {k: v for k, v in message.items() if k in ("role", "content", "tool_calls")}
                )
                for call in calls:
                    result = self._tool(call, pending, ran)
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
            return Reply("", (command,))
        return Reply(self._run(command))

    def _tool(self, call: dict[str, Any], pending: list[str], ran: list[str]) -> str:
        function = call.get("function") or {}
        try:
            arguments = json.loads(function.get("arguments") or "{}")
            text = command_text(str(function.get("name", "")), arguments)
            commands.parse(text)
        except (ValueError, commands.UsageError) as error:
            return f"error: {error}"
        if text.split()[0] in NEEDS_CONFIRMATION:
            if text not in pending:
                pending.append(text)
            return AWAITING_CLICK
        ran.append(text)
        return self._run(text)
