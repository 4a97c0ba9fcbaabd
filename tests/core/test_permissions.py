"""Permissions, table-driven."""

from __future__ import annotations

import pytest

from bot.core.message import Mention
from bot.core.permissions import may_adopt, may_approve, may_modify

ADMINS = frozenset({"UADMIN"})


@pytest.mark.parametrize(
    ("actor", "owner", "workspace_admin", "allowed"),
    [
        ("UOWNER", "UOWNER", False, True),  # the owner
        ("UADMIN", "UOWNER", False, True),  # FTBOT_ADMINS member
        ("UWS", "UOWNER", True, True),  # Slack workspace admin/owner
        ("UOTHER", "UOWNER", False, False),  # anyone else
        ("UADMIN", "UADMIN", False, True),
    ],
)
def test_may_modify(actor: str, owner: str, workspace_admin: bool, allowed: bool) -> None:
    decision = may_modify(
        actor_id=actor, owner_id=owner, admins=ADMINS, workspace_admin=workspace_admin
    )
    assert decision.allowed is allowed
    if not allowed:
        assert Mention(owner) in decision.reason.parts


@pytest.mark.parametrize(
    ("actor", "requester", "workspace_admin", "allowed"),
    [
        ("UADMIN", "UREQ", False, True),
        ("UWS", "UREQ", True, True),
        ("UREQ", "UREQ", False, False),  # not an admin
        ("UOTHER", "UREQ", False, False),
        ("UADMIN", "UADMIN", False, False),  # someone else must sign off
    ],
)
def test_may_approve(actor: str, requester: str, workspace_admin: bool, allowed: bool) -> None:
    decision = may_approve(
        actor_id=actor, requester_id=requester, admins=ADMINS, workspace_admin=workspace_admin
    )
    assert decision.allowed is allowed and decision.reason


@pytest.mark.parametrize(
    ("actor", "workspace_admin", "allowed"),
    [("UADMIN", False, True), ("UWS", True, True), ("UOTHER", False, False)],
)
def test_may_adopt(actor: str, workspace_admin: bool, allowed: bool) -> None:
    assert (
        may_adopt(actor_id=actor, admins=ADMINS, workspace_admin=workspace_admin).allowed is allowed
    )
