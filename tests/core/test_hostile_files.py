"""Hostile datasets: deep nesting, huge numbers, binary and non-JSON files get a report, never a crash."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest

from bot.core.datasets import MAX_NESTING, deeper_than, looks_like_dataset
from bot.core.models import resolve_model
from bot.core.reports import ERROR_TEXT
from bot.core.validation import analyze
from tests.conftest import TODAY

MINI = resolve_model("gpt-4o-mini-2024-07-18")
OK = '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]}'


def example(extra: str) -> str:
    """A valid chat example with one more key `x` holding `extra` (raw JSON text)."""
    return OK[:-1] + ',"x":' + extra + "}"


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def wrapped(levels: int) -> list:
    """`levels` arrays inside one another, built without a parser's depth limit."""
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def tools(value: str) -> str:
    """A chat example whose tool definition holds `value` (raw JSON) as a schema bound."""
    schema = f'{{"type":"object","properties":{{"a":{{"type":"integer","maximum":{value}}}}}}}'
    tool = f'{{"type":"function","function":{{"name":"f","parameters":{schema}}}}}'
    return '{"tools":[' + tool + '],"messages":' + OK[len('{"messages":') :]


def write(tmp_path: Path, layout: str, bad: str) -> Path:
    """Ten good examples and `bad`: as line 6 of JSONL, item 6 or item 1 of a JSON array."""
    if layout == "jsonl":
        path = tmp_path / "data.jsonl"
        path.write_text("\n".join([OK] * 5 + [bad] + [OK] * 5) + "\n")
    elif layout == "array":
        path = tmp_path / "data.json"
        path.write_text("[" + ",".join([OK] * 5 + [bad] + [OK] * 5) + "]")
    else:
        path = tmp_path / "data.json"
        path.write_text("[" + ",".join([bad] + [OK] * 10) + "]")
    return path


def report(path: Path) -> dict:
    return analyze(path, model=MINI, today=TODAY).to_json()


LAYOUTS = [("jsonl", 6), ("array", 6), ("array_first", 1)]
# (what, the offending example, its error kind); each is skipped over and the rest checked.
KINDS = [
    ("5,000-digit integer", example("9" * 5000), "number_out_of_range"),
    ("negative 5,000-digit integer", example("-" + "9" * 5000), "number_out_of_range"),
    ("400-digit integer", example("9" * 400), "number_out_of_range"),
    ("float past a double", example("1e400"), "number_out_of_range"),
    ("huge number in a tool schema", tools("9" * 400), "number_out_of_range"),
    ("huge number as a weight", OK.replace('"yo"}', '"yo","weight":' + "1" * 400 + "}"),
     "number_out_of_range"),
    ("arrays 300 deep", example(nested(300)), "nesting_too_deep"),
    ("objects 600 deep", example('{"a":' * 600 + "1" + "}" * 600), "nesting_too_deep"),
    ("deep content", OK.replace('"hi"', nested(600)), "nesting_too_deep"),
    ("deep preferred output", '{"input":{"messages":[{"role":"user","content":"hi"}]},'
     '"preferred_output":' + nested(400) + ',"non_preferred_output":[]}', "nesting_too_deep"),
]  # fmt: skip


@pytest.mark.parametrize(("layout", "number"), LAYOUTS)
@pytest.mark.parametrize(("what", "bad", "kind"), KINDS, ids=[k[0] for k in KINDS])
def test_hostile_example_gets_its_kind_and_the_rest_is_checked(
    tmp_path: Path, layout: str, number: int, what: str, bad: str, kind: str
) -> None:
    result = report(write(tmp_path, layout, bad))
    assert result["errors"] == {kind: {"count": 1, "lines": [number]}}, what
    assert result["examples"] == 11 and result["valid"] is False
    assert kind in ERROR_TEXT


@pytest.mark.parametrize(("layout", "number"), LAYOUTS)
@pytest.mark.parametrize(
    ("what", "bad", "kind"),
    [("arrays 100,000 deep", nested(100_000), "nesting_too_deep"),
     ("an example 100,000 deep", example(nested(100_000)), "nesting_too_deep"),
     ("NaN", example("NaN"), "invalid_json"), ("-Infinity", example("-Infinity"), "invalid_json")],
)  # fmt: skip
def test_unreadable_example_is_reported_where_it_is(
    tmp_path: Path, layout: str, number: int, what: str, bad: str, kind: str
) -> None:
    result = report(write(tmp_path, layout, bad))
    assert result["errors"][kind] == {"count": 1, "lines": [number]}, what
    # JSONL goes on with the next line; in an array the item's end is unknown, so reading stops.
    assert set(result["errors"]) <= {kind, "too_few_examples"}


