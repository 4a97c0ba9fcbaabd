"""The fake's listings (users.conversations, files.list, conversations.history windows), driven
by the real ``slack_sdk.WebClient``."""

from __future__ import annotations

import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.fakes.fake_slack import FakeSlack


def _error(exc: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(exc.value.response["error"])


def test_users_conversations(fake_slack: FakeSlack, slack_client: WebClient) -> None:
    fake_slack.add_user("U2", name="bob")
    fake_slack.add_channel("C1")
    fake_slack.add_channel("C2", members=["U1", "U2"])  # the bot is not in it
    fake_slack.add_channel("G1", members=["U1", "UBOT"])
    fake_slack.add_channel("G2", members=["U1", "U2"])
    fake_slack.add_channel("D1")
    fake_slack.add_channel("C3", members=["UBOT"])["is_archived"] = True

    default = slack_client.users_conversations()
    assert [c["id"] for c in default["channels"]] == ["C1", "C3"]  # public_channel by default
    assert default["response_metadata"]["next_cursor"] == ""
    assert "is_member" not in default["channels"][0] and "num_members" not in default["channels"][0]
    every = slack_client.users_conversations(
        types="public_channel,private_channel,mpim,im", exclude_archived=True
    )
    assert [c["id"] for c in every["channels"]] == ["C1", "G1", "D1"]
    im = every["channels"][2]
    assert im["is_im"] is True and im["user"] == "U1" and "name" not in im

    # another user's membership: their private conversations only when the bot shares them
    bob = slack_client.users_conversations(user="U2", types="public_channel,private_channel")
    assert [c["id"] for c in bob["channels"]] == ["C1", "C2"]

    pages, cursor = [], None
    while True:
        page = slack_client.users_conversations(types="public_channel,im", limit=1, cursor=cursor)
        pages.append([c["id"] for c in page["channels"]])
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert pages == [["C1"], ["D1"], ["C3"]]  # creation order

    for kwargs, error in (
        ({"types": "public"}, "invalid_types"),
        ({"limit": 0}, "invalid_limit"),
        ({"user": "UNOPE"}, "user_not_found"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "invalid_cursor"),
    ):
        with pytest.raises(SlackApiError) as exc:
            slack_client.users_conversations(**kwargs)
        assert _error(exc) == error


def test_files_list(fake_slack: FakeSlack, slack_client: WebClient) -> None:
    now = int(time.time())
    old = fake_slack.add_file(b"{}\n", name="old.jsonl", ts=f"{now - 7200}.000100")
    mid = fake_slack.add_file(b"{}\n", name="mid.jsonl", ts=f"{now - 3600}.000100")
    png = fake_slack.add_file(b"\x89PNG", name="chart.png", channel="D1", ts=f"{now - 60}.000200")
    fake_slack.add_channel("G9", members=["U1"])
    hidden = fake_slack.add_file(b"{}\n", name="secret.jsonl", channel="G9")

    listed = slack_client.files_list()
    assert [f["id"] for f in listed["files"]] == [png["id"], mid["id"], old["id"]]  # newest first
    # a private channel without the bot is not listed
    assert hidden["id"] not in {f["id"] for f in listed["files"]}
    assert listed["paging"] == {"count": 100, "total": 3, "page": 1, "pages": 1}
    first = listed["files"][1]
    assert first["created"] == now - 3600 and first["channels"] == ["C1"]
    assert first["groups"] == [] and first["ims"] == [] and "shares" not in first
    assert listed["files"][0]["ims"] == ["D1"]

    window = slack_client.files_list(ts_from=str(now - 3600), ts_to=str(now - 60))
    assert [f["id"] for f in window["files"]] == [png["id"], mid["id"]]  # both ends inclusive
    assert slack_client.files_list(ts_from=str(now + 10))["paging"]["pages"] == 0

    pages = [slack_client.files_list(count=2, page=n) for n in (1, 2)]
    assert [[f["id"] for f in p["files"]] for p in pages] == [[png["id"], mid["id"]], [old["id"]]]
    assert pages[1]["paging"] == {"count": 2, "total": 3, "page": 2, "pages": 2}

    assert [f["id"] for f in slack_client.files_list(types="images")["files"]] == [png["id"]]
    assert [f["id"] for f in slack_client.files_list(channel="D1")["files"]] == [png["id"]]
    assert slack_client.files_list(user="UBOT")["files"] == []
    with pytest.raises(SlackApiError) as exc:
        slack_client.files_list(types="jsonl")
    assert _error(exc) == "unknown_type"


def test_conversations_history_windows_and_pages(
    fake_slack: FakeSlack, slack_client: WebClient
) -> None:
    ts = [slack_client.chat_postMessage(channel="C1", text=f"m{i}")["ts"] for i in range(5)]

    def texts(**kwargs: object) -> list[str]:
        return [m["text"] for m in slack_client.conversations_history(channel="C1", **kwargs)["messages"]]  # fmt: skip

    assert texts() == ["m4", "m3", "m2", "m1", "m0"]
    assert texts(oldest=ts[2]) == ["m4", "m3"]  # exclusive by default
    assert texts(oldest=ts[2], latest=ts[4], inclusive=True) == ["m4", "m3", "m2"]
    first = slack_client.conversations_history(channel="C1", limit=2)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"] and first["has_more"] is True
    cursor = first["response_metadata"]["next_cursor"]
    rest = slack_client.conversations_history(channel="C1", limit=2, cursor=cursor)
    assert [m["text"] for m in rest["messages"]] == ["m2", "m1"]
