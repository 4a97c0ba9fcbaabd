"""Comparing a fine-tuned model with its base model on held-out examples: pure parts."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Case:
    """One test example: the conversation up to the answer, and the reference answer."""

    number: int
    prompt: list[dict[str, Any]]
    reference: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """Both models' answers to one case."""

    case: Case
    base: str
    tuned: str


def cases_from(records: Iterable[tuple[int, Any, str | None]], limit: int) -> list[Case]:
    """The first `limit` chat examples whose last message is a text assistant reply."""
    found: list[Case] = []
    for number, value, error in records:
        if error or not isinstance(value, dict):
            continue
        messages = value.get("messages")
        if not isinstance(messages, list) or len(messages) < 2:
            continue
        last = messages[-1]
        if not (isinstance(last, dict) and last.get("role") == "assistant"):
            continue
        reference = last.get("content")
        prompt = [
            {"role": m["role"], "content": m["content"]}
            for m in messages[:-1]
            if isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role")
        ]
        if isinstance(reference, str) and prompt:
            found.append(Case(number, prompt, reference))
        if len(found) >= limit:
            break
    return found


def normalise(text: str) -> str:
    """Case, accents' composition, surrounding punctuation and runs of whitespace ignored."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _SPACE.sub(" ", text).strip()
    return text.strip(" .,;:!?\"'`")


@dataclass(frozen=True, slots=True)
class Score:
    """Match counts of one model."""

    exact: int
    normalised: int
    total: int

    def rate(self, value: int) -> str:
        """`7/20 (35%)`."""
        share = value / self.total if self.total else 0.0
        return f"{value}/{self.total} ({share:.0%})"


def score(outcomes: list[Outcome], *, tuned: bool) -> Score:
    """Exact and normalised matches against the reference answers."""
    answers = [(o.tuned if tuned else o.base, o.case.reference) for o in outcomes]
    return Score(
        exact=sum(a == r for a, r in answers),
        normalised=sum(normalise(a) == normalise(r) for a, r in answers),
        total=len(answers),
    )
