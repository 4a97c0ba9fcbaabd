"""Dataset doctor, Fix: repair rules, table-driven (bot.core.doctor)."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import pytest

from bot.core.doctor import (
    DROP,
    TRIM,
    CannotFix,
    Change,
    Repair,
    change_text,
    needs_fix,
    repair,
    summary_text,
    trim_chat,
)
from bot.core.models import resolve_model
from bot.core.validation import analyze

MODEL = resolve_model("gpt-4.1-mini-2025-04-14", "openai")


def chat(user: str = "hi", reply: str = "hello", system: str | None = "be brief") -> str:
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
    return json.dumps({"messages": messages})


def fix(
    tmp_path: Path, content: bytes, name: str = "data.jsonl", **kw: Any
) -> tuple[Repair, list[bytes]]:
    path = tmp_path / name
    path.write_bytes(content)
    out = io.BytesIO()
    result = repair(path, out, model=kw.pop("model", MODEL), **kw)
    return result, out.getvalue().splitlines()


def small(limit: int) -> Any:
    return dataclasses.replace(MODEL, example_limit=limit)


@pytest.mark.parametrize(
    ("bad", "kind"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "not_an_object"),
        ('{"prompt": 1}', "missing_messages"),
        ('{"messages": [{"content": "x"}, {"role": "assistant", "content": "y"}]}', "missing_role"),
        ('{"messages": [{"role": "user", "content": "x"}]}', "missing_assistant_message"),
        (
            '{"messages": [{"role": "robot", "content": "x"}, {"role": "assistant", "content": "y"}]}',
            "unrecognized_role",
        ),
        ('{"messages": [{"role": "assistant", "content": "y", "weight": 2}]}', "invalid_weight"),
    ],
)
def test_an_invalid_example_is_removed_and_listed_by_line(
    tmp_path: Path, bad: str, kind: str
) -> None:
    lines = [chat("a"), chat("b"), bad, chat("c")]
    result, out = fix(tmp_path, "\n".join(lines).encode())
    assert out == [lines[0].encode(), lines[1].encode(), lines[3].encode()]
    assert result.changes == (Change(kind, 1, (3,)),)
    assert (result.examples, result.kept, result.removed) == (4, 3, 1)


def test_unchanged_lines_are_copied_byte_for_byte_and_the_bom_is_stripped(tmp_path: Path) -> None:
    odd = '{"messages":[{"role":"user","content":"caf\\u00e9"},  {"role":"assistant","content":"1.0"}]}'
    content = b"\xef\xbb\xbf" + f"{chat()}\r\n\n{odd}\n   \n".encode()
    result, out = fix(tmp_path, content)
    assert out == [chat().encode(), odd.encode()]
    assert [c.kind for c in result.changes] == ["byte_order_mark"]
    assert change_text(result.changes[0], result) == (
        "Removed the byte-order mark at the start of the file."
    )


def test_a_json_array_is_written_as_jsonl_with_item_numbers(tmp_path: Path) -> None:
    items = [json.loads(chat("a")), {"messages": []}, json.loads(chat("b"))]
    result, out = fix(tmp_path, json.dumps(items, indent=2).encode(), "data.json")
    assert [json.loads(line) for line in out] == [items[0], items[2]]
    assert result.numbering == "item"
    assert [c.kind for c in result.changes] == ["json_array", "missing_messages"]
    texts = [change_text(c, result) for c in result.changes]
    assert texts == [
        "Wrote the JSON array as JSONL: one example per line.",
        "Removed 1 invalid example: No messages list (item 2).",
    ]


def test_exact_duplicates_are_removed_keeping_the_first(tmp_path: Path) -> None:
    reordered = '{"messages": [{"content": "hi", "role": "user"}, {"content": "hello", "role": "assistant"}]}'
    lines = [chat(system=None), chat("other"), reordered, chat(system=None)]
    result, out = fix(tmp_path, "\n".join(lines).encode())
    assert out == [lines[0].encode(), lines[1].encode()]
    assert result.changes == (Change("duplicate", 2, (3, 4)),)
    assert change_text(result.changes[0], result) == (
        "Removed 2 exact duplicates of an earlier example (lines 3, 4)."
    )


def test_an_invalid_line_is_not_counted_as_a_duplicate_too(tmp_path: Path) -> None:
    result, _ = fix(tmp_path, b"{x\n{x\n" + chat().encode())
    assert result.changes == (Change("invalid_json", 2, (1, 2)),)


def test_over_limit_examples_are_dropped_by_default(tmp_path: Path) -> None:
    lines = [chat("short"), chat("word " * 200), chat("fine")]
    result, out = fix(tmp_path, "\n".join(lines).encode(), model=small(60))
    assert out == [lines[0].encode(), lines[2].encode()]
    assert result.changes == (Change("over_limit", 1, (2,)),)
    assert "over gpt-4.1-mini-2025-04-14's limit of 60 tokens (line 2)" in change_text(
        result.changes[0], result
    )


def test_trim_drops_the_oldest_turns_and_keeps_system_and_final_reply(tmp_path: Path) -> None:
    messages = [{"role": "system", "content": "rules"}]
    for i in range(4):
        messages += [
            {"role": "user", "content": f"question {i} " + "word " * 30},
            {"role": "assistant", "content": f"answer {i}"},
        ]
    messages.append({"role": "user", "content": "a trailing question nobody answered"})
    line = json.dumps({"messages": messages})
    result, out = fix(tmp_path, line.encode(), model=small(100), over_limit=TRIM)
    kept = json.loads(out[0])["messages"]
    assert kept[0] == messages[0]
    assert kept[-1] == {"role": "assistant", "content": "answer 3"}
    assert kept[1:] == messages[-(len(kept) - 1) - 1 : -1]  # the newest whole turns
    assert len(kept) < len(messages)
    assert result.changes == (Change("trimmed", 1, (1,)),)
    recheck = tmp_path / "again.jsonl"
    recheck.write_bytes(b"\n".join(out))
    report = analyze(recheck, model=small(100))
    assert "over_token_limit" not in report.warnings


def test_trim_shortens_a_long_message_when_one_turn_is_left(tmp_path: Path) -> None:
    line = chat("word " * 500, "the reply", system="sys")
    result, out = fix(tmp_path, line.encode(), model=small(80), over_limit=TRIM)
    kept = json.loads(out[0])["messages"]
    assert kept[0]["content"] == "sys" and kept[2]["content"] == "the reply"
    assert "word word" in kept[1]["content"] and len(kept[1]["content"]) < 500
    assert result.changes == (Change("trimmed", 1, (1,)),)
    recheck = tmp_path / "again.jsonl"
    recheck.write_bytes(b"\n".join(out))
    assert analyze(recheck, model=small(80)).tokens.max <= 80


def test_an_example_whose_final_reply_alone_is_too_long_is_dropped_and_listed(
    tmp_path: Path,
) -> None:
    lines = [chat("q", "word " * 300), chat()]
    result, out = fix(tmp_path, "\n".join(lines).encode(), model=small(60), over_limit=TRIM)
    assert out == [lines[1].encode()]
    assert result.changes == (Change("untrimmable", 1, (1,)),)
    assert "could not be trimmed" in change_text(result.changes[0], result)


def test_a_preference_pair_over_the_limit_cannot_be_trimmed(tmp_path: Path) -> None:
    pair = {
        "input": {"messages": [{"role": "user", "content": "word " * 200}]},
        "preferred_output": [{"role": "assistant", "content": "yes"}],
        "non_preferred_output": [{"role": "assistant", "content": "no"}],
    }
    result, out = fix(tmp_path, json.dumps(pair).encode(), model=small(60), over_limit=TRIM)
    assert out == [] and result.changes == (Change("untrimmable", 1, (1,)),)


def test_trim_chat_without_an_assistant_message_gives_up() -> None:
    example = {"messages": [{"role": "user", "content": "x"}]}
    assert trim_chat(example, limit=1, message_tokens=len, fixed=0, shorten=lambda t, n: t) is None


def test_a_file_that_is_no_dataset_cannot_be_fixed(tmp_path: Path) -> None:
    with pytest.raises(CannotFix, match="not a dataset"):
        fix(tmp_path, b"\x00\x01binary")


def test_lines_beyond_twenty_are_summarised_and_the_count_is_exact(tmp_path: Path) -> None:
    lines = [chat()] + ["{bad"] * 25
    result, _ = fix(tmp_path, "\n".join(lines).encode())
    change = result.changes[0]
    assert change.count == 25 and len(change.lines) == 25
    text = change_text(change, result)
    assert text.startswith("Removed 25 invalid examples: Not valid JSON (lines 2, 3,")
    assert text.endswith(", 21 and 5 more).")
    assert summary_text(result) == "1 of 26 examples remain."


def test_an_unknown_over_limit_choice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="over_limit"):
        fix(tmp_path, chat().encode(), over_limit="shrink")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("\n".join([chat(str(i)) for i in range(12)]), False),  # ready: nothing to fix
        ("\n".join([chat(str(i)) for i in range(3)]), False),  # too few: Fix cannot add any
        ("\n".join([chat(str(i)) for i in range(12)] + ["{x"]), True),
        ("\n".join([chat(str(i)) for i in range(12)] + [chat("0")]), True),  # a duplicate
        ("\n".join([chat(str(i)) for i in range(12)] + [chat("w " * 300)]), True),  # over limit
    ],
)
def test_the_fix_button_rule(tmp_path: Path, content: str, expected: bool) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(content)
    assert needs_fix(analyze(path, model=small(100))) is expected


def test_a_binary_file_is_not_fixable(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"\x00\x00")
    assert needs_fix(analyze(path, model=MODEL)) is False


def test_drop_is_the_default_choice(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(chat("word " * 200))
    assert repair(path, io.BytesIO(), model=small(60)).changes[0].kind == "over_limit"
    assert DROP == "drop"
