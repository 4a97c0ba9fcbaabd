"""Who may do what: pure decisions, with the reason a refused user is shown."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.core.message import Mention, Message, say


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether an action is allowed, and why (shown to the user when it is not)."""

    allowed: bool
    reason: Message


def is_admin(*, actor_id: str, admins: Collection[str], workspace_admin: bool) -> bool:
    """FTBOT_ADMINS members and Slack workspace admins/owners are admins."""
    return workspace_admin or actor_id in admins


def may_modify(
    *, actor_id: str, owner_id: str, admins: Collection[str], workspace_admin: bool
) -> Decision:
    """Cancel, pause, resume, choose a checkpoint, delete a model: the owner or an admin."""
    if actor_id == owner_id:
        return Decision(True, say("you own it"))
    if is_admin(actor_id=actor_id, admins=admins, workspace_admin=workspace_admin):
        return Decision(True, say("you are an admin"))
    return Decision(False, say("only its owner ", Mention(owner_id), " or an admin can"))


def may_approve(
    *, actor_id: str, requester_id: str, admins: Collection[str], workspace_admin: bool
) -> Decision:
    """Approving spend above the threshold: an admin other than the requester."""
    if not is_admin(actor_id=actor_id, admins=admins, workspace_admin=workspace_admin):
        return Decision(False, say("only an admin can approve this spend"))
    if actor_id == requester_id:
        return Decision(False, say("someone other than the requester has to approve this spend"))
    return Decision(True, say("you are an admin"))


def may_adopt(*, actor_id: str, admins: Collection[str], workspace_admin: bool) -> Decision:
    """Adopting a job started elsewhere into a channel: admins only."""
    if is_admin(actor_id=actor_id, admins=admins, workspace_admin=workspace_admin):
        return Decision(True, say("you are an admin"))
    return Decision(False, say("only an admin can adopt a job started elsewhere"))
