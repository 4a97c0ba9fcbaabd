"""Mentions and DMs in plain language -> Conversation (tool calling) -> the same commands."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.core import commands
from bot.core.access import Viewer
from bot.core.message import Mention, say
from bot.services import conversation
from bot.services.conversation import Conversation, Question
from bot.services.errors import UserError
from handlers import ids, payloads
from handlers.blocks.confirm import confirmation_blocks, settled_blocks
from handlers.commands.dispatch import run_command, run_slow
from handlers.deps import Deps
from handlers.text import SECTION_TEXT, error_text, escape
from handlers.text import user as mention

_MENTION = re.compile(r"<@[A-Z0-9]+>")
CONTEXT_MESSAGES = 6


def blocks_text(blocks: list[Any], fallback: str) -> str:
    """The readable text of a Block Kit answer (what the chat model gets back from a tool)."""
    parts = []
    for block in blocks:
        data = block.to_dict() if hasattr(block, "to_dict") else block
        text = (data.get("text") or {}).get("text")
        if text:
            parts.append(text)
        parts += [f.get("text", "") for f in data.get("fields") or []]
    return "\n".join(parts)[:3500] or fallback


def viewer_in(services: Deps, user: str, channel: str) -> Viewer:
    """The requester, answered in `channel`: in a DM only they read it; elsewhere everyone in the
    conversation does, so only that conversation's own things may appear."""
    audience = None if channel.startswith("D") else channel
    return services.access.viewer(user, audience=audience)


def run_as(services: Deps, text: str, *, user: str, channel: str, key: str) -> str:
    """Run one command's text as `user`, answered in `channel`; any refusal comes back as text."""
    viewer = viewer_in(services, user, channel)
    try:
        parsed = commands.parse(text)
        if isinstance(parsed, commands.Try | commands.Compare):
            blocks, fallback = run_slow(services, parsed, viewer=viewer, channel=channel)
        else:
            blocks, fallback = run_command(
                services, parsed, viewer=viewer, channel=channel, key=key
            )
    except (commands.UsageError, UserError) as error:
        return error_text(error)
    return blocks_text(blocks, fallback)


