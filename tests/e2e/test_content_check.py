"""The report's *Check content* button (issue 17 point 4, product §11) through signed clicks: every
example's text to the fake OpenAI's /v1/moderations in batches, one progress message in the
dataset's thread edited in place into the result (flagged lines and categories, never the text),
once per file and content, the no-key line, and the same refusal for a non-member as for
nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from handlers import ids
from tests.conftest import shared
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_datasets import reports
from tests.e2e.test_jobs import ephemerals
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether
from tests.fakes.signing import file_share_message_event, file_shared_event

pytestmark = pytest.mark.db

MODERATIONS = "/v1/moderations"
NO_KEY = (
    "The content check uses OpenAI's moderation endpoint; this bot has no OpenAI key configured."
)


def planted() -> bytes:
    """The drone dataset (103 examples) with a violent user turn on line 5 and a hateful reply
    on line 40."""
    lines = shared("drone_training.jsonl").read_bytes().splitlines()
    out = []
    for number, raw in enumerate(lines, start=1):
        example = json.loads(raw)
        if number == 5:
            example["messages"][1]["content"] += " FLAG-VIOLENCE <!channel>"
        if number == 40:
            example["messages"].append({"role": "assistant", "content": "FLAG-HATE reply"})
        out.append(json.dumps(example).encode())
    return b"\n".join(out)


def root_ts(file: dict[str, Any], channel: str = "C1") -> str:
    kind = "private" if channel[:1] in "DG" else "public"
    return str(file["shares"][kind][channel][0]["ts"])


def requests(openai: FakeOpenAI) -> list[dict[str, Any]]:
    return [c.json or {} for c in openai.calls_to("POST", MODERATIONS)]


def check_message(slack: FakeSlack, file: dict[str, Any], channel: str = "C1") -> dict[str, Any]:
    """The bot's one content-check message in the dataset's thread."""
    found = [
        m for m in slack.thread(channel, root_ts(file, channel)) if "Content check" in m["text"]
    ]
    assert len(found) == 1, found
    return found[0]


def finished(slack: FakeSlack, file: dict[str, Any], channel: str = "C1") -> str | None:
    found = [
        m for m in slack.thread(channel, root_ts(file, channel)) if "Content check" in m["text"]
    ]
    text = found[0]["text"] if found else ""
    return text if found and "…" not in text.split("\n")[0] else None


def reported(
    bot: Bot, content: bytes, name: str = "drone.jsonl", channel: str = "C1", user: str = "U1"
) -> dict[str, Any]:
    """A file shared in `channel` (public or private), once its report is posted."""
    file = bot.slack.add_file(content, name=name, channel=channel, user=user)
    ts = root_ts(file, channel)
    assert bot.event(file_share_message_event(file, channel, user, ts)) == 200
    assert bot.event(file_shared_event(file["id"], channel, user)) == 200
    wait_for(lambda: reports(bot.slack, channel), what="the report")
    return file


def test_click_checks_every_example_in_batches_and_lists_the_flagged_lines(
    bot: Bot, openai: FakeOpenAI
) -> None:
    file = reported(bot, planted())
    report = reports(bot.slack)[0]
    assert ids.DATASET_MODERATE in json.dumps(report["blocks"])
    assert bot.click(ids.DATASET_MODERATE, file["id"], user="U2") == 200
    text = wait_for(lambda: finished(bot.slack, file), what="the result")
    sent = requests(openai)
    assert len(sent) == 4  # 103 examples: 32 + 32 + 32 + 7
    assert sorted(len(body["input"]) for body in sent) == [7, 32, 32, 32]
    assert {body["model"] for body in sent} == {"omni-moderation-latest"}
    inputs = [text for body in sent for text in body["input"]]
    assert sum("FLAG-VIOLENCE" in t for t in inputs) == 1 and len(inputs) == 103
    # one message, posted once and edited in place: reading, counted, then the result
    message = check_message(bot.slack, file)
    assert len(bot.slack.calls_to("chat.postMessage")) == 2  # the report and this message
    edits = [
        c.params for c in bot.slack.calls_to("chat.update") if "Content check" in c.params["text"]
    ]
    assert {e["ts"] for e in edits} == {message["ts"]}
    assert any("Checked 0/103 examples…" in e["text"] for e in edits)
    assert edits[-1]["text"] == text
    for needle in (
        "2 of 103 examples flagged by `omni-moderation-latest`",
        "• line 5: violence",
        "• line 40: harassment, hate",
        "*By category:* harassment 1 · hate 1 · violence 1",
    ):
        assert needle in text, text
    assert "FLAG-" not in text and "<!channel>" not in text  # the flagged text is not echoed


def test_double_click_and_later_clicks_call_the_endpoint_once(bot: Bot, openai: FakeOpenAI) -> None:
    file = reported(bot, planted())
    for _ in range(2):  # a double click (or Slack retrying the delivery)
        assert bot.click(ids.DATASET_MODERATE, file["id"]) == 200
    wait_for(lambda: finished(bot.slack, file), what="the result")
    wait_for(lambda: ephemerals(bot.slack), what="the pointer")
    assert len(requests(openai)) == 4
    assert bot.click(ids.DATASET_MODERATE, file["id"], user="U3") == 200  # after it is done
    pointer = wait_for(
        lambda: [t for t in ephemerals(bot.slack) if "already checked" in t], what="pointer"
    )[0]
    assert "2 of 103 examples were flagged" in pointer and "|Open it>" in pointer
    # the same content shared again: its thread gets the stored result, nothing is sent
    again = reported(bot, planted(), name="copy.jsonl", channel="C2")
    wait_for(lambda: len(reports(bot.slack, "C2")) == 1, what="the copy's report")
    assert bot.click(ids.DATASET_MODERATE, again["id"], channel="C2") == 200
    text = wait_for(lambda: finished(bot.slack, again, "C2"), what="the copy's result")
    assert "• line 40: harassment, hate" in text
    assert len(requests(openai)) == 4
    assert len(ephemerals(bot.slack)) == 2


def test_a_failing_batch_leaves_a_partial_answer_and_the_next_click_retries(
    bot: Bot, openai: FakeOpenAI
) -> None:
    file = reported(bot, planted())
    bot.slack.fail_next("files.info", error="file_not_found")  # the file cannot be read
    assert bot.click(ids.DATASET_MODERATE, file["id"]) == 200
    text = wait_for(lambda: finished(bot.slack, file), what="the failure")
    assert "did not finish: something went wrong on our side" in text, text
    assert text.endswith("Click *Check content* on the report to try again.")
    assert not requests(openai)
    openai.fail_next("POST", MODERATIONS, status=429, times=2, retry_after_ms=1)  # retried
    openai.fail_next("POST", MODERATIONS, status=400)  # a batch that fails for good
    assert bot.click(ids.DATASET_MODERATE, file["id"]) == 200
    text = wait_for(
        lambda: (t := finished(bot.slack, file)) and "stopped" in t and t, what="the partial result"
    )
    assert "stopped after" in text and "of 103 examples" in text, text
    assert "Click *Check content* on the report to try again." in text
    assert "Traceback" not in text
    before = len(requests(openai))
    assert bot.click(ids.DATASET_MODERATE, file["id"]) == 200
    text = wait_for(
        lambda: (t := finished(bot.slack, file)) and "stopped" not in t and t, what="the retry"
    )
    assert "2 of 103 examples flagged" in text
    assert len(requests(openai)) == before + 4
    assert check_message(bot.slack, file)  # still the one message, edited again


def test_without_an_openai_key_the_click_says_so(
    slack: FakeSlack, database_url: str, together: FakeTogether
) -> None:
    bot = start_bot(
        slack,
        database_url,
        TOGETHER_API_KEY="together-test-key",
        TOGETHER_BASE_URL=together.base_url,
    )
    try:
        file = reported(bot, planted())
        assert bot.click(ids.DATASET_MODERATE, file["id"]) == 200
        wait_for(lambda: ephemerals(bot.slack) == [NO_KEY], what="the no-key line")
        assert not [m for m in slack.thread("C1", root_ts(file)) if "Content check" in m["text"]]
    finally:
        bot.stop()


@pytest.fixture
def private(slack: FakeSlack, database_url: str, openai: FakeOpenAI) -> Iterator[Bot]:
    for user in ("UIN", "UOUT"):
        slack.add_user(user)
    slack.add_channel("G1", name="secret", members=["UIN", slack.bot_user_id])
    running = start_bot(slack, database_url, openai)
    yield running
    running.stop()


def test_a_non_member_gets_the_same_answer_as_for_no_dataset(
    private: Bot, openai: FakeOpenAI
) -> None:
    file = reported(private, planted(), channel="G1", user="UIN")
    assert private.click(ids.DATASET_MODERATE, file["id"], user="UOUT", channel="C1") == 200
    assert private.click(ids.DATASET_MODERATE, "F0NOSUCHFILE", user="UOUT", channel="C1") == 200
    answers = wait_for(lambda: len(ephemerals(private.slack)) == 2 and ephemerals(private.slack))
    assert answers[0] == answers[1] and "can't find that dataset" in answers[0]
    assert not requests(openai)
    assert not [m for m in private.slack.messages("G1") if "Content check" in m["text"]]
