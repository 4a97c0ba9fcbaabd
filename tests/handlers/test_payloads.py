"""Reading Slack bodies strictly, and the values of the bot's own buttons and forms."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from handlers.payloads import MalformedBody, parse_body

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
