"""Mentions and DMs in plain language -> Conversation (tool calling) -> the same commands."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock

from bot.app import Services
from bot.core import commands
from bot.services.conversation import Conversation
from bot.services.jobs import UserError
from handlers import ids, payloads
from handlers.commands.dispatch import run_command, run_slow

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


def run_as(services: Services, text: str, *, user: str, channel: str, key: str) -> str:
    """Run one command's text as `user`; any refusal comes back as text."""
    try:
        parsed = commands.parse(text)
        if isinstance(parsed, commands.Try | commands.Compare):
            blocks, fallback = run_slow(services, parsed, channel=channel)
        else:
            blocks, fallback = run_command(services, parsed, user=user, channel=channel, key=key)
    except (commands.UsageError, UserError) as error:
        return str(error)
    return blocks_text(blocks, fallback)


def _confirmation(text: str, user: str, channel: str, estimate: str) -> list[Any]:
    value = json.dumps({"u": user, "c": channel, "t": text})
    return [
        SectionBlock(text=f"<@{user}> I'm about to run `/finetune {text}`{estimate}. Confirm?"),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Confirm", action_id=ids.CONFIRM_COMMAND, value=value, style="primary"
                )
            ]
        ),
    ]


def register(app: App, services: Services) -> None:
    """app_mention and DM listeners, and the confirmation button."""
    gateway = services.jobs.gateway

    def chat(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
        assert gateway is not None
        return gateway.chat_with_tools(
            model=services.settings.FTBOT_CHAT_MODEL, messages=messages, tools=tools
        )

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
        if event_id and not services.deliveries.first_time(
            event_id=event_id, now=services.datasets.now()
        ):
            return  # a Slack retry of a message already answered
        user, channel, ts = event.get("user") or "", event["channel"], event["ts"]
        thread = event.get("thread_ts") or ts
        text = _MENTION.sub("", event.get("text") or "").strip()
        conversation = Conversation(
            chat=chat if gateway is not None else None,
            run=lambda command: run_as(
                services, command, user=user, channel=channel, key=f"nl:{ts}"
            ),
        )
        reply = conversation.reply(text=text, context=context(client, channel, thread, ts))
        client.chat_postMessage(channel=channel, thread_ts=thread, text=reply.text)
        for command in reply.confirm:
            estimate = ""
            parsed = commands.parse(command)
            if isinstance(parsed, commands.Start):
                try:
                    cost = services.jobs.plan(parsed, channel).estimate.cost_usd
                    estimate = f" (estimated ${cost:,.2f})"
                except UserError as error:
                    client.chat_postMessage(channel=channel, thread_ts=thread, text=str(error))
                    continue
            blocks = _confirmation(command, user, channel, estimate)
            client.chat_postMessage(
                channel=channel,
                thread_ts=thread,
                text=f"Confirm `/finetune {command}`?",
                blocks=blocks,
            )

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

    @app.action(ids.CONFIRM_COMMAND)
    def handle_confirm(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        request = payloads.json_button(body, u=str, c=str, t=str)
        actor = body["user"]["id"]
        channel = request["c"]
        message_ts = (body.get("container") or {}).get("message_ts") or ""
        if actor != request["u"] and not services.jobs.is_admin(actor):
            client.chat_postEphemeral(
                channel=channel,
                user=actor,
                text=f"Only <@{request['u']}> (who asked) or an admin can confirm this.",
            )
            return
        if not services.deliveries.first_time(
            event_id=f"confirm:{channel}:{message_ts}", now=services.datasets.now()
        ):
            return  # a double click
        result = run_as(services, request["t"], user=actor, channel=channel, key=f"nl:{message_ts}")
        client.chat_update(
            channel=channel,
            ts=message_ts,
            text=f"<@{actor}> confirmed `/finetune {request['t']}`: {result}",
            blocks=[],
        )
