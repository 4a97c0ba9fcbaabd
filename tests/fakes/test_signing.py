"""Signed request builders, checked with slack_sdk's own ``SignatureVerifier``."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

from slack_bolt import Ack, App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from tests.fakes import signing
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.foreign_host import RecordingHost

SECRET = "test-signing-secret"


def _valid(body: bytes, headers: dict[str, str], secret: str = SECRET) -> bool:
    return SignatureVerifier(secret).is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )


def _payload(body: bytes) -> dict:
    return json.loads(parse_qs(body.decode())["payload"][0])


def test_sign_matches_slack_sdk() -> None:
    body = b'{"type":"event_callback"}'
    headers = signing.sign(body, SECRET)
    assert _valid(body, headers) and headers["Content-Type"] == "application/json"
    assert not _valid(body + b" ", headers)
    assert not _valid(body, headers, "other-secret")
    stale = signing.sign(body, SECRET, timestamp=int(time.time()) - 301)
    assert not _valid(body, stale)


def test_event_request_envelopes() -> None:
    file_event = signing.file_shared_event("F123", "C1", "U1")
    body, headers = signing.event_request(
        file_event, secret=SECRET, event_id="Ev1", retry_num=1, retry_reason="http_timeout"
    )
    assert _valid(body, headers)
    envelope = json.loads(body)
    assert envelope["type"] == "event_callback" and envelope["event_id"] == "Ev1"
    assert envelope["authorizations"][0] == {
        "enterprise_id": None,
        "team_id": "T1",
        "user_id": "UBOT",
        "is_bot": True,
        "is_enterprise_install": False,
    }
    assert envelope["event"]["file_id"] == "F123"
    assert headers["X-Slack-Retry-Num"] == "1"
    assert headers["X-Slack-Retry-Reason"] == "http_timeout"

    message = signing.file_share_message_event({"id": "F123"}, "D1", "U1", channel_type="im")
    assert message["subtype"] == "file_share" and message["files"] == [{"id": "F123"}]
    mention = signing.app_mention_event("status")
    assert mention["text"] == "<@UBOT> status"
    assert signing.dm_message_event("help")["channel_type"] == "im"
    assert signing.app_home_opened_event("U1")["tab"] == "home"
    plain_body, plain_headers = signing.event_request(mention, secret=SECRET)
    assert "X-Slack-Retry-Num" not in plain_headers and _valid(plain_body, plain_headers)


def test_command_action_and_view_submission() -> None:
    body, headers = signing.command_request("/finetune", "status", secret=SECRET, trigger_id="t1")
    assert _valid(body, headers)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    assert fields["command"] == "/finetune" and fields["text"] == "status"
    assert fields["trigger_id"] == "t1" and fields["response_url"].startswith("https://")

    body, headers = signing.action_request(
        "start_job", "req-1", secret=SECRET, message_ts="1700000000.000100", thread_ts="1.2"
    )
    assert _valid(body, headers)
    payload = _payload(body)
    assert payload["type"] == "block_actions" and payload["actions"][0]["value"] == "req-1"
    assert payload["container"]["message_ts"] == "1700000000.000100"
    assert payload["message"]["ts"] == "1700000000.000100"
    assert payload["user"]["id"] == "U1" and payload["channel"]["id"] == "C1"

    body, headers = signing.view_submission_request(
        "start_modal",
        {"epochs": {"value": "3"}},
        secret=SECRET,
        private_metadata='{"req": 1}',
    )
    assert _valid(body, headers)
    view = _payload(body)["view"]
    assert view["callback_id"] == "start_modal" and view["private_metadata"] == '{"req": 1}'
    assert view["state"]["values"]["epochs"]["value"] == {
        "type": "plain_text_input",
        "value": "3",
    }


def test_post_returns_status_without_following_redirects() -> None:
    with RecordingHost("127.0.0.1", status=302) as host:
        body, headers = signing.command_request(secret=SECRET)
        status, _headers, _body = signing.post(host.url("/slack/events"), body, headers)
        assert status == 302 and len(host.requests) == 1
        assert host.requests[0].header("X-Slack-Signature") == headers["X-Slack-Signature"]
        assert host.requests[0].body == body


def test_bolt_accepts_the_signed_requests(fake_slack: FakeSlack) -> None:
    client = WebClient(base_url=fake_slack.base_url, token=fake_slack.bot_token)
    app = App(client=client, signing_secret=SECRET, process_before_response=True)
    seen: list[str] = []

    @app.command("/finetune")
    def command(ack: Ack, command: dict) -> None:
        ack()
        seen.append(f"command:{command['text']}")

    @app.action("start_job")
    def action(ack: Ack, body: dict) -> None:
        ack()
        seen.append(f"action:{body['actions'][0]['value']}")

    @app.view("start_modal")
    def view(ack: Ack, view: dict) -> None:
        ack()
        seen.append(f"view:{view['state']['values']['b']['a']['value']}")

    @app.event("file_shared")
    def file_shared(event: dict) -> None:
        seen.append(f"event:{event['file_id']}")

    requests = [
        signing.command_request(text="status", secret=SECRET),
        signing.action_request("start_job", "req-1", secret=SECRET),
        signing.view_submission_request("start_modal", {"b": {"a": "3"}}, secret=SECRET),
        signing.event_request(signing.file_shared_event("F1"), secret=SECRET),
    ]
    for body, headers in requests:
        response = app.dispatch(BoltRequest(body=body.decode(), headers=headers))
        assert response.status == 200, response.body
    forged_body, forged_headers = signing.command_request(secret="wrong-secret")
    assert (
        app.dispatch(BoltRequest(body=forged_body.decode(), headers=forged_headers)).status == 401
    )
    assert seen == ["command:status", "action:req-1", "view:3", "event:F1"]
