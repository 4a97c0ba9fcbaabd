"""`finetune-bot fix FILE [-o OUT]` and `finetune-bot split FILE [--validation 0.1] [--seed N]`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.bot.test_cli import run
from tests.conftest import shared

GOOD = '{"messages": [{"role": "user", "content": "%s"}, {"role": "assistant", "content": "ok"}]}'


def lines(n: int) -> list[str]:
    return [GOOD % f"q{i}" for i in range(n)]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FTBOT_DEFAULT_MODEL", "FTBOT_DEFAULT_BACKEND", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_fix_writes_the_copy_next_to_the_input_and_lists_every_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = lines(30)
    data[4] = "{broken"
    data[7] = data[0]
    source = tmp_path / "team data.jsonl"
    source.write_bytes(b"\xef\xbb\xbf" + "\n".join(data).encode())
    assert main(["fix", str(source)]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert out.out.splitlines() == [
        "- Removed the byte-order mark at the start of the file.",
        "- Removed 1 invalid example: Not valid JSON (line 5).",
        "- Removed 1 exact duplicate of an earlier example (line 8).",
        f"28 of 30 examples remain. Wrote {tmp_path / 'team data.fixed.jsonl'}.",
    ]
    written = (tmp_path / "team data.fixed.jsonl").read_text().splitlines()
    assert written == [x for i, x in enumerate(data) if i not in (4, 7)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "team data.fixed.jsonl",
        "team data.jsonl",
    ]


def test_fix_trims_on_request_and_writes_to_the_output_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "d.json"
    long_turns = [
        {"role": "user", "content": "word " * 40_000},
        {"role": "assistant", "content": "a"},
    ]
    source.write_text(json.dumps([{"messages": long_turns * 2}, json.loads(GOOD % "x")]))
    target = tmp_path / "out" / "x.jsonl"
    target.parent.mkdir()
    assert main(["fix", str(source), "-o", str(target), "--over-limit", "trim"]) == 0
    out = capsys.readouterr().out
    assert "Wrote the JSON array as JSONL" in out and "Trimmed 1 example" in out
    first = json.loads(target.read_text().splitlines()[0])
    assert first["messages"] == long_turns


def test_fix_with_nothing_to_fix_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "d.jsonl"
    source.write_text("\n".join(lines(3)))
    assert main(["fix", str(source)]) == 0
    assert capsys.readouterr().out.startswith("Nothing to fix in d.jsonl")
    assert [p.name for p in tmp_path.iterdir()] == ["d.jsonl"]


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["fix", "{dir}/missing.jsonl"], 2, "no such file"),
        (["fix", "{dir}/d.jsonl", "-o", "{dir}/d.jsonl"], 2, "would overwrite the input"),
        (["fix", "{dir}/d.jsonl", "--over-limit", "shrink"], 2, "invalid choice"),
        (["fix", "{dir}/d.jsonl", "--model", "gpt-9"], 2, "gpt-9"),
        (["fix", "{dir}/bin.jsonl"], 1, "not a dataset"),
        (["split", "{dir}/d.jsonl", "--validation", "1.5"], 2, "between 0 and 1"),
        (["split", "{dir}/d.jsonl", "--validation", "x"], 2, "between 0 and 1"),
        (["split", "{dir}/d.jsonl", "--seed", "-1"], 2, "whole number"),
        (["split", "{dir}/one.jsonl"], 1, "a split needs at least 2"),
        (["split", "{dir}/bad.jsonl"], 1, "line 2 is not a JSON object example"),
        (["split", "{dir}"], 2, "not a file"),
    ],
)
def test_problems_are_one_line_with_an_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, needle: str
) -> None:
    (tmp_path / "d.jsonl").write_text("\n".join(lines(5)))
    (tmp_path / "one.jsonl").write_text(lines(1)[0])
    (tmp_path / "bad.jsonl").write_text(lines(1)[0] + "\n{x")
    (tmp_path / "bin.jsonl").write_bytes(b"\x00\x01\x02")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main([a.format(dir=tmp_path) for a in args]) == code
    out = capsys.readouterr()
    assert out.out == ""
    assert len(out.err.strip().splitlines()) == 1 and needle in out.err, out.err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing half-written


def test_split_writes_both_parts_seeded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "d.jsonl"
    source.write_text("\n".join(lines(50)) + "\n")
    assert main(["split", str(source), "--validation", "0.2", "--seed", "3"]) == 0
    train = (tmp_path / "d.train.jsonl").read_text().splitlines()
    validation = (tmp_path / "d.validation.jsonl").read_text().splitlines()
    assert (len(train), len(validation)) == (40, 10)
    assert sorted(train + validation) == sorted(lines(50))
    assert capsys.readouterr().out == (
        f"Wrote {tmp_path / 'd.train.jsonl'} (40 examples) and "
        f"{tmp_path / 'd.validation.jsonl'} (10 examples): 0.2 held out, seed 3.\n"
    )
    assert main(["split", str(source), "--validation", "0.2", "--seed", "3"]) == 0
    assert (tmp_path / "d.validation.jsonl").read_text().splitlines() == validation


def test_the_installed_script_fixes_and_splits_offline(tmp_path: Path) -> None:
    source = tmp_path / "drone.jsonl"
    data = shared("drone_training.jsonl").read_bytes().splitlines()
    source.write_bytes(b"\n".join([*data, data[0], b"{oops"]))
    fixed = run("fix", str(source), tmp_path=tmp_path)
    assert fixed.returncode == 0 and fixed.stderr == "", fixed.stderr
    assert f"{len(data)} of {len(data) + 2} examples remain" in fixed.stdout
    assert (tmp_path / "drone.fixed.jsonl").read_bytes().splitlines() == data
    parts = run("split", str(tmp_path / "drone.fixed.jsonl"), tmp_path=tmp_path)
    assert parts.returncode == 0, parts.stderr
    assert (tmp_path / "drone.fixed.validation.jsonl").read_bytes().count(b"\n") == 10
