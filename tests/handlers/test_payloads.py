"""Reading Slack bodies strictly, and the values of the bot's own buttons and forms."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import BoltResponse

from handlers.errors import StickyAck
from handlers.payloads import (
    MalformedBody,
    StaleButton,
    button_value,
    json_button,
    parse_body,
    view_metadata,
)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
CLICK = {
    "type": "block_actions",
    "user": {"id": "U1"},
    "actions": [{"action_id": "a", "value": "v"}],
}
VIEW = {"type": "view_submission", "user": {"id": "U1"},
        "view": {"callback_id": "c", "private_metadata": "{}", "state": {"values": {}}}}  # fmt: skip


def form(payload: Any) -> str:
    return urlencode({"payload": json.dumps(payload)})


@pytest.mark.parametrize(
    ("raw", "content_type", "expected"),
    [(json.dumps(CLICK), JSON, CLICK), (form(CLICK), FORM, CLICK), (form(VIEW), FORM, VIEW),
     ("command=%2Ffinetune&text=try+this+payload", FORM,
      {"command": "/finetune", "text": "try this payload"}),
     ("ssl_check=1&token=x", FORM, {"ssl_check": "1", "token": "x"}),
     ('{"type":"url_verification","challenge":"c"}', "application/json; charset=utf-8",
      {"type": "url_verification", "challenge": "c"})],
)  # fmt: skip
def test_well_formed_bodies_read_as_bolt_reads_them(
    raw: str, content_type: str, expected: dict
) -> None:
    assert parse_body(raw, content_type) == expected


@pytest.mark.parametrize(
    ("raw", "content_type", "reason"),
    [("", FORM, "empty"), ("[1]", JSON, "not_an_object"), ('"x"', JSON, "not_an_object"),
     ("{bad", JSON, "bad_json"), ("payload=%7Bbad", FORM, "bad_json"),
     ("payload=%FF", FORM, "bad_form"), ("command=%2Ffinetune&text=%C3%28", FORM, "bad_form"),
     ('{"type":' + "[" * 65 + "]" * 65 + "}", JSON, "too_deep"),
     ('{"type":' + "[" * 100_000, JSON, "bad_json"),
     ('{"event":{}}', JSON, "no_type"), ('{"type":""}', JSON, "no_type"),
     ('{"type":5}', JSON, "no_type"), ("command=&text=x", FORM, "bad_command"),
     (form({**CLICK, "actions": []}), FORM, "no_actions"),
     (form({**CLICK, "actions": "x"}), FORM, "no_actions"),
     (form({**CLICK, "actions": [{"value": "v"}]}), FORM, "bad_actions"),
     (form({**CLICK, "user": "U1"}), FORM, "no_user"),
     (form({**CLICK, "channel": [1]}), FORM, "bad_channel"),
     (form({**CLICK, "authorizations": [1]}), FORM, "bad_authorizations"),
     (form({**VIEW, "view": {**VIEW["view"], "private_metadata": {}}}), FORM, "bad_private_metadata"),
     (form({**VIEW, "view": {**VIEW["view"], "state": {"values": {"b": []}}}}), FORM,
      "bad_view_state"),
     (form({**VIEW, "view": "V1"}), FORM, "bad_view"),
     ('{"type":"event_callback","event":[]}', JSON, "bad_event"),
     ('{"type":"event_callback","event":{"text":"no type"}}', JSON, "bad_event")],
)  # fmt: skip
def test_malformed_bodies_are_refused_with_a_reason(
    raw: str, content_type: str, reason: str
) -> None:
    with pytest.raises(MalformedBody) as info:
        parse_body(raw, content_type)
    assert str(info.value) == reason


def click(value: Any) -> dict[str, Any]:
    action: dict[str, Any] = {"action_id": "a"}
    if value is not None:
        action["value"] = value
    return {**CLICK, "actions": [action]}


@pytest.mark.parametrize("value", [None, "", "  ", "x" * 2001, 5, ["F1"]])
def test_button_value_refuses_what_the_bot_never_sets(value: Any) -> None:
    with pytest.raises(StaleButton):
        button_value(click(value))


def test_button_value() -> None:
    assert button_value(click("F123")) == "F123"


@pytest.mark.parametrize(
    "value",
    ["not json", "[1]", '"k"', "{}", '{"k": "jobs", "s": "all"}', '{"k": "jobs", "s": "all", "o": "4"}',
     '{"k": "jobs", "s": "all", "o": -1}', '{"k": "jobs", "s": "all", "o": true}',
     '{"k": null, "s": "all", "o": 4}', '{"k": "jobs", "s": "all", "o": 4.5}',
     "[" * 5000 + "]" * 5000],
)  # fmt: skip
def test_json_button_refuses_the_wrong_shape(value: str) -> None:
    with pytest.raises(StaleButton):
        json_button(click(value), k=str, s=str, o=int)


def test_json_button() -> None:
    value = '{"k": "jobs", "s": "all", "o": 40, "extra": 1}'
    assert json_button(click(value), k=str, s=str, o=int)["o"] == 40


@pytest.mark.parametrize(
    "metadata", [None, "", "null", "[]", '{"dataset": 1}', 5, {"dataset": "F"}]
)
def test_view_metadata_refuses_the_wrong_shape(metadata: Any) -> None:
    with pytest.raises(StaleButton):
        view_metadata({"private_metadata": metadata}, dataset=str)


def test_view_metadata() -> None:
    assert view_metadata({"private_metadata": '{"dataset": "F1"}'}, dataset=str) == {
        "dataset": "F1"
    }


def test_an_ack_once_given_is_not_taken_back() -> None:
    ack = StickyAck()
    assert ack.response is None
    ack()
    given = ack.response
    assert isinstance(given, BoltResponse) and given.status == 200
    ack.response = None  # what Bolt does when the listener fails after acking
    assert ack.response is given
    failed = BoltResponse(status=500)
    ack.response = failed  # an answer still replaces an answer
    assert ack.response is failed
