"""docs/slack-app-manifest.json against the running bot: every command and event is handled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Bot

pytestmark = pytest.mark.db

MANIFEST = json.loads(
    (Path(__file__).resolve().parents[2] / "docs/slack-app-manifest.json").read_text()
)

# A minimal event of each subscribed type, as Slack would send it.
SAMPLE_EVENTS = {
    "file_shared": {"type": "file_shared", "file_id": "FNOPE", "user_id": "UBOT", "channel_id": "C1"},
    "message.channels": {"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "1.1", "channel_type": "channel"},
    "message.groups": {"type": "message", "channel": "G1", "user": "U1", "text": "hi", "ts": "1.2", "channel_type": "group"},
    "message.im": {"type": "message", "channel": "D1", "user": "U1", "text": "hi", "ts": "1.3", "channel_type": "im"},
    "app_mention": {"type": "app_mention", "channel": "C1", "user": "U1", "text": "<@UBOT> hi", "ts": "1.4"},
    "app_home_opened": {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"},
}  # fmt: skip


def test_manifest_points_every_url_at_the_events_endpoint() -> None:
    settings = MANIFEST["settings"]
    urls = [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ]
    urls += [c["url"] for c in MANIFEST["features"]["slash_commands"]]
    assert all(url.endswith("/slack/events") for url in urls)


@pytest.mark.parametrize("name", MANIFEST["settings"]["event_subscriptions"]["bot_events"])
def test_every_subscribed_event_is_handled(bot: Bot, name: str) -> None:
    assert name in SAMPLE_EVENTS, f"add a sample for {name}"
    assert bot.event(SAMPLE_EVENTS[name]) == 200


@pytest.mark.parametrize("command", [c["command"] for c in MANIFEST["features"]["slash_commands"]])
def test_every_command_is_handled(bot: Bot, command: str) -> None:
    assert command == "/finetune"
    status, payload = bot.command("help")
    assert status == 200 and payload["text"]
