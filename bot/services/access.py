"""Who is asking: a Viewer built from the admin list and the chat's membership answers."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.access import Viewer


class AccessService:
    """Builds viewers: FTBOT_ADMINS or workspace admins see everything; others what they are in."""

    def __init__(
        self,
        *,
        admins: tuple[str, ...],
        is_workspace_admin: Callable[[str], bool],
        is_member: Callable[[str, str], bool],
    ) -> None:
        self._admins = admins
        self._is_workspace_admin = is_workspace_admin
        self._is_member = is_member

    def viewer(self, user_id: str, *, audience: str | None = None) -> Viewer:
        """The viewer for `user_id`; `audience`: the conversation that will see the answer.

        Whether they are an admin is looked up once, and only if a decision needs it."""
        known: list[bool] = []

        def is_admin() -> bool:
            if not known:
                known.append(
                    bool(user_id) and (user_id in self._admins or self._is_workspace_admin(user_id))
                )
            return known[0]

        return Viewer(
            user_id=user_id,
            is_admin=is_admin,
            is_member=lambda conversation: bool(user_id) and self._is_member(user_id, conversation),
            audience=audience,
        )
