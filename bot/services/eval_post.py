"""Where an evaluation is shown, and its progress line (product §6, §10).

A scorecard names models. It goes in a shared thread only when every model it names belongs to
that thread's conversation or is a base model (base models are public); otherwise only the
requester may see it, and it goes to their direct messages with the bot: a DM message can be
edited as the evaluation progresses (an ephemeral one cannot), and the scorecard stays there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.core.message import Message, say
from bot.services.eval_text import EvalPlan, EvalResult

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 1.0


class EvalNotifier(Protocol):
    """Posts and edits lines, posts a scorecard, opens a DM, finds a marked message
    (handlers.notifier.SlackEvalNotifier)."""

    def post_text(self, *, channel: str, thread_ts: str | None, text: Message) -> str: ...

    def update_text(self, *, channel: str, ts: str, text: Message) -> None: ...

    def post_scorecard(
        self, *, channel: str, thread_ts: str | None, result: EvalResult, key: str | None = None
    ) -> str: ...

    def direct_channel(self, user_id: str) -> str: ...

    def find_marked(self, *, channel: str, thread_ts: str, key: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Where:
    """Where an evaluation's messages go: a conversation, a thread in it (None: top level)."""

    channel: str
    thread_ts: str | None
    private: bool = False


def shown_in(plan: EvalPlan, conversation: str) -> bool:
    """True when every model `plan` names belongs to `conversation` or is a base model."""
    return all(c.channel is None or c.channel == conversation for c in plan.contenders)


class ProgressLine:
    """One message that counts the answered examples: posted (or, for a runner taking over,
    the one already posted), edited at most every PROGRESS_EVERY_S and at the end.
    `tick` runs on every step (a runner renews its lease there)."""

    def __init__(
        self,
        notifier: EvalNotifier,
        where: Where,
        head: Message,
        *,
        ts: str | None = None,
        tick: Callable[[], None] | None = None,
    ) -> None:
        self._notifier = notifier
        self._where = where
        self._head = head
        self._tick = tick
        self._last = 0.0
        self._shown = 0
        self._lock = threading.Lock()
        self.ts = ts

    def _text(self, done: int, total: int) -> Message:
        mark = ":white_check_mark: " if done == total else ":hourglass_flowing_sand: "
        return say(mark, self._head, f" {done}/{total} answered.")

    def start(self, total: int) -> str:
        """Post the line at 0/total (or reset the one taken over); returns its ts."""
        where = self._where
        if self.ts is None:
            self.ts = self._notifier.post_text(
                channel=where.channel, thread_ts=where.thread_ts, text=self._text(0, total)
            )
        else:
            self._edit(0, total)
        self._last = time.monotonic()
        return self.ts

    def _edit(self, done: int, total: int) -> None:
        assert self.ts is not None
        try:
            self._notifier.update_text(
                channel=self._where.channel, ts=self.ts, text=self._text(done, total)
            )
        except Exception:  # progress is best effort; the scorecard follows anyway
            log.exception("could not edit the evaluation progress")

    def __call__(self, done: int, total: int) -> None:
        if self._tick is not None:
            self._tick()
        with self._lock:  # the runner's threads report in any order: never count backwards
            now = time.monotonic()
            if done < self._shown or (done < total and now - self._last < PROGRESS_EVERY_S):
                return
            self._last, self._shown = now, done
            self._edit(done, total)
