"""Dataset doctor in Slack (issue 17, product §11): Fix it and Split on a dataset's report, through
signed clicks and the fake Slack's upload flow; the uploaded files checked line by line, each
reported as a dataset of the channel owned by the clicker; once per dataset; access re-checked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers import ids
from storage.repositories import DatasetRepository
from tests.conftest import shared
from tests.e2e.conftest import Bot, wait_for
from tests.e2e.test_datasets import block_text, drop, reports
from tests.e2e.test_jobs import ephemerals
from tests.fakes.fake_slack import FakeSlack

pytestmark = pytest.mark.db

DRONE = shared("drone_training.jsonl").read_bytes().splitlines()
NO_REPLY = b'{"messages": [{"role": "user", "content": "hello?"}]}'


def report_of(slack: FakeSlack, file_id: str, channel: str = "C1") -> dict[str, Any] | None:
    key = f"dataset:{file_id}"
    return next(
        (m for m in reports(slack, channel) if m["metadata"]["event_payload"]["key"] == key), None
    )


def root_ts(file: dict[str, Any], channel: str = "C1") -> str:
    kind = "private" if channel[:1] in "DG" else "public"
    return str(file["shares"][kind][channel][0]["ts"])


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        e["action_id"]
        for b in message.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def stored(bot: Bot, file_id: str) -> Any:
    return DatasetRepository(engine=bot.services.engine).get(slack_file_id=file_id)


def test_fix_uploads_the_repaired_copy_once_and_it_gets_its_own_report(bot: Bot) -> None:
    lines = [*DRONE[:50], b"{not json", DRONE[3], *DRONE[50:], NO_REPLY]
    file = drop(bot, b"\xef\xbb\xbf" + b"\n".join(lines), "drone <!here>.jsonl")
    report = wait_for(lambda: report_of(bot.slack, file["id"]), what="the report")
    assert buttons(report) == [
        ids.DATASET_FIX,
        ids.DATASET_MODERATE,
    ]  # needs fixes: no Start, no Split
    for _ in range(2):  # a double click
        assert bot.click(ids.DATASET_FIX, file["id"], user="U2") == 200
    upload = wait_for(lambda: bot.slack.uploaded_files, what="the upload")[0]
    assert upload.filename == "drone <!here>.fixed.jsonl"
    assert upload.channel_id == "C1" and upload.thread_ts == root_ts(file)
    assert upload.content.splitlines() == DRONE  # line by line, byte for byte
    comment = upload.initial_comment or ""
    for needle in (
        "<@U2> fixed `drone &lt;!here&gt;.jsonl` into `drone &lt;!here&gt;.fixed.jsonl`",
        "103 of 106 examples remain.",
        "Removed the byte-order mark at the start of the file.",
        "Removed 1 invalid example: Not valid JSON (line 51).",
        "Removed 1 invalid example: No assistant message (line 106).",
        "Removed 1 exact duplicate of an earlier example (line 52).",
    ):
        assert needle in comment, comment
    assert "<!here>" not in comment
    fixed = wait_for(lambda: report_of(bot.slack, upload.id), what="the fixed file's report")
    assert fixed["thread_ts"] == root_ts(file)
    assert "Ready to train" in block_text(fixed) and "drone" in block_text(fixed)
    assert buttons(fixed)[:2] == [ids.DATASET_START, ids.DATASET_UPLOAD]
    record = stored(bot, upload.id)
    assert (record.channel_id, record.uploader_id, record.examples) == ("C1", "U2", 103)
    wait_for(lambda: any("already fixed" in t for t in ephemerals(bot.slack)), what="refusal")
    assert len(bot.slack.uploaded_files) == 1
    assert len(bot.slack.calls_to("files.completeUploadExternal")) == 1


def test_fix_asks_drop_or_trim_and_trims_the_oldest_turn(bot: Bot) -> None:
    long_turn = [
        {"role": "user", "content": "word " * 70_000},
        {"role": "assistant", "content": "first answer"},
    ]
    last_turn = [
        {"role": "user", "content": "short question"},
        {"role": "assistant", "content": "last answer"},
    ]
    system = {"role": "system", "content": "You are a drone assistant."}
    long_example = json.dumps({"messages": [system, *long_turn, *last_turn]}).encode()
    file = drop(bot, b"\n".join([*DRONE[:20], long_example]), "long.jsonl")
    wait_for(lambda: report_of(bot.slack, file["id"]), what="the report")
    assert bot.click(ids.DATASET_FIX, file["id"]) == 200
    choice = wait_for(lambda: bot.slack.calls_to("chat.postEphemeral"), what="the choice")[0]
    assert "1 example over the model's token limit" in choice.params["text"]
    values = [
        json.loads(e["value"])
        for b in choice.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert values == [{"f": file["id"], "m": "drop"}, {"f": file["id"], "m": "trim"}]
    assert not bot.slack.uploaded_files  # nothing happens until the user picks
    assert bot.click(ids.DATASET_FIX_MODE, json.dumps(values[1])) == 200
    upload = wait_for(lambda: bot.slack.uploaded_files, what="the upload")[0]
    out = upload.content.splitlines()
    assert out[:20] == DRONE[:20]
    assert json.loads(out[20]) == {"messages": [system, *last_turn]}
    assert "Trimmed 1 example to fit the 65,536-token limit (line 21)" in (
        upload.initial_comment or ""
    )
    wait_for(lambda: report_of(bot.slack, upload.id), what="the fixed file's report")


def test_split_uploads_both_parts_and_the_training_form_preselects_validation(bot: Bot) -> None:
    file = drop(bot, b"\n".join(DRONE), "drone.jsonl")
    report = wait_for(lambda: report_of(bot.slack, file["id"]), what="the report")
    assert ids.DATASET_SPLIT in buttons(report) and ids.DATASET_FIX not in buttons(report)
    for _ in range(2):
        assert bot.click(ids.DATASET_SPLIT, file["id"], user="U3") == 200
    wait_for(lambda: len(bot.slack.uploaded_files) == 2, what="both parts")
    validation, train = bot.slack.uploaded_files
    assert (validation.filename, train.filename) == ("drone.validation.jsonl", "drone.train.jsonl")
    assert train.thread_ts == validation.thread_ts == root_ts(file)
    assert len(bot.slack.calls_to("files.completeUploadExternal")) == 1  # one upload call
    held, kept = validation.content.splitlines(), train.content.splitlines()
    assert (len(kept), len(held)) == (93, 10)
    assert sorted(kept + held) == sorted(DRONE)
    assert kept == [line for line in DRONE if line not in held]  # file order kept
    assert "93 examples for training" in (train.initial_comment or "")
    for part in (validation, train):
        wait_for(lambda part=part: report_of(bot.slack, part.id), what=f"{part.filename} report")
        assert stored(bot, part.id).uploader_id == "U3"
    trigger = bot.slack.new_trigger_id()
    assert bot.click(ids.DATASET_START, train.id, user="U3", trigger_id=trigger) == 200
    opened = wait_for(lambda: bot.slack.calls_to("views.open"), what="views.open")[0]
    view = opened.response["view"]
    block = next(b for b in view["blocks"] if b.get("block_id") == "validation")
    assert block["element"]["initial_option"]["value"] == validation.id
    wait_for(lambda: any("already split" in t for t in ephemerals(bot.slack)), what="refusal")
    assert len(bot.slack.calls_to("files.completeUploadExternal")) == 1


def test_only_members_of_the_datasets_channel_may_fix_or_split_it(bot: Bot) -> None:
    bot.slack.ensure_user("UIN")
    bot.slack.ensure_user("UOUT")
    bot.slack.add_channel("C9", name="secret", members=["UIN", bot.slack.bot_user_id])
    broken = drop(bot, b"\n".join([*DRONE, b"{x"]), "secret.jsonl", channel="C9", user="UIN")
    fine = drop(bot, b"\n".join(DRONE), "fine.jsonl", channel="C9", user="UIN")
    for f in (broken, fine):
        wait_for(lambda f=f: report_of(bot.slack, f["id"], "C9"), what="the reports")
    assert bot.click(ids.DATASET_FIX, broken["id"], user="UOUT", channel="C1") == 200
    assert bot.click(ids.DATASET_SPLIT, fine["id"], user="UOUT", channel="C1") == 200
    fake = json.dumps({"f": broken["id"], "m": "trim"})
    assert bot.click(ids.DATASET_FIX_MODE, fake, user="UOUT", channel="C1") == 200
    assert bot.click(ids.DATASET_FIX, "F_NO_SUCH_FILE", user="UOUT", channel="C1") == 200
    wait_for(lambda: len(ephemerals(bot.slack)) == 4, what="four refusals")
    assert set(ephemerals(bot.slack)) == {
        "I can't find that dataset (it may have been shared where you can't see it)."
    }
    assert not bot.slack.uploaded_files
    assert all("secret" not in t for t in ephemerals(bot.slack))
