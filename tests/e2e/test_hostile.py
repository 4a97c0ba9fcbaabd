"""Hostile input through the real endpoint: signed but malformed bodies, stale buttons and forms,
hostile files shared in Slack, and sizes in the configured unit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from handlers import ids
from handlers.blocks.jobs import START_CALLBACK
from handlers.payloads import STALE
from tests.db import fresh_database_url
from tests.e2e.conftest import SECRET, Bot, start_bot, wait_for
from tests.e2e.test_datasets import block_text, drop, reports
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.foreign_host import RecordingHost
from tests.fakes.signing import action_request, sign, view_submission_request

pytestmark = pytest.mark.db

FORM = "application/x-www-form-urlencoded"
OK = '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]}'


def payload_of(body: bytes) -> dict[str, Any]:
    return json.loads(dict(parse_qsl(body.decode()))["payload"])


def as_form(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def click_payload(**changes: Any) -> dict[str, Any]:
    body, _ = action_request(ids.JOB_CANCEL, "ftjob-1", secret=SECRET)
    return {**payload_of(body), **changes}


def submission_payload(view_changes: dict[str, Any]) -> dict[str, Any]:
    body, _ = view_submission_request(START_CALLBACK, {}, secret=SECRET)
    payload = payload_of(body)
    payload["view"].update(view_changes)
    return payload


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    """One bot for the tables below: what they send changes nothing, so they can share it."""
    with (
        FakeSlack() as slack,
        FakeOpenAI() as openai,
        fresh_database_url(tmp_path_factory.mktemp("db")) as url,
    ):
        running = start_bot(slack, url, openai)
        yield running
        running.stop()


DEEP = "[" * 100_000 + "]" * 100_000
EVENT = '{"type":"event_callback","event_id":"Ev1","event":%s}'
MALFORMED: list[tuple[str, bytes, str]] = [
    ("invalid UTF-8", b'{"type":"event_callback","event":{"type":"message","text":"\xff"}}',
     "application/json"),
    ("percent-encoded invalid UTF-8 in payload",
     as_form(click_payload(note="HERE")).replace(b"HERE", b"%FF%FE"), FORM),
    ("percent-encoded invalid UTF-8 in a command", b"command=%2Ffinetune&text=%FF%FE&user_id=U1",
     FORM),
    ("JSON array", b"[1, 2, 3]", "application/json"),
    ("JSON string", b'"event_callback"', "application/json"),
    ("JSON null", b"null", "application/json"),
    ("deep JSON", (EVENT % DEEP).encode(), "application/json"),
    ("deep JSON, 100 levels", (EVENT % ("[" * 100 + "]" * 100)).encode(), "application/json"),
    ("deep JSON in a payload", urlencode({"payload": EVENT % DEEP}).encode(), FORM),
    ("NaN as type", b'{"type": NaN}', "application/json"),
    ("missing type", b'{"event": {"type": "message", "text": "hi"}}', "application/json"),
    ("missing type in a payload", as_form({k: v for k, v in click_payload().items() if k != "type"}),
     FORM),
    ("event that is a list", (EVENT % "[1]").encode(), "application/json"),
    ("payload that is not JSON", b"payload=not-json", FORM),
    ("payload that is a JSON array", b"payload=%5B1%5D", FORM),
    ("actions: []", as_form(click_payload(actions=[])), FORM),
    ("actions that are not objects", as_form(click_payload(actions=[1, "x"])), FORM),
    ("actions as a string", as_form(click_payload(actions="job_cancel")), FORM),
    ("user as a list", as_form(click_payload(user=["U1"])), FORM),
    ("channel as a number", as_form(click_payload(channel=5)), FORM),
    ("authorizations of strings", (EVENT % '{"type":"message"}')[:-1].encode()
     + b',"authorizations":["x"]}', "application/json"),
    ("private_metadata as an object", as_form(submission_payload({"private_metadata": {"a": 1}})),
     FORM),
    ("private_metadata as a number", as_form(submission_payload({"private_metadata": 7})), FORM),
    ("view state values as a list", as_form(submission_payload({"state": {"values": [1]}})), FORM),
    ("view without callback_id", as_form(submission_payload({"callback_id": None})), FORM),
    ("empty body", b"", FORM),
]  # fmt: skip


@pytest.mark.parametrize(("what", "body", "content_type"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_signed_but_malformed_bodies_get_a_4xx(
    endpoint: Bot, what: str, body: bytes, content_type: str
) -> None:
    bot = endpoint
    status, answer = bot.send(body, sign(body, SECRET, content_type=content_type))
    assert 400 <= status < 500, (what, status, answer[:200])
    assert b"Traceback" not in answer
    assert bot.slack.calls_to("chat.postMessage") == []  # nothing acted on it


def test_the_endpoint_still_answers_after_hostile_bodies(bot: Bot) -> None:
    for _, body, content_type in MALFORMED:
        bot.send(body, sign(body, SECRET, content_type=content_type))
    status, payload = bot.command("help")
    assert status == 200 and "/finetune" in payload["text"]


def test_a_command_mentioning_payload_is_still_a_command(bot: Bot) -> None:
    # Bolt alone reads any form holding the word "payload" as an interaction and drops it.
    status, payload = bot.command("help payload")
    assert status == 200 and "doesn't take `payload`" in payload["text"]


# -- stale or malformed buttons and forms ---------------------------------------------------------

STALE_CLICKS = [
    (action, value)
    for action in (ids.DATASET_START, ids.DATASET_UPLOAD, ids.JOB_CANCEL, ids.JOB_APPROVE,
                   ids.CHECKPOINT_CHOOSE, ids.MODEL_DELETE, ids.JOB_RETRY, ids.LIST_MORE,
                   ids.CONFIRM_COMMAND)
    for value in ("", "   ")
] + [
    (ids.LIST_MORE, "not json"), (ids.LIST_MORE, "[1, 2]"), (ids.LIST_MORE, '{"k": "jobs"}'),
    (ids.LIST_MORE, '{"k": "jobs", "s": "all", "o": "40"}'),
    (ids.LIST_MORE, '{"k": "jobs", "s": "all", "o": -40}'),
    (ids.LIST_MORE, '{"k": "jobs", "s": "all", "o": true}'),
    (ids.LIST_MORE, '{"k": 1, "s": "all", "o": 40}'),
    (ids.LIST_MORE, "[" * 5000 + "]" * 5000),
    (ids.CONFIRM_COMMAND, "not json"), (ids.CONFIRM_COMMAND, '"start latest"'),
    (ids.CONFIRM_COMMAND, '{"u": "U1", "c": "C1"}'),
    (ids.CONFIRM_COMMAND, '{"u": ["U1"], "c": "C1", "t": "jobs"}'),
    (ids.CONFIRM_COMMAND, "x" * 2001),
]  # fmt: skip


@pytest.mark.parametrize(("action", "value"), STALE_CLICKS)
def test_a_stale_button_gets_one_ephemeral_line(endpoint: Bot, action: str, value: str) -> None:
    with RecordingHost() as hooks:
        status = endpoint.click(action, value, response_url=hooks.url("/actions/T1/1/x"))
        answer = json.loads(wait_for(lambda: hooks.requests, what="the answer")[0].body)
    assert status == 200
    assert answer["text"] == STALE and answer["response_type"] == "ephemeral"
    assert answer.get("replace_original") is False


@pytest.mark.parametrize("action", [ids.JOB_CANCEL, ids.LIST_MORE, ids.CONFIRM_COMMAND])
def test_a_button_without_a_value_key(endpoint: Bot, action: str) -> None:
    body, _ = action_request(action, "x", secret=SECRET, user_id=f"U{action.upper()}")
    payload = payload_of(body)
    del payload["actions"][0]["value"]
    del payload["response_url"]  # and no response_url: the line goes by chat.postEphemeral
    status, _ = endpoint.send(as_form(payload), sign(as_form(payload), SECRET, content_type=FORM))
    assert status == 200

    def mine() -> list[dict[str, Any]]:
        return [e for e in endpoint.slack.ephemerals if e["user"] == f"U{action.upper()}"]

    line = wait_for(mine, what="the ephemeral")[0]
    assert (line["text"], line["channel"]) == (STALE, "C1")


@pytest.mark.parametrize(
    "metadata", ["", "not json", "[1]", '"F1"', '{"dataset": 5}', "{}", '{"dataset": null}']
)
def test_a_form_with_bad_private_metadata_says_so_in_the_form(endpoint: Bot, metadata: str) -> None:
    values = {
        "model": {"value": {"type": "static_select", "selected_option": {"value": "gpt-4o-mini-2024-07-18"}}},
        "method": {"value": {"type": "static_select", "selected_option": {"value": "supervised"}}},
        "epochs": {"value": "2"},
    }  # fmt: skip
    status, answer = endpoint.submit(
        START_CALLBACK, values, private_metadata=metadata, user="UFORM"
    )
    assert status == 200 and answer["response_action"] == "update"
    assert STALE in json.dumps(answer["view"])
    assert not [c for c in endpoint.slack.calls if c.params.get("user") == "UFORM"]


# -- hostile files shared in Slack ---------------------------------------------------------------


def test_deeply_nested_json_gets_a_report(bot: Bot) -> None:
    drop(bot, DEEP.encode(), "deep.json")
    report = wait_for(lambda: reports(bot.slack), what="the report")[0]
    text = report["text"] + block_text(report)
    assert "Needs fixes" in text and "Nested more than 254 levels deep" in text and "item 1" in text
    assert "went wrong" not in text


def test_a_huge_number_gets_a_report(bot: Bot) -> None:
    lines = [OK] * 4 + [OK[:-1] + ',"n":' + "9" * 5000 + "}"] + [OK] * 8
    drop(bot, "\n".join(lines).encode(), "huge.jsonl")
    report = wait_for(lambda: reports(bot.slack), what="the report")[0]
    text = report["text"] + block_text(report)
    assert "A number too large for JSON" in text and "line 5" in text
    assert "went wrong" not in text


def test_a_binary_file_gets_one_line(bot: Bot) -> None:
    drop(bot, b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 40, "model.jsonl")
    report = wait_for(lambda: reports(bot.slack), what="the report")[0]
    assert len(report["blocks"]) == 1
    assert report["text"].startswith("⚠️ model.jsonl is not a dataset")
    assert "Billing" not in block_text(report) and "dataset_start" not in block_text(report)


# -- sizes in the configured unit ----------------------------------------------------------------


@pytest.fixture
def small_limit_bot(slack: FakeSlack, database_url: str, openai: FakeOpenAI) -> Iterator[Bot]:
    running = start_bot(slack, database_url, openai, FTBOT_MAX_FILE_MB="16")
    yield running
    running.stop()


def test_a_file_over_the_limit_is_measured_in_the_configured_mb(small_limit_bot: Bot) -> None:
    bot = small_limit_bot
    drop(bot, b"x" * 17_000_000, "big.jsonl")  # 16.2 MB of 1,048,576 bytes (17 decimal MB)

    def refusals() -> list[str]:
        return [m["text"] for m in bot.slack.messages("C1") if "can't check" in m.get("text", "")]

    text = wait_for(refusals, what="the refusal")[0]
    assert "it is 16.3 MB and the limit is 16 MB (an admin can raise it)" in text, text