def test_a_json_file_nested_100_000_deep(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text(nested(100_000))
    result = report(path)
    assert result["errors"]["nesting_too_deep"] == {"count": 1, "lines": [1]}
    assert analyze(path, model=MINI, today=TODAY).numbering == "item"


@pytest.mark.parametrize("layout", ["jsonl", "array", "array_first"])
def test_the_nesting_limit_is_exact(tmp_path: Path, layout: str) -> None:
    # The example object is one level; MAX_NESTING - 1 more arrays reach the limit exactly.
    at_limit = example(nested(MAX_NESTING - 1))
    assert set(report(write(tmp_path, layout, at_limit))["errors"]) == {"unrecognized_key"}
    over = example(nested(MAX_NESTING))
    assert "nesting_too_deep" in report(write(tmp_path, layout, over))["errors"]


def test_max_nesting_is_where_orjson_stops_encoding() -> None:
    # The validator finds deep examples for free when orjson refuses them; pin that limit.
    orjson.dumps(orjson.loads(nested(MAX_NESTING)))
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps(orjson.loads(nested(MAX_NESTING + 1)))


@pytest.mark.parametrize(("layout", "number"), LAYOUTS)
@pytest.mark.parametrize(
    "bad",
    [tools("9" * 25), tools('"\\ud800"'), example("9" * 25),
     OK.replace('"hi"', '"\\ud800 lone surrogate"'),
     '{"messages":[{"role":"\\udfff","content":"hi"},{"role":"assistant","content":"yo"}]}'],
    ids=["64-bit+ int in tools", "surrogate in tools", "64-bit+ int", "surrogate", "surrogate role"],
)  # fmt: skip
def test_odd_but_readable_values_never_crash(
    tmp_path: Path, layout: str, number: int, bad: str
) -> None:
    result = report(write(tmp_path, layout, bad))
    assert result["examples"] == 11
    assert not {"nesting_too_deep", "number_out_of_range", "invalid_json"} & set(result["errors"])


@pytest.mark.parametrize(
    ("name", "content"),
    [("ls", Path(sys.executable).resolve().read_bytes()[: 256 << 10]),
     ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 50),
     ("utf16.jsonl", ("\ufeff" + OK + "\n").encode("utf-16-le") * 20),
     ("notes.jsonl", b"# My dataset\n\nQuestions and answers, one per line.\n" * 40),
     ("table.csv.jsonl", b"prompt,completion\nhello,world\n" * 300),
     ("numbers.jsonl", b"1\n2\n3\n" * 10),
     ("strings.json", b'"a"\n"b"\n'),
     ("one_long_line.jsonl", b"x" * (200 << 10))],
)  # fmt: skip
def test_a_file_that_is_no_dataset_gets_one_error(
    tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = report(path)
    assert result["errors"] == {"not_jsonl": {"count": 1, "lines": []}}
    assert result["valid"] is False and result["examples"] == 0
    assert analyze(path, model=MINI, today=TODAY).not_a_dataset


@pytest.mark.parametrize(
    ("what", "content"),
    [("empty", b""), ("blank", b"\n  \n\t\n"), ("BOM then JSONL", b"\xef\xbb\xbf" + OK.encode()),
     ("junk first, objects later", b"oops\n" * 50 + (OK.encode() + b"\n") * 10),
     ("one line longer than the sniff", b"  " + OK.encode()[:-1] + b',"x":"' + b"a" * (200 << 10)
      + b'"}\n'),
     ("an array", ("[" + ",".join([OK] * 10) + "]").encode()),
     ("broken JSON lines", b'{"messages": [\n' * 20)],
)  # fmt: skip
def test_datasets_and_near_datasets_are_read(tmp_path: Path, what: str, content: bytes) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(content)
    assert looks_like_dataset(path), what
    assert "not_jsonl" not in report(path)["errors"]


def test_no_dataset_after_100_junk_lines(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"oops\n" * 100 + (OK.encode() + b"\n") * 10)
    assert not looks_like_dataset(path)


@pytest.mark.parametrize(
    ("value", "limit", "deeper"),
    [(1, 0, False), ([], 0, True), ([], 1, False), ({"a": [{}]}, 2, True), ({"a": [{}]}, 3, False),
     ([[], [[[]]]], 3, True), ([[], [[[]]]], 4, False), (wrapped(5000), 4999, True),
     (wrapped(5000), 5000, False)],
)  # fmt: skip
def test_deeper_than(value: object, limit: int, deeper: bool) -> None:
    assert deeper_than(value, limit) is deeper


def test_array_records_do_not_depend_on_where_reads_cut_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.core import datasets

    items = [OK, example("9" * 400 + "e-300"), example("9" * 400), example("-1e400"),
             example(nested(300)), example("12345678901234567890123"), OK]  # fmt: skip
    path = tmp_path / "data.json"
    path.write_text("[" + ",".join(items) + "]")
    expected = [(n, e) for n, _, e in datasets.iter_records(path)]
    assert expected == [(1, None), (2, None), (3, "number_out_of_range"),
                        (4, "number_out_of_range"), (5, None), (6, None), (7, None)]  # fmt: skip
    for chunk in (7, 64, 100, 333, 401, 1000):
        monkeypatch.setattr(datasets, "_CHUNK", chunk)
        assert [(n, e) for n, _, e in datasets.iter_records(path)] == expected, chunk
