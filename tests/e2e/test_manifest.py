"""docs/slack-app-manifest.json against the running bot: every command and event is handled.

Bolt answers 200 to any event (and a catch-all listener takes the messages the bot ignores),
so a 200 proves nothing: each subscribed event is sent in the shape the bot acts on, and the
test waits for what its listener does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import SECRET, Bot, wait_for
from tests.e2e.test_datasets import reports
from tests.fakes.signing import (
    app_mention_event,
    command_request,
    dm_message_event,
    file_share_message_event,
    file_shared_event,
)

pytestmark = pytest.mark.db

MANIFEST = json.loads(
    (Path(__file__).resolve().parents[2] / "docs/slack-app-manifest.json").read_text()
)
DATASET = (
    b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n'
)


def _shared_file(bot: Bot, channel: str) -> tuple[dict[str, Any], str]:
    """A dataset uploaded to `channel` (the fake's record of it) and its message ts."""
    file = bot.slack.add_file(DATASET, name="tiny.jsonl", channel=channel, user="U1")
    shares = {**file["shares"].get("public", {}), **file["shares"].get("private", {})}
    return file, shares[channel][0]["ts"]


def _replies(bot: Bot, channel: str, ts: str) -> list[dict[str, Any]]:
    return [m for m in bot.slack.thread(channel, ts) if m["ts"] != ts]


def file_shared(bot: Bot) -> Callable[[], object]:
    file, _ = _shared_file(bot, "C1")
    assert bot.event(file_shared_event(file["id"], "C1", "U1")) == 200
    return lambda: reports(bot.slack, "C1")


def message_channels(bot: Bot) -> Callable[[], object]:
    file, ts = _shared_file(bot, "C1")
    assert bot.event(file_share_message_event(file, "C1", "U1", ts, "channel")) == 200
    return lambda: reports(bot.slack, "C1")


def message_groups(bot: Bot) -> Callable[[], object]:
    bot.slack.add_channel("G1", members=["U1", "UBOT"])
    file, ts = _shared_file(bot, "G1")
    assert bot.event(file_share_message_event(file, "G1", "U1", ts, "group")) == 200
    return lambda: reports(bot.slack, "G1")


def message_im(bot: Bot) -> Callable[[], object]:
    ts = "1700000300.000100"
    assert bot.event(dm_message_event("help", channel="D1", user="U1", ts=ts)) == 200
    return lambda: _replies(bot, "D1", ts)


def app_mention(bot: Bot) -> Callable[[], object]:
    ts = "1700000400.000100"
    assert bot.event(app_mention_event("help", channel="C1", user="U1", ts=ts)) == 200
    return lambda: _replies(bot, "C1", ts)


def app_home_opened(bot: Bot) -> Callable[[], object]:
    home = {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}
    assert bot.event(home) == 200
    return lambda: bot.slack.home_views.get("U1")


# Each subscribed event, sent as Slack would, and the effect its listener must have.
EFFECTS: dict[str, Callable[[Bot], Callable[[], object]]] = {
    "file_shared": file_shared,  # the file is checked and reported
    "message.channels": message_channels,  # a file shared in a public channel: reported
    "message.groups": message_groups,  # ... in a private channel: reported
    "message.im": message_im,  # a DM: answered
    "app_mention": app_mention,  # a mention: answered in its thread
    "app_home_opened": app_home_opened,  # the Home tab is published
}


def test_manifest_points_every_url_at_the_events_endpoint() -> None:
    settings = MANIFEST["settings"]
    urls = [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ]
    urls += [c["url"] for c in MANIFEST["features"]["slash_commands"]]
    assert all(url.endswith("/slack/events") for url in urls)


@pytest.mark.parametrize("name", MANIFEST["settings"]["event_subscriptions"]["bot_events"])
def test_every_subscribed_event_has_a_listener_that_acts(bot: Bot, name: str) -> None:
    assert name in EFFECTS, f"add {name} to EFFECTS: the event and what the bot does with it"
    effect = EFFECTS[name](bot)
    wait_for(effect, what=f"the {name} listener's effect")


def _command(bot: Bot, command: str, text: str) -> tuple[int, Any]:
    bot.slack.ensure_user("U1")
    body, headers = command_request(command, text, secret=SECRET, user_id="U1", channel_id="C1")
    status, payload = bot.send(body, headers)
    return status, json.loads(payload) if payload else None


@pytest.mark.parametrize("command", [c["command"] for c in MANIFEST["features"]["slash_commands"]])
def test_every_command_is_handled(bot: Bot, command: str) -> None:
    status, payload = _command(bot, command, "help")
    assert status == 200 and payload and f"{command} " in payload["text"], payload


def test_a_command_without_a_listener_is_not_answered(bot: Bot) -> None:
    """What makes the test above fail for a manifest command the bot does not listen to."""
    status, payload = _command(bot, "/not-in-the-manifest", "help")
    assert status != 200, payload
