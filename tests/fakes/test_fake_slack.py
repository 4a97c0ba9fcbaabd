"""The fake Slack, driven by the real ``slack_sdk.WebClient``."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.models.blocks import SectionBlock

from tests.fakes.fake_slack import FakeSlack
from tests.fakes.foreign_host import RecordingHost

META = {"event_type": "ftbot_notification", "event_payload": {"key": "job1:status:"}}


def _error(exc: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(exc.value.response["error"])


def _get(url: str, token: str | None = None, *, unredirected: bool = False) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token is not None:
        add = request.add_unredirected_header if unredirected else request.add_header
        add("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_post_update_ephemeral_delete(fake_slack: FakeSlack, slack_client: WebClient) -> None:
    posted = slack_client.chat_postMessage(
        channel="C1", text="Validating…", blocks=[SectionBlock(text="*hi*")], metadata=META
    )
    assert posted["ok"] and posted["channel"] == "C1"
    assert posted["message"]["bot_id"] == "BBOT" and posted["message"]["metadata"] == META
    call = fake_slack.calls_to("chat.postMessage")[0]
    assert call.params["blocks"][0]["text"]["text"] == "*hi*"
    assert call.headers["Authorization"] == "Bearer xoxb-test-token"

    second = slack_client.chat_postMessage(channel="C1", text="second")
    assert float(second["ts"]) > float(posted["ts"])

    updated = slack_client.chat_update(channel="C1", ts=posted["ts"], text="Done")
    assert updated["text"] == "Done" and updated["message"]["edited"]["user"] == "UBOT"
    stored = fake_slack.messages("C1")[0]
    assert stored["text"] == "Done" and stored["edit_count"] == 1
    assert stored["blocks"][0]["type"] == "section"  # blocks kept when not re-sent

    with pytest.raises(SlackApiError) as exc:
        slack_client.chat_update(channel="C1", ts="1.000001", text="x")
    assert _error(exc) == "message_not_found"

    eph = slack_client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert eph["message_ts"] and fake_slack.ephemerals[0]["text"] == "only you"

    slack_client.chat_delete(channel="C1", ts=second["ts"])
    assert [m["ts"] for m in fake_slack.messages("C1")] == [posted["ts"]]
    history = slack_client.conversations_history(channel="C1")
    assert [m["text"] for m in history["messages"]] == ["Done"]


def test_form_bodies_auth_and_validation(fake_slack: FakeSlack, slack_client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]
    slack_client.api_call(
        "chat.postMessage",
        params={"channel": "C1", "blocks": json.dumps(blocks), "metadata": json.dumps(META)},
    )
    call = fake_slack.calls_to("chat.postMessage")[0]
    assert call.params["blocks"] == blocks and call.params["metadata"] == META
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"

    with pytest.raises(SlackApiError) as exc:
        WebClient(base_url=fake_slack.base_url, token="xoxb-wrong").auth_test()
    assert _error(exc) == "invalid_auth"
    with pytest.raises(SlackApiError) as exc:
        WebClient(base_url=fake_slack.base_url).auth_test()
    assert _error(exc) == "not_authed"
    assert slack_client.auth_test()["user_id"] == "UBOT"

    too_long = [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]
    with pytest.raises(SlackApiError) as exc:
        slack_client.chat_postMessage(channel="C1", text="t", blocks=too_long)
    assert _error(exc) == "invalid_blocks"
    assert "/blocks/0/text/text" in exc.value.response["response_metadata"]["messages"][0]
    with pytest.raises(SlackApiError) as exc:
        slack_client.chat_postMessage(channel="C1", text="t", metadata={"event_type": "x"})
    assert _error(exc) == "invalid_metadata_format"
    with pytest.raises(SlackApiError) as exc:
        slack_client.api_call("admin.teams.create")
    assert _error(exc) == "unknown_method"
    assert fake_slack.calls_to("admin.teams.create")


def test_reactions(fake_slack: FakeSlack, slack_client: WebClient) -> None:
    ts = slack_client.chat_postMessage(channel="C1", text="x")["ts"]
    slack_client.reactions_add(channel="C1", name="eyes", timestamp=ts)
    with pytest.raises(SlackApiError) as exc:
        slack_client.reactions_add(channel="C1", name="eyes", timestamp=ts)
    assert _error(exc) == "already_reacted"
    slack_client.reactions_add(channel="C1", name="white_check_mark", timestamp=ts)
    assert fake_slack.reactions("C1", ts) == {"eyes", "white_check_mark"}
    slack_client.reactions_remove(channel="C1", name="eyes", timestamp=ts)
    with pytest.raises(SlackApiError) as exc:
        slack_client.reactions_remove(channel="C1", name="eyes", timestamp=ts)
    assert _error(exc) == "no_reaction"
    assert fake_slack.reactions("C1", ts) == {"white_check_mark"}


def test_files_info_and_download(fake_slack: FakeSlack, slack_client: WebClient) -> None:
    content = b'{"messages": []}\n' * 5000
    file = fake_slack.add_file(content, name="train.jsonl", channel="C1", user="U1")
    info = slack_client.files_info(file=file["id"])["file"]
    assert info["id"].startswith("F") and info["size"] == len(content)
    assert info["is_external"] is False and info["mode"] == "hosted"
    share = info["shares"]["public"]["C1"][0]
    root = fake_slack.messages("C1")[0]
    assert share["ts"] == root["ts"] and root["subtype"] == "file_share"
    url = info["url_private_download"]
    assert url.startswith(f"http://{fake_slack.host}/files-pri/T1-{file['id']}/download/")

    assert _get(url, fake_slack.bot_token) == (200, content)
    assert _get(url)[0] == 403 and _get(url, "xoxb-other")[0] == 403
    assert [d.status for d in fake_slack.downloads] == [200, 403, 403]
    assert fake_slack.downloads[0].headers["Authorization"] == "Bearer xoxb-test-token"

    dm = fake_slack.add_file(b"{}\n", channel="D1")
    assert "D1" in slack_client.files_info(file=dm["id"])["file"]["shares"]["private"]
    with pytest.raises(SlackApiError) as exc:
        slack_client.files_info(file="FNOPE")
    assert _error(exc) == "file_not_found"


def test_foreign_host_and_redirect(
    fake_slack: FakeSlack, slack_client: WebClient, foreign_host: RecordingHost
) -> None:
    remote = fake_slack.add_file(b"{}\n", foreign_host=foreign_host.host)
    assert remote["url_private_download"].startswith(foreign_host.origin)

    moved = fake_slack.add_file(b"{}\n", redirect_to=foreign_host.url("/cdn/x.jsonl"))
    url = moved["url_private_download"]
    assert _get(url, fake_slack.bot_token, unredirected=True)[0] == 200
    assert not foreign_host.saw_header("Authorization")
    assert fake_slack.downloads[-1].status == 302
    # plain urllib headers follow the redirect: exactly the leak the bot must avoid
    _get(url, fake_slack.bot_token)
    assert foreign_host.requests[-1].header("Authorization") == "Bearer xoxb-test-token"


def test_threads_metadata_and_users(fake_slack: FakeSlack, slack_client: WebClient) -> None:
    root = slack_client.chat_postMessage(channel="C1", text="root")["ts"]
    slack_client.chat_postMessage(channel="C1", text="r1", thread_ts=root, metadata=META)
    slack_client.chat_postMessage(channel="C1", text="r2", thread_ts=root, reply_broadcast=True)
    replies = slack_client.conversations_replies(channel="C1", ts=root, include_all_metadata=True)
    msgs = replies["messages"]
    assert [m["text"] for m in msgs] == ["root", "r1", "r2"]
    assert msgs[0]["reply_count"] == 2 and msgs[1]["metadata"] == META
    bare = slack_client.conversations_replies(channel="C1", ts=root)["messages"]
    assert "metadata" not in bare[1]
    assert [m["text"] for m in fake_slack.thread("C1", root)] == ["root", "r1", "r2"]
    history = slack_client.conversations_history(channel="C1")["messages"]
    assert [m["text"] for m in history] == ["r2", "root"]  # broadcast reply shows in channel
    with pytest.raises(SlackApiError) as exc:
        slack_client.conversations_replies(channel="C1", ts="123.456")
    assert _error(exc) == "thread_not_found"

    fake_slack.add_user("UADMIN", is_admin=True, name="root")
    admin = slack_client.users_info(user="UADMIN")["user"]
    assert admin["is_admin"] and not admin["is_owner"] and admin["tz"]
    assert slack_client.users_info(user="U1")["user"]["is_admin"] is False
    with pytest.raises(SlackApiError) as exc:
        slack_client.users_info(user="UNOPE")
    assert _error(exc) == "user_not_found"
    assert slack_client.conversations_info(channel="D1")["channel"]["is_im"] is True


def test_views_and_triggers(fake_slack: FakeSlack, slack_client: WebClient) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Fine-tune"}, "blocks": []}
    trigger = fake_slack.new_trigger_id()
    opened = slack_client.views_open(trigger_id=trigger, view=view)["view"]
    assert opened["id"].startswith("V") and opened["title"]["text"] == "Fine-tune"
    with pytest.raises(SlackApiError) as exc:
        slack_client.views_open(trigger_id=trigger, view=view)
    assert _error(exc) == "exchanged_trigger_id"
    with pytest.raises(SlackApiError) as exc:
        slack_client.views_open(trigger_id=fake_slack.new_trigger_id(age=3.5), view=view)
    assert _error(exc) == "expired_trigger_id"
    assert slack_client.views_open(trigger_id="any-string", view=view)["ok"]

    new = slack_client.views_update(view_id=opened["id"], view=view, hash=opened["hash"])
    with pytest.raises(SlackApiError) as exc:
        slack_client.views_update(view_id=opened["id"], view=view, hash=opened["hash"])
    assert _error(exc) == "hash_conflict"
    assert new["view"]["id"] == opened["id"]
    home = slack_client.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    assert fake_slack.home_views["U1"]["id"] == home["view"]["id"]

    strict = FakeSlack(strict_triggers=True)
    with strict:
        client = WebClient(base_url=strict.base_url, token=strict.bot_token)
        with pytest.raises(SlackApiError) as exc:
            client.views_open(trigger_id="made-up", view=view)
        assert _error(exc) == "invalid_trigger_id"
    assert not strict.errors, strict.errors


def test_views_check_selects_radios_and_text_inputs(
    fake_slack: FakeSlack, slack_client: WebClient
) -> None:
    def option(value: str, text: str | None = None) -> dict[str, object]:
        return {"text": {"type": "plain_text", "text": text or value}, "value": value}

    def modal(element: dict[str, object]) -> dict[str, object]:
        block = {"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "L"}}
        title = {"type": "plain_text", "text": "Form"}
        return {"type": "modal", "title": title, "blocks": [{**block, "element": element}]}

    select = {"type": "static_select", "action_id": "a", "options": [option("x"), option("y")]}
    good = [
        {**select, "initial_option": option("y")},
        {"type": "radio_buttons", "action_id": "a", "options": [option("lora"), option("full")]},
        {"type": "plain_text_input", "action_id": "a", "initial_value": "2"},
    ]
    for element in good:
        assert slack_client.views_open(trigger_id=fake_slack.new_trigger_id(), view=modal(element))[
            "ok"
        ]
    bad = [
        {**select, "initial_option": option("z")},  # not one of the options
        {**select, "initial_option": option("y", "other text")},
        {**select, "options": []},
        {**select, "options": [option("v" * 151)]},
        {"type": "radio_buttons", "action_id": "a", "options": [option(str(i)) for i in range(11)]},
        {"type": "plain_text_input", "action_id": "a", "initial_value": "x" * 3001},
        {"type": "plain_text_input", "placeholder": {"type": "plain_text", "text": "p" * 151}},
    ]
    for element in bad:
        with pytest.raises(SlackApiError) as exc:
            slack_client.views_open(trigger_id=fake_slack.new_trigger_id(), view=modal(element))
        assert _error(exc) == "invalid_arguments", element


def test_files_upload_v2(fake_slack: FakeSlack, slack_client: WebClient, tmp_path: Path) -> None:
    root = slack_client.chat_postMessage(channel="C1", text="job")["ts"]
    result = slack_client.files_upload_v2(
        channel="C1",
        thread_ts=root,
        file=b"\x89PNG fake",
        filename="loss.png",
        title="Loss curve",
        initial_comment="Training loss",
    )
    assert result["file"]["title"] == "Loss curve"
    uploaded = fake_slack.uploaded_files[0]
    assert uploaded.content == b"\x89PNG fake" and uploaded.thread_ts == root
    assert uploaded.channel_id == "C1" and uploaded.initial_comment == "Training loss"
    assert "Authorization" not in fake_slack.raw_uploads[0].headers  # plain urllib POST
    reply = fake_slack.thread("C1", root)[-1]
    assert reply["text"] == "Training loss" and reply["files"][0]["id"] == uploaded.id
    assert slack_client.files_info(file=uploaded.id)["file"]["name"] == "loss.png"

    path = tmp_path / "chart.png"
    path.write_bytes(b"from disk")
    slack_client.files_upload_v2(channel="C1", file=str(path), title="disk")
    assert fake_slack.uploaded_files[1].content == b"from disk"
    assert fake_slack.uploaded_files[1].filename == "chart.png"


def test_fault_injection(fake_slack: FakeSlack, slack_client: WebClient) -> None:
    fake_slack.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as exc:
        slack_client.chat_postMessage(channel="C1", text="x")
    assert _error(exc) == "channel_not_found" and exc.value.response.status_code == 200

    fake_slack.fail_next("chat.update", status=500)
    with pytest.raises(SlackApiError) as exc:
        slack_client.chat_update(channel="C1", ts="1.1", text="x")
    assert exc.value.response.status_code == 500

    # the default ConnectionErrorRetryHandler re-sends after a drop (fast interval here)
    quick = ConnectionErrorRetryHandler(interval_calculator=FixedValueRetryIntervalCalculator(0.01))
    slack_client.retry_handlers = [quick]
    fake_slack.fail_next("chat.postMessage", drop=True)
    slack_client.chat_postMessage(channel="C2", text="once")
    assert len(fake_slack.calls_to("chat.postMessage")) == 3
    assert [m["text"] for m in fake_slack.messages("C2")] == ["once"]

    # applied, then dropped: the retry duplicates the message (what the outbox must prevent)
    fake_slack.fail_next("chat.postMessage", apply_then_fail=True)
    slack_client.chat_postMessage(channel="C3", text="dup")
    assert [m["text"] for m in fake_slack.messages("C3")] == ["dup", "dup"]
    no_retry = WebClient(
        base_url=fake_slack.base_url, token=fake_slack.bot_token, retry_handlers=[]
    )
    fake_slack.fail_next("chat.postMessage", apply_then_fail=True)
    with pytest.raises(Exception):  # noqa: B017 - urllib's RemoteDisconnected/URLError
        no_retry.chat_postMessage(channel="C4", text="lost ack")
    assert len(fake_slack.messages("C4")) == 1

    fake_slack.rate_limit_post_per_second = 1.0
    slack_client.chat_postMessage(channel="C5", text="a")
    with pytest.raises(SlackApiError) as exc:
        slack_client.chat_postMessage(channel="C5", text="b")
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] == "1"
    slack_client.chat_postMessage(channel="C6", text="other channel is fine")


def test_rate_limit_retry_after_is_honoured(fake_slack: FakeSlack) -> None:
    client = WebClient(
        base_url=fake_slack.base_url,
        token=fake_slack.bot_token,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake_slack.fail_next("chat.postMessage", retry_after=1)
    start = time.monotonic()
    assert client.chat_postMessage(channel="C1", text="later")["ok"]
    assert time.monotonic() - start >= 1.0
    calls = fake_slack.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[0].response == {"ok": False, "error": "ratelimited"}
