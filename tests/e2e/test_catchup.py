"""No upload lost: files shared while the bot or its database was down are found again in Slack
(users.conversations + files.list) and reported exactly once, within a bounded window."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from sqlalchemy import Engine, make_url

from bot.services.ports import RemoteFile
from handlers.slack_files import SlackFileSource
from storage.catchup import CatchupRepository
from storage.db import make_engine
from storage.repositories import DatasetRepository
from tests.conftest import DATA
from tests.db import backend
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_datasets import reports
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.signing import file_share_message_event, file_shared_event
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.db

BOM = (DATA / "bom.jsonl").read_bytes()  # a small valid dataset


class ShiftedClock:
    """The wall clock, moved by `delta`."""

    def __init__(self, delta: dt.timedelta) -> None:
        self.delta = delta

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.delta


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A second engine on the bot's database, to look at what it stored."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def share_ts(file: dict, channel: str = "C1") -> str:
    kind = "private" if channel[0] in "DG" else "public"
    return file["shares"][kind][channel][0]["ts"]


def caught_up(engine: Engine) -> dt.datetime | None:
    return CatchupRepository(engine=engine).caught_up_to()


def has_row(engine: Engine, file: dict) -> bool:
    return DatasetRepository(engine=engine).get(slack_file_id=file["id"]) is not None


def test_a_file_shared_while_the_bot_was_down_is_reported_once_when_it_starts(
    slack: FakeSlack, database_url: str, engine: Engine, openai: FakeOpenAI
) -> None:
    before = slack.add_file(BOM, name="before.jsonl", ts=f"{time.time() - 60:.6f}")
    first = start_bot(slack, database_url, openai, poll=True)
    try:
        wait_for(lambda: caught_up(engine), what="the catch-up pass at start")
    finally:
        first.stop()
    assert not has_row(engine, before)  # shared before the bot ever ran: a fresh install's past

    file = slack.add_file(BOM, name="while_down.jsonl")  # no event reaches a stopped bot
    own = slack.add_file(BOM, name="own.jsonl", user="UBOT")
    second = start_bot(slack, database_url, openai, poll=True)
    try:
        report = wait_for(lambda: reports(slack), what="the caught-up report")[0]
        ts = share_ts(file)
        assert report["thread_ts"] == ts and "while_down.jsonl" in report["text"]
        wait_for(lambda: "white_check_mark" in slack.reactions("C1", ts), what="verdict")
        # Slack's late retries of the same upload change nothing
        assert second.event(file_shared_event(file["id"], "C1", "U1"), retry_num=1) == 200
        assert second.event(file_share_message_event(file, "C1", "U1", ts), retry_num=1) == 200
    finally:
        second.stop()  # waits for every listener and check to finish
    assert [r["thread_ts"] for r in reports(slack)] == [ts]
    assert not has_row(engine, own) and not has_row(engine, before)
    listed = slack.calls_to("files.list")[-1].params
    assert int(listed["ts_from"]) <= int(float(ts)) <= int(listed["ts_to"])
    conversations = slack.calls_to("users.conversations")[-1].params
    assert set(conversations["types"].split(",")) == {"public_channel", "private_channel", "mpim", "im"}  # fmt: skip


def test_the_catch_up_stays_within_its_window_and_the_bots_conversations(
    slack: FakeSlack, database_url: str, engine: Engine, openai: FakeOpenAI
) -> None:
    start_bot(slack, database_url, openai, clock=ShiftedClock(-dt.timedelta(days=3))).stop()
    now = time.time()
    old = slack.add_file(BOM, name="old.jsonl", ts=f"{now - 2 * 86400:.6f}")  # past the 24 h
    recent = slack.add_file(BOM, name="recent.jsonl", channel="G1", ts=f"{now - 3600:.6f}")
    picture = slack.add_file(b"\x89PNG", name="chart.png", ts=f"{now - 3500:.6f}")
    slack.add_channel("C9", members=["U1"])  # a public channel the bot is not in
    elsewhere = slack.add_file(BOM, name="elsewhere.jsonl", channel="C9", ts=f"{now - 3400:.6f}")
    bot = start_bot(slack, database_url, openai, poll=True)
    try:
        report = wait_for(lambda: reports(slack, "G1"), what="the caught-up report")[0]
        wait_for(lambda: caught_up(engine), what="the pass to finish")
    finally:
        bot.stop()
    assert report["thread_ts"] == share_ts(recent, "G1")
    assert [has_row(engine, f) for f in (old, picture, elsewhere)] == [False, False, False]
    assert reports(slack) == [] and reports(slack, "C9") == []
    ts_from = int(slack.calls_to("files.list")[-1].params["ts_from"])
    assert now - 86400 - 60 <= ts_from <= now - 86400 + 60


def _healthz(bot: Bot) -> int:
    try:
        with urlopen(f"{bot.server.url}/healthz", timeout=10) as response:
            return response.status
    except HTTPError as error:
        return error.code


@pytest.mark.skipif(backend() != "postgresql", reason="needs FTBOT_TEST_DATABASE_URL (PostgreSQL)")
def test_a_file_shared_while_the_database_is_cut_is_reported_once_it_is_back(
    slack: FakeSlack,
    database_url: str,
    engine: Engine,
    openai: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.services.datasets")
    url = make_url(database_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        bot = start_bot(slack, proxied, openai, poll=True)
        try:
            wait_for(lambda: caught_up(engine), what="the catch-up pass at start")
            proxy.cut()
            file = slack.add_file(BOM, name="during_outage.jsonl")
            ts = share_ts(file)
            assert bot.event(file_share_message_event(file, "C1", "U1", ts)) == 200
            assert bot.event(file_shared_event(file["id"], "C1", "U1")) == 200
            missed = lambda: [r for r in caplog.records if file["id"] in r.getMessage()]  # noqa: E731
            wait_for(lambda: len(missed()) == 2, what="both events to meet the outage")
            assert [r.levelno for r in missed()] == [logging.WARNING, logging.DEBUG]
            assert _healthz(bot) == 503
            bot.services.datasets.housekeep()  # a pass during the outage: no raise, no new warning
            assert [m for m in slack.messages("C1") if m.get("user") == "UBOT"] == []

            proxy.restore()
            report = wait_for(lambda: reports(slack), what="the report after the outage")[0]
            assert report["thread_ts"] == ts
            wait_for(lambda: "white_check_mark" in slack.reactions("C1", ts), what="verdict")
            assert _healthz(bot) == 200
            # Slack retries the event (it was acked, but a retry may come anyway): no second report
            assert bot.event(file_shared_event(file["id"], "C1", "U1"), retry_num=1) == 200
            assert bot.event(file_share_message_event(file, "C1", "U1", ts), retry_num=1) == 200
        finally:
            bot.stop()
        assert proxy.refused > 0  # the bot did try to reach the database while it was cut
    assert [r["thread_ts"] for r in reports(slack)] == [ts]
    ours = [r for r in caplog.records if r.name.split(".")[0] in ("bot", "handlers", "slack_bolt")]
    warnings = [r for r in ours if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "database unreachable" in warnings[0].getMessage()
    assert [r for r in ours if r.levelno >= logging.ERROR or r.exc_info] == []
    assert any("reachable again" in r.getMessage() for r in ours)


@pytest.mark.skipif(backend() != "postgresql", reason="needs FTBOT_TEST_DATABASE_URL (PostgreSQL)")
def test_a_check_cut_short_by_the_database_resumes_once_it_is_back(
    slack: FakeSlack,
    database_url: str,
    engine: Engine,
    openai: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = make_url(database_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        bot = start_bot(slack, proxied, openai, poll=True)
        original, cuts = SlackFileSource.info, []

        def info_then_cut(self: SlackFileSource, file_id: str, channel_id: str) -> RemoteFile:
            remote = original(self, file_id, channel_id)
            if not cuts:  # the database goes away while the first check is under way
                cuts.append(file_id)
                proxy.cut()
            return remote

        monkeypatch.setattr(SlackFileSource, "info", info_then_cut)
        try:
            file = slack.add_file(BOM, name="mid_check.jsonl")
            ts = share_ts(file)
            assert bot.event(file_share_message_event(file, "C1", "U1", ts)) == 200
            wait_for(
                lambda: any("database unreachable" in r.getMessage() for r in caplog.records),
                what="the check to meet the outage",
            )
            assert reports(slack) == [] and has_row(engine, file)  # claimed, not yet reported
            proxy.restore()
            report = wait_for(lambda: reports(slack), what="the resumed report")[0]
            assert report["thread_ts"] == ts
            wait_for(lambda: "white_check_mark" in slack.reactions("C1", ts), what="verdict")
        finally:
            bot.stop()
    assert cuts == [file["id"]] and [r["thread_ts"] for r in reports(slack)] == [ts]
    assert "hourglass_flowing_sand" not in slack.reactions("C1", ts)
