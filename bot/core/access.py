"""Access follows the chat's conversations (product §6): pure rules over a viewer.

A dataset belongs to the conversation it was shared in; a job and its model to the conversation
where the job was posted. A viewer may see or use one only while they are a member of that
conversation, or as an admin. When an answer is shown to a whole conversation (a mention, a
confirmed command), its *audience* is that conversation and only its own things may appear in it,
whoever asked: its other members are not the requester.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking, and who else will see the answer.

    `is_member(conversation)` is the chat's own membership answer (cached briefly by the adapter).
    `audience` is the conversation where the answer is posted for everyone, or None when only the
    requester sees it (an ephemeral answer, their DM with the bot, the Home tab).
    """

    user_id: str
    is_admin: bool | Callable[[], bool]  # asked only when needed (it may cost a lookup)
    is_member: Callable[[str], bool]
    audience: str | None = None

    @property
    def admin(self) -> bool:
        """An admin (FTBOT_ADMINS, or a workspace admin or owner)."""
        return self.is_admin() if callable(self.is_admin) else self.is_admin

    def shown_in(self, conversation_id: str | None) -> Viewer:
        """The same requester, answered in front of a whole conversation."""
        return Viewer(self.user_id, self.is_admin, self.is_member, conversation_id)


def may_see(viewer: Viewer, conversation_id: str | None) -> bool:
    """May `viewer` see (and use) something that belongs to `conversation_id`?

    Things that belong to no conversation (a job started elsewhere) are for admins only, and
    never shown in front of a conversation.
    """
    if not conversation_id:
        return viewer.admin and viewer.audience is None
    if viewer.audience is not None and conversation_id != viewer.audience:
        return False
    return viewer.is_member(conversation_id) or viewer.admin


def may_change(viewer: Viewer, *, conversation_id: str | None, owner_id: str) -> bool:
    """Cancel, pause, resume, choose a checkpoint, delete a model: owner or admin, who can see it."""
    if not may_see(viewer, conversation_id):
        return False
    return viewer.user_id == owner_id or viewer.admin


def visible(
    viewer: Viewer, items: Iterable[T], conversation_of: Callable[[T], str | None]
) -> list[T]:
    """The items `viewer` may see, in their order (membership asked once per conversation)."""
    answers: dict[str | None, bool] = {}
    kept = []
    for item in items:
        conversation = conversation_of(item)
        if conversation not in answers:
            answers[conversation] = may_see(viewer, conversation)
        if answers[conversation]:
            kept.append(item)
    return kept
