"""Dropping datasets into Slack: one threaded report per file, whatever Slack or the bot does."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from tests.conftest import DATA, shared
from tests.e2e.conftest import SECRET, Bot, start_bot, wait_for
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.signing import event_request, file_share_message_event, file_shared_event

pytestmark = pytest.mark.db


def reports(slack: FakeSlack, channel: str = "C1") -> list[dict[str, Any]]:
    """Messages in the channel that carry a dataset report marker."""
    return [
        m
        for m in slack.messages(channel)
        if ((m.get("metadata") or {}).get("event_payload") or {})
        .get("key", "")
        .startswith("dataset:")
    ]


def drop(bot: Bot, content: bytes, name: str, *, channel: str = "C1", user: str = "U1") -> dict:
    """Share a file the way Slack announces it: a file_share message and a file_shared event."""
    file = bot.slack.add_file(content, name=name, channel=channel, user=user)
    ts = file["shares"]["private" if channel.startswith("D") else "public"][channel][0]["ts"]
    assert bot.event(file_share_message_event(file, channel, user, ts)) == 200
    assert bot.event(file_shared_event(file["id"], channel, user)) == 200
    return file


def block_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks") or [], ensure_ascii=False)


def test_upload_gets_exactly_one_threaded_report_with_the_right_numbers(bot: Bot) -> None:
    file = drop(bot, shared("toy_chat_fine_tuning.jsonl").read_bytes(), "toy.jsonl")
    report = wait_for(lambda: reports(bot.slack), what="the report")[0]
    root_ts = file["shares"]["public"]["C1"][0]["ts"]
    assert report["thread_ts"] == root_ts
    text = report["text"] + block_text(report)
    for needle in ("toy.jsonl", "Needs fixes", "8,233", "$0.49", "Too few examples",
                   "No system message", "line 3", "gpt-4.1-mini-2025-04-14"):  # fmt: skip
        assert needle in text, needle
    assert "8.2k" not in text
    # reactions: working while busy, then the verdict
    wait_for(lambda: "warning" in bot.slack.reactions("C1", root_ts), what="verdict reaction")
    assert "hourglass_flowing_sand" not in bot.slack.reactions("C1", root_ts)
    assert (
        next(c.params["name"] for c in bot.slack.calls_to("reactions.add"))
        == "hourglass_flowing_sand"
    )
    # no buttons on a dataset that needs fixes; the downloads used the bot token
    assert "dataset_start" not in block_text(report)
    assert len(reports(bot.slack)) == 1


def test_valid_dataset_gets_the_start_and_upload_buttons(bot: Bot) -> None:
    drop(bot, shared("drone_training.jsonl").read_bytes(), "drone.jsonl")
    report = wait_for(lambda: reports(bot.slack), what="the report")[0]
    blocks = block_text(report)
    assert "Ready to train" in blocks
    assert '"action_id": "dataset_start"' in blocks and "Start fine-tuning" in blocks
    assert "Upload only" in blocks
    assert "103" in blocks and "estimates" in blocks


def test_slack_retries_and_duplicate_events_give_one_report(bot: Bot) -> None:
    file = bot.slack.add_file((DATA / "bom.jsonl").read_bytes(), name="bom.jsonl", channel="C1")
    ts = file["shares"]["public"]["C1"][0]["ts"]
    shared_event = file_shared_event(file["id"], "C1", "U1")
    assert bot.event(shared_event, event_id="EvA") == 200
    assert bot.event(shared_event, event_id="EvA", retry_num=1, retry_reason="http_timeout") == 200
    assert bot.event(file_share_message_event(file, "C1", "U1", ts), event_id="EvB") == 200
    assert (
        bot.event(file_share_message_event(file, "C1", "U1", ts), event_id="EvB", retry_num=2)
        == 200
    )
    wait_for(lambda: reports(bot.slack), what="the report")
    wait_for(lambda: "white_check_mark" in bot.slack.reactions("C1", ts), what="done reaction")
    assert len(reports(bot.slack)) == 1
    assert len(bot.slack.calls_to("files.info")) == 1


def test_one_report_after_a_restart_on_the_same_database(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    first = start_bot(slack, database_url, openai)
    file = drop(first, (DATA / "bom.jsonl").read_bytes(), "bom.jsonl")
    wait_for(lambda: reports(slack), what="the report")
    first.stop()
    second = start_bot(slack, database_url, openai)
    try:
        # Slack retries the event after the restart, with the same or a new event id
        assert second.event(file_shared_event(file["id"], "C1", "U1")) == 200
        assert second.event(file_shared_event(file["id"], "C1", "U1"), retry_num=3) == 200
        status, payload = second.command("datasets")
        assert status == 200 and "bom.jsonl" in json.dumps(payload)
    finally:
        second.stop()
    assert len(reports(slack)) == 1


def test_two_replicas_on_one_database_report_once(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    replicas = [start_bot(slack, database_url, openai) for _ in range(2)]
    try:
        file = slack.add_file((DATA / "bom.jsonl").read_bytes(), name="bom.jsonl", channel="C1")
        ts = file["shares"]["public"]["C1"][0]["ts"]
        events = [
            file_shared_event(file["id"], "C1", "U1"),
            file_share_message_event(file, "C1", "U1", ts),
        ]
        threads = [
            threading.Thread(target=replica.event, args=(event,))
            for replica in replicas
            for event in events
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_for(lambda: "white_check_mark" in slack.reactions("C1", ts), what="done reaction")
    finally:
        for replica in replicas:
            replica.stop()
    assert len(reports(slack)) == 1


def test_forged_and_stale_requests_are_refused_and_do_nothing(bot: Bot) -> None:
    file = bot.slack.add_file(b"{}\n", name="x.jsonl", channel="C1")
    before = len(bot.slack.calls)
    body, headers = event_request(file_shared_event(file["id"], "C1", "U1"), secret="wrong")
    assert bot.send(body, headers)[0] == 401
    import time

    body, headers = event_request(
        file_shared_event(file["id"], "C1", "U1"), secret=SECRET, timestamp=int(time.time()) - 301
    )
    assert bot.send(body, headers)[0] == 401
    body, headers = event_request(file_shared_event(file["id"], "C1", "U1"), secret=SECRET)
    assert bot.send(body + b" ", headers)[0] == 401  # tampered after signing
    headers["X-Slack-Request-Timestamp"] = "9" * 5000
    assert bot.send(body, headers)[0] == 401
    assert bot.send(b"{not json", {"Content-Type": "application/json"})[0] == 401
    assert len(bot.slack.calls) == before


def test_oversize_file_is_refused_with_a_clear_message(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    small = start_bot(slack, database_url, openai, FTBOT_MAX_FILE_MB=0.01)  # 10 KiB
    try:
        file = drop(small, shared("toy_chat_fine_tuning.jsonl").read_bytes(), "toy.jsonl")
        ts = file["shares"]["public"]["C1"][0]["ts"]
        message = wait_for(
            lambda: [m for m in slack.thread("C1", ts) if "limit" in (m.get("text") or "")],
            what="refusal",
        )[0]
        assert "(an admin can raise it)" in message["text"] and "toy.jsonl" in message["text"]
        wait_for(lambda: "x" in slack.reactions("C1", ts), what="failed reaction")
        assert slack.downloads == []  # refused before downloading anything
        assert reports(slack) == []
    finally:
        small.stop()


def test_foreign_download_host_is_refused_without_sending_the_token(bot: Bot) -> None:
    with FakeSlack() as foreign:
        file = bot.slack.add_file(
            (DATA / "bom.jsonl").read_bytes(),
            name="elsewhere.jsonl",
            channel="C1",
            foreign_host=f"http://{foreign.host}",
        )
        ts = file["shares"]["public"]["C1"][0]["ts"]
        bot.event(file_shared_event(file["id"], "C1", "U1"))
        message = wait_for(
            lambda: [m for m in bot.slack.thread("C1", ts) if "file host" in (m.get("text") or "")],
            what="refusal",
        )[0]
        assert "elsewhere.jsonl" in message["text"]
        assert foreign.downloads == [] and foreign.calls == []
    assert not foreign.errors, foreign.errors


def test_redirect_to_another_host_is_not_followed(bot: Bot) -> None:
    with FakeSlack() as foreign:
        file = bot.slack.add_file(
            (DATA / "bom.jsonl").read_bytes(),
            name="moved.jsonl",
            channel="C1",
            redirect_to=f"http://{foreign.host}/files-pri/T1-F0/download/moved.jsonl",
        )
        bot.event(file_shared_event(file["id"], "C1", "U1"))
        ts = file["shares"]["public"]["C1"][0]["ts"]
        wait_for(lambda: "x" in bot.slack.reactions("C1", ts), what="failed reaction")
        assert foreign.downloads == [] and foreign.calls == []
    assert not foreign.errors, foreign.errors


def test_other_files_are_ignored_in_channels_and_answered_in_dms(bot: Bot) -> None:
    drop(bot, b"\x89PNG...", "chart.png", channel="C1")
    dm = drop(bot, b"%PDF-1.4", "notes.pdf", channel="D1")
    ts = dm["shares"]["private"]["D1"][0]["ts"]
    reply = wait_for(lambda: bot.slack.thread("D1", ts)[1:], what="DM answer")[0]
    assert "notes.pdf" in reply["text"] and ".jsonl" in reply["text"]
    assert [m for m in bot.slack.messages("C1") if m.get("thread_ts")] == []


def test_json_array_dataset(bot: Bot) -> None:
    drop(bot, (DATA / "array.json").read_bytes(), "array.json")
    report = wait_for(lambda: reports(bot.slack), what="the report")[0]
    assert "item 4" in block_text(report)


def test_a_check_cut_short_by_a_crash_is_resumed_at_start(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    from bot.services import datasets as intake
    from storage.db import make_engine
    from storage.repositories import DatasetRepository

    file = slack.add_file((DATA / "bom.jsonl").read_bytes(), name="bom.jsonl", channel="C1")
    ts = file["shares"]["public"]["C1"][0]["ts"]
    first = start_bot(slack, database_url, openai)
    first.stop()
    # a replica claimed the file and died before reporting
    engine = make_engine(database_url)
    DatasetRepository(engine=engine).claim(
        slack_file_id=file["id"], channel_id="C1", uploader_id="U1", thread_ts=ts,
        now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), lease=intake.CLAIM_LEASE,
    )  # fmt: skip
    engine.dispose()
    second = start_bot(slack, database_url, openai, poll=True)
    try:
        wait_for(lambda: reports(slack), what="the resumed report")
    finally:
        second.stop()
    assert len(reports(slack)) == 1
