"""Comparing a fine-tuned model with its base, purely: cases from records, normalising, scoring."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.compare import Case, Outcome, Score, cases_from, normalise, score

SYSTEM = {"role": "system", "content": "Answer briefly."}
USER = {"role": "user", "content": "Capital of France?"}
ANSWER = {"role": "assistant", "content": "Paris."}


def chat(*messages: Any) -> dict[str, Any]:
    return {"messages": list(messages)}


@pytest.mark.parametrize(
    ("value", "error", "expected"),
    [
        (chat(USER, ANSWER), None, Case(1, [USER], "Paris.")),
        (chat(SYSTEM, USER, ANSWER), None, Case(1, [SYSTEM, USER], "Paris.")),
        (  # a multi-turn example: every earlier turn is the prompt
            chat(USER, {"role": "assistant", "content": "Paris."}, USER, ANSWER),
            None,
            Case(1, [USER, {"role": "assistant", "content": "Paris."}, USER], "Paris."),
        ),
        (  # only role and content go to the model (weight, name... stay behind)
            chat({**USER, "name": "ann", "weight": 0}, {**ANSWER, "weight": 1}),
            None,
            Case(1, [USER], "Paris."),
        ),
        (  # turns without text content (tool calls, content parts) are left out of the prompt
            chat(
                {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                {"role": "assistant", "content": None, "tool_calls": []},
                USER,
                ANSWER,
            ),
            None,
            Case(1, [USER], "Paris."),
        ),
        (chat({"content": "no role"}, USER, ANSWER), None, Case(1, [USER], "Paris.")),
        # not usable as a case
        (chat(USER, ANSWER), "invalid JSON", None),  # a line that did not parse
        ("a string", None, None),
        (None, None, None),
        ([USER, ANSWER], None, None),
        ({}, None, None),
        ({"prompt": "q", "completion": "a"}, None, None),  # prompt-completion format
        ({"messages": "not a list"}, None, None),
        (chat(), None, None),
        (chat(ANSWER), None, None),  # nothing to ask
        (chat(ANSWER, USER), None, None),  # does not end in an answer
        (chat(USER, {"role": "assistant", "content": None, "tool_calls": []}), None, None),
        (chat(USER, {"role": "assistant", "content": [{"type": "text", "text": "x"}]}), None, None),
        (chat(USER, "Paris."), None, None),
        (chat({"role": "user", "content": 3}, ANSWER), None, None),  # no text turn to ask with
    ],
)
def test_cases_from_one_record(value: Any, error: str | None, expected: Case | None) -> None:
    assert cases_from([(1, value, error)], 10) == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("usable", "limit", "numbers"),
    [
        ([], 5, []),  # empty input
        ([1, 2, 3], 1, [1]),
        ([1, 2, 3], 2, [1, 2]),
        ([1, 2, 3], 3, [1, 2, 3]),
        ([1, 2, 3], 100, [1, 2, 3]),
        ([2, 5, 9], 2, [2, 5]),  # the first usable ones, by line number
    ],
)
def test_cases_from_takes_the_first_limit_cases(
    usable: list[int], limit: int, numbers: list[int]
) -> None:
    records = [
        (n, chat(USER, ANSWER) if n in usable else {"prompt": "q"}, None) for n in range(1, 11)
    ]
    assert [case.number for case in cases_from(records, limit)] == numbers


def test_cases_from_stops_reading_at_the_limit() -> None:
    read: list[int] = []

    def records() -> Any:
        for n in range(1, 1_000_000):
            read.append(n)
            yield n, chat(USER, ANSWER), None

    assert len(cases_from(records(), 3)) == 3
    assert read == [1, 2, 3]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Paris", "paris"),
        ("  Paris.  ", "paris"),
        ("PARIS!", "paris"),
        ('"Paris"', "paris"),
        ("`paris`", "paris"),
        ("'Paris'?!", "paris"),
        ("Paris, France.", "paris, france"),  # inner punctuation counts
        ("New   York\n\tCity", "new york city"),
        ("ＰＡＲＩＳ", "paris"),  # full-width letters
        ("e\u0301te\u0301", "été"),  # decomposed accents compose
        ("Straße", "strasse"),  # casefold, not lower
        ("", ""),
        ("   ", ""),
        ("...!?", ""),
        ("3.14", "3.14"),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_normalise_is_idempotent() -> None:
    for text in ("  Paris.  ", "ＰＡＲＩＳ", "e\u0301", '"a" b.'):
        assert normalise(normalise(text)) == normalise(text)


def outcome(reference: str, base: str, tuned: str) -> Outcome:
    return Outcome(Case(1, [USER], reference), base=base, tuned=tuned)


@pytest.mark.parametrize(
    ("outcomes", "base", "tuned"),
    [
        ([], Score(0, 0, 0), Score(0, 0, 0)),
        ([outcome("Paris.", "Paris.", "Paris.")], Score(1, 1, 1), Score(1, 1, 1)),
        ([outcome("Paris.", "paris", "Lyon")], Score(0, 1, 1), Score(0, 0, 1)),
        ([outcome("Paris.", "", "Paris")], Score(0, 0, 1), Score(0, 1, 1)),
        ([outcome("", "", "...")], Score(1, 1, 1), Score(0, 1, 1)),
        (
            [
                outcome("Paris.", "Paris.", "Paris."),
                outcome("Yes", "yes!", "No"),
                outcome("42", "The answer is 42", "42"),
            ],
            Score(1, 2, 3),
            Score(2, 2, 3),
        ),
        ([outcome("a", "a", "b")] * 10_000, Score(10_000, 10_000, 10_000), Score(0, 0, 10_000)),
    ],
)
def test_score(outcomes: list[Outcome], base: Score, tuned: Score) -> None:
    assert score(outcomes, tuned=False) == base
    assert score(outcomes, tuned=True) == tuned


@pytest.mark.parametrize(
    ("value", "total", "text"),
    [
        (0, 0, "0/0 (0%)"),  # no cases: no division by zero
        (0, 20, "0/20 (0%)"),
        (7, 20, "7/20 (35%)"),
        (20, 20, "20/20 (100%)"),
        (1, 3, "1/3 (33%)"),
        (2, 3, "2/3 (67%)"),
    ],
)
def test_rate(value: int, total: int, text: str) -> None:
    assert Score(exact=value, normalised=value, total=total).rate(value) == text
