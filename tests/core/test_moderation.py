"""The content check's pure rules: which text is sent, how it is cut into pieces and requests,
how answers fold back into flagged lines, and when the progress line is edited."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.moderation import (
    MAX_INPUTS,
    MAX_PIECE_CHARS,
    MAX_REQUEST_CHARS,
    Flag,
    Piece,
    Tally,
    Verdict,
    batches,
    by_category,
    example_text,
    flags_of,
    merge,
    pieces,
    should_report,
    split_text,
    tally,
    texts_of,
)


def chat(*contents: Any) -> dict[str, Any]:
    roles = ["system", "user", "assistant"]
    return {"messages": [{"role": roles[i % 3], "content": c} for i, c in enumerate(contents)]}


@pytest.mark.parametrize(
    ("example", "texts"),
    [
        (chat("sys", "question", "answer"), ["sys", "question", "answer"]),
        (chat("", "  ", "answer"), ["answer"]),  # blank contents are not sent
        (
            chat([{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {}}], "x"),
            ["look", "x"],
        ),
        (
            {"messages": [{"role": "assistant", "content": None, "tool_calls": [{}]}]},
            [],
        ),
        (
            {
                "input": {"messages": [{"role": "user", "content": "q"}]},
                "preferred_output": [{"role": "assistant", "content": "good"}],
                "non_preferred_output": [{"role": "assistant", "content": "bad"}],
            },
            ["q", "good", "bad"],
        ),
        ({"prompt": "p", "completion": "c"}, ["p", "c"]),
        ({"messages": "not a list"}, []),
        ({"messages": [1, None, {"role": "user"}]}, []),
        ([{"role": "user", "content": "an array, not an example"}], []),
        ("text", []),
    ],
)
def test_texts_of(example: Any, texts: list[str]) -> None:
    assert texts_of(example) == texts


def test_example_text_joins_and_makes_lone_surrogates_sendable() -> None:
    assert example_text(chat("a", "b")) == "a\n\nb"
    assert example_text(chat("bad \ud800 half")) == "bad ? half"
    assert example_text({}) == ""


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("", 5, [""]),
        ("abc", 5, ["abc"]),
        ("abcde", 5, ["abcde"]),
        ("abcdefghij", 5, ["abcde", "fghij"]),
        ("aaaa bbbb cccc", 6, ["aaaa", " bbbb", " cccc"]),  # cut at the space near the end
        ("aaaaaaa bb", 8, ["aaaaaaa", " bb"]),
        ("a bcdefghijk", 8, ["a bcdefg", "hijk"]),  # the only space is too early: hard cut
    ],
)
def test_split_text(text: str, limit: int, expected: list[str]) -> None:
    assert split_text(text, limit) == expected
    assert "".join(expected) == text


def test_pieces_skip_unreadable_and_empty_examples_and_cut_long_ones() -> None:
    records = [
        (1, chat("short"), None),
        (2, b"{not json", "invalid_json"),
        (3, chat(""), None),
        (4, chat("x" * 25), None),
        (5, "not an object", None),
    ]
    assert list(pieces(records, limit=10)) == [
        Piece(1, "short"),
        Piece(4, "x" * 10, last=False),
        Piece(4, "x" * 10, last=False),
        Piece(4, "x" * 5),
    ]
    assert tally(records) == Tally(checkable=2, unreadable=2, empty=1)


def sizes(items: list[Piece], **limits: int) -> list[list[int]]:
    return [[len(p.text) for p in batch] for batch in batches(items, **limits)]


@pytest.mark.parametrize(
    ("lengths", "limits", "expected"),
    [
        ([], {}, []),
        ([1] * 5, {"max_inputs": 2}, [[1, 1], [1, 1], [1]]),
        ([4, 4, 4], {"max_chars": 8}, [[4, 4], [4]]),
        ([4, 5, 3], {"max_chars": 8}, [[4], [5, 3]]),
        ([9, 1], {"max_chars": 8}, [[9], [1]]),  # an oversize piece goes alone
        ([1] * 70, {}, [[1] * 32, [1] * 32, [1] * 6]),
    ],
)
def test_batches(lengths: list[int], limits: dict[str, int], expected: list[list[int]]) -> None:
    items = [Piece(i + 1, "x" * n) for i, n in enumerate(lengths)]
    assert sizes(items, **limits) == expected
    assert [p for batch in batches(items, **limits) for p in batch] == items  # in file order


def test_default_limits_keep_every_request_within_budget() -> None:
    records = [(n, chat("y" * (n * 997 % 30_000)), None) for n in range(1, 120)]
    for batch in batches(pieces(records)):
        assert len(batch) <= MAX_INPUTS
        assert sum(len(p.text) for p in batch) <= MAX_REQUEST_CHARS
        assert all(0 < len(p.text) <= MAX_PIECE_CHARS for p in batch)


def test_flags_of_maps_answers_to_lines_and_refuses_a_short_answer() -> None:
    batch = [Piece(3, "a"), Piece(7, "b", last=False), Piece(7, "c")]
    verdicts = [Verdict(False), Verdict(True, ("violence",)), Verdict(True, ("hate",))]
    assert flags_of(batch, verdicts) == [Flag(7, ("violence",)), Flag(7, ("hate",))]
    with pytest.raises(ValueError, match="2 results for 3 inputs"):
        flags_of(batch, verdicts[:2])


def test_merge_and_by_category() -> None:
    flags = [
        Flag(9, ("hate",)),
        Flag(2, ("violence", "hate")),
        Flag(9, ("harassment", "hate")),
    ]
    merged = merge(flags)
    assert merged == [Flag(2, ("violence", "hate")), Flag(9, ("hate", "harassment"))]
    assert by_category(merged) == [("hate", 2), ("harassment", 1), ("violence", 1)]


@pytest.mark.parametrize(
    ("before", "after", "total", "seconds", "report"),
    [
        (0, 32, 103, 0.0, True),  # crossed 10%, 20%, 30%
        (32, 35, 103, 0.1, False),  # same tenth, too soon
        (32, 35, 103, 5.0, True),  # same tenth, but a while since the last edit
        (32, 32, 103, 60.0, False),  # nothing moved
        (96, 103, 103, 60.0, False),  # done: the result replaces the line
        (0, 0, 0, 60.0, False),
        (0, 1, 1000, 0.0, False),
        (99, 100, 1000, 0.0, True),
    ],
)
def test_should_report(before: int, after: int, total: int, seconds: float, report: bool) -> None:
    assert should_report(before, after, total, seconds) is report
