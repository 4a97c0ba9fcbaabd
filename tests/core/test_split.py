"""Dataset doctor, Split: seeded, streamed train/validation split (bot.core.split)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.core.split import (
    CannotSplit,
    can_split,
    fixed_name,
    part_names,
    split,
    validation_count,
    validation_indexes,
    validation_partner,
)


def examples(n: int) -> list[str]:
    return [
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"q{i}"},
                    {"role": "assistant", "content": f"a{i}"},
                ]
            }
        )
        for i in range(n)
    ]


def run(tmp_path: Path, content: bytes, name: str = "d.jsonl", **kw: float) -> tuple:
    path = tmp_path / name
    path.write_bytes(content)
    train, validation = io.BytesIO(), io.BytesIO()
    result = split(path, train, validation, **kw)  # type: ignore[arg-type]
    return result, train.getvalue().splitlines(), validation.getvalue().splitlines()


@pytest.mark.parametrize(
    ("n", "share", "held"),
    [
        (0, 0.1, 0),
        (1, 0.1, 0),
        (2, 0.1, 1),  # at least one on each side
        (2, 0.9, 1),
        (10, 0.1, 1),
        (14, 0.1, 1),
        (15, 0.1, 2),  # 1.5 rounds up
        (103, 0.1, 10),
        (1000, 0.25, 250),
        (5, 0.99, 4),
    ],
)
def test_validation_count(n: int, share: float, held: int) -> None:
    assert validation_count(n, share) == held


@pytest.mark.parametrize(
    ("n", "minimum", "expected"),
    [(1, 1, False), (2, 1, True), (10, 10, False), (11, 10, True), (103, 10, True)],
)
def test_can_split_leaves_a_trainable_part(n: int, minimum: int, expected: bool) -> None:
    assert can_split(n, minimum) is expected


def test_the_split_is_deterministic_for_a_seed_and_keeps_the_file_order(tmp_path: Path) -> None:
    lines = examples(103)
    content = "\n".join(lines).encode()
    first = run(tmp_path, content, seed=7)
    again = run(tmp_path, content, seed=7)
    other = run(tmp_path, content, seed=8)
    result, train, validation = first
    assert (result.examples, result.training, result.validation) == (103, 93, 10)
    assert first[1:] == again[1:]
    assert other[2] != validation
    assert sorted(train + validation) == sorted(line.encode() for line in lines)
    order = {line.encode(): i for i, line in enumerate(lines)}
    assert [order[x] for x in train] == sorted(order[x] for x in train)
    held = validation_indexes(103, 0.1, 7)
    assert validation == [lines[i].encode() for i in sorted(held)]


def test_a_json_array_with_a_bom_is_split_into_jsonl(tmp_path: Path) -> None:
    items = [json.loads(x) for x in examples(4)]
    content = b"\xef\xbb\xbf" + json.dumps(items, indent=1).encode()
    result, train, validation = run(tmp_path, content, "d.json", share=0.5)
    assert (result.training, result.validation) == (2, 2)
    assert sorted(json.loads(x)["messages"][0]["content"] for x in train + validation) == [
        "q0",
        "q1",
        "q2",
        "q3",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"messages": []}\n{oops', "line 2 is not a JSON object example"),
        (b'{"messages": []}\n[1]', "line 2 is not a JSON object example"),
        (b'{"messages": []}', "it has 1 example: a split needs at least 2"),
        (b"", "it has 0 examples"),
        (b"\x00\x01", "not a dataset"),
    ],
)
def test_files_that_cannot_be_split(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(CannotSplit, match=message):
        run(tmp_path, content)


@pytest.mark.parametrize("share", [0.0, 1.0, -0.1, 1.5, float("nan"), float("inf")])
def test_the_share_must_be_a_fraction(tmp_path: Path, share: float) -> None:
    with pytest.raises(CannotSplit, match="between 0 and 1"):
        run(tmp_path, "\n".join(examples(5)).encode(), share=share)


@pytest.mark.parametrize(
    ("name", "train", "validation", "fixed"),
    [
        ("data.jsonl", "data.train.jsonl", "data.validation.jsonl", "data.fixed.jsonl"),
        ("Data.JSON", "Data.train.jsonl", "Data.validation.jsonl", "Data.fixed.jsonl"),
        ("a.b.jsonl", "a.b.train.jsonl", "a.b.validation.jsonl", "a.b.fixed.jsonl"),
        (".jsonl", ".jsonl.train.jsonl", ".jsonl.validation.jsonl", ".jsonl.fixed.jsonl"),
    ],
)
def test_part_names(name: str, train: str, validation: str, fixed: str) -> None:
    assert part_names(name) == (train, validation)
    assert fixed_name(name) == fixed


def test_a_long_name_keeps_its_suffix() -> None:
    name = "x" * 400 + ".jsonl"
    assert fixed_name(name) == "x" * 150 + ".fixed.jsonl"
    assert part_names(name)[1].endswith(".validation.jsonl") and len(part_names(name)[1]) < 200


@pytest.mark.parametrize(
    ("name", "partner"),
    [
        ("x.train.jsonl", "x.validation.jsonl"),
        ("X.TRAIN.JSONL", "X.validation.jsonl"),
        ("x.jsonl", None),
        (".train.jsonl", None),
        ("x.validation.jsonl", None),
    ],
)
def test_validation_partner(name: str, partner: str | None) -> None:
    assert validation_partner(name) == partner
