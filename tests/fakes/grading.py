"""Deterministic chat for evaluations: scripted models and a scripted pairwise grader.

`EvalChat` is a fake's `chat_responder`: the models in `answers` reply with what their function
returns for the last user message (others echo it, as the fakes do); a grader request (its system
message is the bot's rubric) is answered by preferring the answer equal to the reference — or
with `grader_reply`, when a test scripts the grader's exact words.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core.evaluation import normalise
from bot.core.grader import RUBRIC

_SECTION = r"## {}\n<<<\n(.*?)\n>>>"


def _section(text: str, name: str) -> str:
    found = re.search(_SECTION.format(re.escape(name)), text, re.DOTALL)
    return found.group(1) if found else ""


def reference_verdict(prompt: str) -> str:
    """`VERDICT: 1` or `2` for the one answer equal (normalised) to the reference, else TIE."""
    reference = normalise(_section(prompt, "Reference answer"))
    one = normalise(_section(prompt, "Answer 1")) == reference
    two = normalise(_section(prompt, "Answer 2")) == reference
    if one != two:
        return "VERDICT: 1" if one else "VERDICT: 2"
    return "VERDICT: TIE"


@dataclass
class EvalChat:
    """A chat responder for evaluation tests (thread-safe; records the grader's prompts)."""

    answers: dict[str, Callable[[str], str]] = field(default_factory=dict)
    grader_reply: Callable[[str], str] | None = None
    grader_prompts: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: dict[str, Any]) -> str:
        messages = request.get("messages") or []
        if messages and messages[0].get("content") == RUBRIC:
            prompt = str(messages[-1].get("content") or "")
            with self._lock:
                self.grader_prompts.append(prompt)
            return (self.grader_reply or reference_verdict)(prompt)
        question = next(
            (str(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""
        )
        answer = self.answers.get(str(request.get("model")))
        return answer(question) if answer else f"echo: {question}"
