"""Rate limits, large-file progress, download caps, errors users see, and health."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from slack_sdk import WebClient

from bot.services import datasets as intake
from bot.services.ports import DownloadRefused
from handlers.errors import SORRY
from handlers.slack_files import SlackFileSource, allowed_hosts
from tests.conftest import DATA, shared
from tests.e2e.conftest import Bot, wait_for
from tests.e2e.test_datasets import drop, reports
from tests.fakes.fake_slack import FakeSlack

pytestmark = pytest.mark.db


def test_slack_429_is_retried_after_retry_after(bot: Bot) -> None:
    bot.slack.fail_next("chat.postMessage", status=429, retry_after=1)
    drop(bot, (DATA / "bom.jsonl").read_bytes(), "bom.jsonl")
    wait_for(lambda: reports(bot.slack), what="the report", timeout=20)
    posts = bot.slack.calls_to("chat.postMessage")
    assert [c.status for c in posts][:2] == [429, 200]
    assert posts[1].time - posts[0].time >= 1.0  # not re-sent before Retry-After
    assert len(reports(bot.slack)) == 1


def test_large_file_shows_progress_then_becomes_the_report(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "LARGE_FILE", 1)  # every file counts as large
    file = drop(bot, shared("drone_training.jsonl").read_bytes(), "drone.jsonl")
    ts = file["shares"]["public"]["C1"][0]["ts"]
    report = wait_for(lambda: reports(bot.slack), what="the report")[0]
    replies = [m for m in bot.slack.thread("C1", ts) if m["ts"] != ts]
    assert len(replies) == 1 and replies[0]["ts"] == report["ts"]  # one message, edited
    assert report["edit_count"] >= 2  # "Validating…", then the report
    assert "Downloading `drone.jsonl`" in bot.slack.calls_to("chat.postMessage")[0].params["text"]


def test_download_is_aborted_past_the_cap() -> None:
    with FakeSlack() as slack:
        content = (DATA / "bom.jsonl").read_bytes()
        file = slack.add_file(content, name="bom.jsonl")
        source = SlackFileSource(
            client=WebClient(token=slack.bot_token, base_url=slack.base_url),
            token=slack.bot_token,
            hosts=allowed_hosts(slack.base_url),
        )
        remote = source.info(file["id"], "C1")
        assert remote.size == len(content) and remote.thread_ts
        lying = dataclasses.replace(remote, size=10)  # files.info may understate
        dest = Path(tempfile.mkdtemp()) / "x.jsonl"
        with pytest.raises(DownloadRefused, match="larger than the limit"):
            source.download(lying, dest, max_bytes=100)
        assert dest.stat().st_size <= 100  # never wrote past the cap
        assert (
            source.download(remote, dest, max_bytes=len(content))
            == __import__("hashlib").sha256(content).hexdigest()
        )
    assert not slack.errors, slack.errors


def test_unexpected_errors_reach_the_user_as_one_friendly_line(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(channel_id: str, viewer: object) -> list:
        raise RuntimeError("database exploded: password=hunter2")

    monkeypatch.setattr(bot.services.datasets, "channel_datasets", broken)
    status, payload = bot.command("datasets")
    assert status == 200
    assert payload["text"] == SORRY and payload["response_type"] == "ephemeral"
    assert "hunter2" not in json.dumps(payload) and "Traceback" not in json.dumps(payload)


def test_healthz_is_503_when_the_database_is_gone(bot: Bot) -> None:
    from sqlalchemy import create_engine

    bot.services.engine = create_engine("sqlite:////nonexistent-dir/x.db")
    with pytest.raises(HTTPError) as info:
        urlopen(f"{bot.server.url}/healthz", timeout=5)
    assert info.value.code == 503
