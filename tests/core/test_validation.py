"""Table-driven checks of every error and warning kind, with counts and 1-based lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.models import resolve_model
from bot.core.validation import analyze
from tests.conftest import DATA, TODAY

MINI = resolve_model("gpt-4o-mini-2024-07-18")


def run(path: Path, **kwargs: object) -> dict:
    return analyze(path, model=MINI, today=TODAY, **kwargs).to_json()  # type: ignore[arg-type]


ERROR_CASES = [
    ("invalid_json.jsonl", "invalid_json", 2, [3, 7]),
    ("not_an_object.jsonl", "not_an_object", 3, [2, 5, 6]),
    ("missing_messages.jsonl", "missing_messages", 3, [4, 8, 9]),
    ("missing_role.jsonl", "missing_role", 1, [2]),
    ("missing_content.jsonl", "missing_content", 3, [3, 5, 6]),
    ("unrecognized_key.jsonl", "unrecognized_key", 2, [2, 4]),
    ("unrecognized_role.jsonl", "unrecognized_role", 2, [3, 6]),
    ("invalid_content_type.jsonl", "invalid_content_type", 4, [2, 4, 6, 8]),
    ("missing_assistant_message.jsonl", "missing_assistant_message", 1, [5]),
    ("invalid_weight.jsonl", "invalid_weight", 3, [2, 3, 4]),
    ("invalid_arguments.jsonl", "invalid_arguments", 2, [2, 4]),
    ("too_few_examples.jsonl", "too_few_examples", 1, []),
    ("not_utf8.jsonl", "not_utf8", 2, [3, 8]),
    ("empty_file.jsonl", "empty_file", 1, []),
    ("whitespace_only.jsonl", "empty_file", 1, []),
    ("blank_lines.jsonl", "missing_assistant_message", 1, [6]),
    ("array.json", "missing_assistant_message", 1, [4]),
    ("dpo_errors.jsonl", "missing_preferred_output", 1, [3]),
    ("dpo_errors.jsonl", "invalid_output", 1, [6]),
    ("prompt_completion_errors.jsonl", "missing_completion", 1, [4]),
    ("prompt_completion_errors.jsonl", "invalid_content_type", 1, [7]),
]


@pytest.mark.parametrize(("name", "kind", "count", "lines"), ERROR_CASES)
def test_error_kind(name: str, kind: str, count: int, lines: list[int]) -> None:
    report = run(DATA / name)
    assert report["valid"] is False
    assert report["errors"][kind] == {"count": count, "lines": lines}


@pytest.mark.parametrize(
    ("name", "only"),
    [
        ("invalid_json.jsonl", {"invalid_json"}),
        ("not_an_object.jsonl", {"not_an_object"}),
        ("missing_messages.jsonl", {"missing_messages"}),
        ("missing_role.jsonl", {"missing_role"}),
        ("missing_content.jsonl", {"missing_content"}),
        ("unrecognized_key.jsonl", {"unrecognized_key"}),
        ("unrecognized_role.jsonl", {"unrecognized_role"}),
        ("invalid_content_type.jsonl", {"invalid_content_type"}),
        ("invalid_weight.jsonl", {"invalid_weight"}),
        ("invalid_arguments.jsonl", {"invalid_arguments"}),
        ("not_utf8.jsonl", {"not_utf8"}),
        ("empty_file.jsonl", {"empty_file"}),
    ],
)
def test_each_bad_file_has_only_its_own_error(name: str, only: set[str]) -> None:
    assert set(run(DATA / name)["errors"]) == only


@pytest.mark.parametrize(
    ("name", "fmt", "examples"),
    [
        ("bom.jsonl", "chat", 10),
        ("array.json", "chat", 11),
        ("array_one_line.jsonl", "chat", 10),
        ("chat_tools.jsonl", "chat_tools", 10),
        ("dpo.jsonl", "dpo", 10),
        ("prompt_completion.jsonl", "prompt_completion", 10),
        ("blank_lines.jsonl", "chat", 11),
        ("empty_file.jsonl", "chat", 0),
    ],
)
def test_format_and_example_count(name: str, fmt: str, examples: int) -> None:
    report = run(DATA / name)
    assert (report["format"], report["examples"]) == (fmt, examples)


@pytest.mark.parametrize(
    "name", ["bom.jsonl", "chat_tools.jsonl", "dpo.jsonl", "array_one_line.jsonl"]
)
def test_valid_files(name: str) -> None:
    report = run(DATA / name)
    assert report["valid"] is True, report["errors"]
    assert report["errors"] == {}


def test_warnings_missing_messages_and_duplicates() -> None:
    warnings = run(DATA / "warnings.jsonl")["warnings"]
    assert warnings["missing_system_message"] == {"count": 1, "lines": [2]}
    assert warnings["missing_user_message"] == {"count": 1, "lines": [3]}
    # line 6 repeats line 4; line 9 is line 4 with its keys in another order
    assert warnings["duplicate_examples"] == {"count": 2, "lines": [6, 9]}


def test_low_diversity_names_the_dominant_reply() -> None:
    report = run(DATA / "low_diversity.jsonl")
    assert report["warnings"]["low_diversity"] == {"count": 4, "lines": [2, 5, 7, 11]}
    assert report["valid"] is True


def test_varied_replies_are_not_low_diversity() -> None:
    assert "low_diversity" not in run(DATA / "bom.jsonl")["warnings"]


def _example(text: str) -> str:
    return json.dumps(
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": text}]}
    )


def test_over_token_limit_and_billing_cap(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    long_text = "hello " * 70_000  # about 70k tokens, over gpt-4o-mini's 65,536
    lines = [_example(f"short answer {i}") for i in range(11)]
    lines.insert(4, _example(long_text))
    path.write_text("\n".join(lines) + "\n")
    report = run(path)
    assert report["warnings"]["over_token_limit"] == {"count": 1, "lines": [5]}
    assert report["billed_tokens_per_epoch"] < report["total_tokens"]
    over = report["token_stats"]["max"]
    assert report["total_tokens"] - report["billed_tokens_per_epoch"] == over - 65_536


def test_two_megabyte_line(tmp_path: Path) -> None:
    path = tmp_path / "big_line.jsonl"
    lines = [_example(f"answer {i}") for i in range(10)]
    lines.insert(2, _example("x y " * 500_000))
    path.write_text("\n".join(lines) + "\n")
    assert len(lines[2]) > 2_000_000
    report = run(path)
    assert report["examples"] == 11
    assert report["errors"] == {}


def test_lines_are_capped_at_twenty_but_count_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(["oops"] * 30 + [_example(f"a{i}") for i in range(5)]) + "\n")
    errors = run(path)["errors"]
    assert errors["invalid_json"] == {"count": 30, "lines": list(range(1, 21))}


def test_large_file_uses_worker_threads_with_identical_numbers(tmp_path: Path) -> None:
    """Above 1 MB the counting runs on worker threads; the numbers must not change."""
    small = tmp_path / "small.jsonl"
    lines = [
        _example(f"Reply number {i} with some words <|endoftext|> in it " * 3) for i in range(40)
    ]
    small.write_text("\n".join(lines) + "\n")
    big = tmp_path / "big.jsonl"
    big.write_text("\n".join(lines * 400) + "\n")
    assert big.stat().st_size > 1 << 20
    one, many = run(small), run(big)
    assert many["total_tokens"] == one["total_tokens"] * 400
    assert many["warnings"]["duplicate_examples"]["count"] == 40 * 399


def test_shut_down_model_still_gets_numbers_with_a_note() -> None:
    report = analyze(
        DATA / "bom.jsonl", model=resolve_model("gpt-3.5-turbo-0125"), today=TODAY
    ).to_json()
    assert report["model"] == "gpt-3.5-turbo-0125"
    assert report["total_tokens"] > 0
    assert any("shut down" in note for note in report["notes"])
    assert all(line["trainable"] for line in report["other_models"])


def test_epochs_override() -> None:
    report = run(DATA / "bom.jsonl", epochs=2)
    assert (report["epochs"], report["default_epochs"]) == (2, 10)
    expected = round(report["billed_tokens_per_epoch"] * 2 * 3.0 / 1e6, 8)
    assert report["estimated_cost_usd"] == expected


@pytest.mark.parametrize(
    ("name", "numbering"),
    [("array.json", "item"), ("array_one_line.jsonl", "item"), ("bom.jsonl", "line")],
)
def test_the_reader_decides_what_line_numbers_count(name: str, numbering: str) -> None:
    assert analyze(DATA / name, model=MINI, today=TODAY).numbering == numbering
