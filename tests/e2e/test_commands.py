"""/finetune help, datasets, and malformed input, through signed slash commands."""

from __future__ import annotations

import json

import pytest

from tests.conftest import DATA
from tests.e2e.conftest import Bot, wait_for
from tests.e2e.test_datasets import drop, reports

pytestmark = pytest.mark.db


def test_help_lists_every_subcommand_with_an_example(bot: Bot) -> None:
    status, payload = bot.command("help")
    assert status == 200
    assert payload.get("response_type", "ephemeral") == "ephemeral"
    text = json.dumps(payload["blocks"])
    assert "/finetune datasets" in text and "/finetune help" in text and "e.g." in text
    # the wind-down path: what happens at OpenAI's 403 and the button
    assert "training_not_available" in text and "Start on" in text, text
    assert "deploy gpt-4o-mini-2024-07-18 name=base" in text


def test_empty_command_shows_help(bot: Bot) -> None:
    status, payload = bot.command("")
    assert status == 200 and "/finetune datasets" in json.dumps(payload)


@pytest.mark.parametrize("text", ["frobnicate", "datasets extra", 'help "unclosed'])
def test_unknown_or_malformed_gets_an_ephemeral_usage_line(bot: Bot, text: str) -> None:
    status, payload = bot.command(text)
    assert status == 200
    assert "Usage" in payload["text"] and "Traceback" not in payload["text"]
    assert "blocks" not in payload or not payload["blocks"]
    assert bot.slack.calls_to("chat.postMessage") == []  # nothing in the channel


def test_datasets_lists_this_channels_datasets(bot: Bot) -> None:
    drop(bot, (DATA / "bom.jsonl").read_bytes(), "good.jsonl", user="U7")
    drop(bot, (DATA / "invalid_json.jsonl").read_bytes(), "bad.jsonl", user="U8")
    drop(bot, (DATA / "bom.jsonl").read_bytes(), "other.jsonl", channel="C2")
    wait_for(lambda: len(reports(bot.slack)) == 2, what="two reports")
    wait_for(lambda: all(r["status"] == "reported" for r in _stored(bot)), what="stored reports")
    status, payload = bot.command("datasets", channel="C1")
    text = json.dumps(payload["blocks"], ensure_ascii=False)
    assert status == 200
    assert "good.jsonl" in text and "bad.jsonl" in text and "other.jsonl" not in text
    assert "<@U7>" in text and "<@U8>" in text
    assert "✅ ready" in text and "⚠️ needs fixes" in text
    assert "10 examples" in text


def _stored(bot: Bot) -> list[dict]:
    return [
        {"status": d.status}
        for c in ("C1", "C2")
        for d in bot.services.datasets._repo.in_channel(channel_id=c)
    ]


def test_datasets_in_an_empty_channel(bot: Bot) -> None:
    status, payload = bot.command("datasets", channel="C9")
    assert status == 200 and "No datasets" in payload["text"]


def test_healthz(bot: Bot) -> None:
    from urllib.request import urlopen

    with urlopen(f"{bot.server.url}/healthz", timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"ok": True}
