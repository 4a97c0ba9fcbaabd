"""The catch-up listing over the real WebClient and the fake Slack: pages, membership, own files."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from handlers import slack_catchup
from handlers.slack_catchup import SlackRecentFiles
from tests.fakes.fake_slack import FakeSlack


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake
        assert not fake.errors, fake.errors


def listing(slack: FakeSlack) -> SlackRecentFiles:
    client = WebClient(base_url=slack.base_url, token=slack.bot_token, timeout=5)
    return SlackRecentFiles(client=client, bot_user_id=slack.bot_user_id)


def test_pages_membership_and_own_files(slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slack_catchup, "PAGE_SIZE", 2)
    now = int(time.time())
    for n in range(5):  # five conversations the bot is in: three pages of users.conversations
        slack.add_channel(f"C{n}")
    slack.add_channel("C9", members=["U1"])  # public, without the bot
    slack.add_channel("G1", members=["U1", "UBOT"])
    files = [
        slack.add_file(b"{}\n", name=f"f{n}.jsonl", channel=f"C{n}", ts=f"{now - 100 + n}.000100")
        for n in range(5)
    ]
    private = slack.add_file(b"{}\n", name="p.jsonl", channel="G1", ts=f"{now - 50}.000100")
    dm = slack.add_file(b"{}\n", name="d.jsonl", channel="D1", ts=f"{now - 40}.000100")
    slack.add_file(b"{}\n", name="own.jsonl", channel="C1", user="UBOT", ts=f"{now - 30}.000100")
    slack.add_file(b"{}\n", name="away.jsonl", channel="C9", ts=f"{now - 20}.000100")
    slack.add_file(b"{}\n", name="older.jsonl", channel="C1", ts=f"{now - 500}.000100")

    found = listing(slack).shared_between(
        oldest=dt.datetime.fromtimestamp(now - 100, dt.UTC),
        latest=dt.datetime.fromtimestamp(now, dt.UTC),
    )
    expected = [(dm["id"], "D1"), (private["id"], "G1")]
    expected += [(f["id"], f"C{n}") for n, f in reversed(list(enumerate(files)))]
    assert [(f.id, f.channel_id) for f in found] == expected
    assert found[-1].created == dt.datetime.fromtimestamp(now - 100, dt.UTC)
    assert found[-1].name == "f0.jsonl" and found[-1].user_id == "U1"
    assert len(slack.calls_to("files.list")) == 5  # 9 visible files, 2 a page
    assert len(slack.calls_to("users.conversations")) == 4  # C0-C4, G1 and D1 (not C9)


def test_a_quiet_window_costs_one_call(slack: FakeSlack) -> None:
    now = dt.datetime.now(dt.UTC)
    assert listing(slack).shared_between(oldest=now - dt.timedelta(minutes=10), latest=now) == []
    assert [c.method for c in slack.calls] == ["files.list"]