def _seal(key: bytes, channel: str, ts: str, user: str, text: str) -> str:
    """A MAC binding a confirmation to its own message: a click is honoured only on the message
    the bot posted for that request (button values are not trusted)."""
    message = json.dumps([channel, ts, user, text]).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def register(app: App, services: Deps) -> None:
    """app_mention and DM listeners, and the confirmation button."""
    gateway = services.chat
    key = services.confirm_key

    def chat(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
        return gateway.chat_with_tools(model=services.chat_model, messages=messages, tools=tools)

    def context(client: WebClient, channel: str, thread: str, ts: str) -> list[dict[str, str]]:
        if thread == ts:
            return []
        try:
            replies = client.conversations_replies(channel=channel, ts=thread, limit=50)
        except Exception:
            return []
        earlier = [m for m in replies.get("messages") or [] if m.get("ts") != ts]
        return [
            {
                "role": "assistant" if m.get("bot_id") else "user",
                "content": _MENTION.sub("", m.get("text") or "").strip(),
            }
            for m in earlier[-CONTEXT_MESSAGES:]
            if m.get("text")
        ]

    def handle(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        event_id = body.get("event_id")
        if event_id and not services.deliveries.first_time(event_id):
            return  # a Slack retry of a message already answered
        user, channel, ts = event.get("user") or "", event["channel"], event["ts"]
        thread = event.get("thread_ts") or ts
        text = _MENTION.sub("", event.get("text") or "").strip()
        conversation = Conversation(
            chat=chat if gateway.configured else None,
            run=lambda command: run_as(
                services, command, user=user, channel=channel, key=f"nl:{ts}"
            ),
        )
        reply = conversation.reply(text=text, context=context(client, channel, thread, ts))
        if reply.text:
            shown = escape(reply.text, limit=SECTION_TEXT) if reply.from_model else reply.text
            client.chat_postMessage(channel=channel, thread_ts=thread, text=shown)
        for command in reply.confirm:
            ask(client, command, user=user, channel=channel, thread=thread)

    def question_of(parsed: commands.Command, *, user: str, channel: str) -> Question:
        """The question for a command (a start is planned as `user`: the model, the dataset,
        the epochs and the price it would have); raises UserError."""
        plan = None
        if isinstance(parsed, commands.Start):
            plan = services.jobs.plan(parsed, viewer_in(services, user, channel), channel)
        return conversation.question(parsed, plan=plan)

    def ask(client: WebClient, command: str, *, user: str, channel: str, thread: str) -> None:
        """One message per confirmation: the question, then (once its ts is known) the sealed
        Start and Cancel buttons."""
        try:
            question = question_of(commands.parse(command), user=user, channel=channel)
        except UserError as error:
            client.chat_postMessage(channel=channel, thread_ts=thread, text=error_text(error))
            return
        blocks, text = confirmation_blocks(question=question, requester=user, value=None)
        posted = client.chat_postMessage(
            channel=channel, thread_ts=thread, text=text, blocks=blocks
        )
        seal = _seal(key, channel, posted["ts"], user, command)
        value = json.dumps({"u": user, "t": command, "m": seal})
        blocks, text = confirmation_blocks(question=question, requester=user, value=value)
        client.chat_update(channel=channel, ts=posted["ts"], text=text, blocks=blocks)

    @app.event("app_mention")
    def handle_mention(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        handle(event, body, client)

    def is_dm_text(event: dict[str, Any]) -> bool:
        return (
            event.get("channel_type") == "im"
            and not event.get("subtype")
            and not event.get("bot_id")
            and event.get("user") != services.bot_user_id
        )

    @app.event("message", matchers=[is_dm_text])
    def handle_dm(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        handle(event, body, client)

    def answered(body: dict[str, Any], client: WebClient) -> tuple[str, str, str] | None:
        """A click on a confirmation the bot posted here: (actor, channel, command text), or
        None when it was refused (someone else's) or already answered (a double click)."""
        actor = body["user"]["id"]
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id") or ""
        message_ts = container.get("message_ts") or ""
        request = payloads.json_button(body, u=str, t=str, m=str)
        requester, text, seal = request["u"], request["t"], request["m"]
        expected = _seal(key, channel, message_ts, requester, text)
        if not (channel and message_ts and hmac.compare_digest(seal, expected)):
            raise payloads.StaleButton("not a confirmation the bot posted here")
        if actor != requester and not services.access.viewer(actor).admin:
            client.chat_postEphemeral(
                channel=channel,
                user=actor,
                text=f"Only {mention(requester)} (who asked) or an admin can answer this.",
            )
            return None
        # Start and Cancel share one key: whichever is clicked first is the answer.
        if not services.deliveries.first_time(f"confirm:{channel}:{message_ts}"):
            return None
        return actor, channel, text

    @app.action(ids.CONFIRM_COMMAND)
    def handle_confirm(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        found = answered(body, client)
        if found is None:
            return
        actor, channel, text = found
        message_ts = body["container"]["message_ts"]
        result = run_as(services, text, user=actor, channel=channel, key=f"nl:{message_ts}")
        blocks, fallback = settled_blocks(say(Mention(actor), " confirmed. ") + result)
        client.chat_update(channel=channel, ts=message_ts, text=fallback, blocks=blocks)

    @app.action(ids.CONFIRM_DISMISS)
    def handle_dismiss(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        found = answered(body, client)
        if found is None:
            return
        actor, channel, text = found
        try:
            parsed = commands.parse(text)
        except commands.UsageError:
            raise payloads.StaleButton("not a command") from None
        try:
            question = question_of(parsed, user=actor, channel=channel)
        except UserError:  # the dataset is gone meanwhile: the question without its details
            question = Question(say("Start fine-tuning?"), yes="Start", unchanged="not started")
        blocks, fallback = settled_blocks(conversation.dismissed(question, actor))
        client.chat_update(
            channel=channel, ts=body["container"]["message_ts"], text=fallback, blocks=blocks
        )
