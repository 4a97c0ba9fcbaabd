"""The access policy (product §6), table-driven: membership, admins, audiences, listings."""

from __future__ import annotations

import pytest

from bot.core.access import Viewer, may_change, may_see, visible

MEMBERS = {"C1": {"U1", "U2"}, "G1": {"U1"}, "D1": {"U1"}}


def viewer(user: str, *, admin: bool = False, audience: str | None = None) -> Viewer:
    return Viewer(user, admin, lambda c: user in MEMBERS.get(c, set()), audience)


@pytest.mark.parametrize(
    ("user", "admin", "audience", "conversation", "seen"),
    [
        ("U1", False, None, "G1", True),  # a member of the private channel
        ("U2", False, None, "G1", False),  # not a member: as if it did not exist
        ("U2", False, None, "C1", True),
        ("U3", True, None, "G1", True),  # admins see everything…
        ("U3", True, "C1", "G1", False),  # …but not in front of another conversation
        ("U1", False, "C1", "G1", False),  # a member asking in C1: C1 reads the answer
        ("U1", False, "G1", "G1", True),  # asking in G1 itself
        ("U2", False, "G1", "G1", False),  # an audience does not grant membership
        ("U1", False, None, "D1", True),  # their own DM with the bot
        ("U2", False, None, "D1", False),  # someone else's DM
        ("U1", False, None, "", False),  # belongs to no conversation: admins only
        ("U3", True, None, "", True),
        ("U3", True, "C1", "", False),
        ("", False, None, "C1", False),  # no user at all
        ("U1", False, None, "CGONE", False),  # a conversation the bot cannot read
    ],
)
def test_may_see(
    user: str, admin: bool, audience: str | None, conversation: str, seen: bool
) -> None:
    assert may_see(viewer(user, admin=admin, audience=audience), conversation) is seen


@pytest.mark.parametrize(
    ("user", "admin", "conversation", "owner", "allowed"),
    [
        ("U1", False, "G1", "U1", True),  # the owner, a member
        ("U2", False, "C1", "U1", False),  # a member, not the owner
        ("U3", True, "G1", "U1", True),  # an admin
        ("U2", False, "G1", "U2", False),  # the owner who left the channel: cannot see it
    ],
)
def test_may_change(user: str, admin: bool, conversation: str, owner: str, allowed: bool) -> None:
    decision = may_change(viewer(user, admin=admin), conversation_id=conversation, owner_id=owner)
    assert decision is allowed


def test_visible_keeps_order_and_asks_once_per_conversation() -> None:
    asked: list[str] = []

    def is_member(conversation: str) -> bool:
        asked.append(conversation)
        return conversation in ("C1", "D1")

    rows = [("a", "C1"), ("b", "G1"), ("c", "C1"), ("d", "D1"), ("e", "G1"), ("f", None)]
    kept = visible(Viewer("U1", False, is_member), rows, lambda row: row[1])
    assert [name for name, _ in kept] == ["a", "c", "d"]
    assert sorted(asked) == ["C1", "D1", "G1"]


def test_shown_in_keeps_the_requester_and_sets_the_audience() -> None:
    base = viewer("U1")
    shown = base.shown_in("C1")
    assert (shown.user_id, shown.admin, shown.audience) == ("U1", False, "C1")
    assert may_see(base, "G1") and not may_see(shown, "G1")
