"""`finetune-bot validate --backend B --model M` (product §9): the backend's rules, its default
model, the other configured backends' default models, and one line for every bad choice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.bot.test_cli import run
from tests.conftest import DATA, shared

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
QWEN = "Qwen/Qwen2.5-7B-Instruct"
TOY = str(shared("toy_chat_fine_tuning.jsonl"))
DRONE = str(shared("drone_training.jsonl"))


def report(*args: str, tmp_path: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    out = run("validate", *args, "--json", tmp_path=tmp_path, env=env)
    assert out.returncode in (0, 1) and out.stderr == "", out.stderr
    parsed: dict[str, Any] = json.loads(out.stdout)
    return parsed


def models(parsed: dict[str, Any]) -> list[str]:
    return [parsed["model"], *(line["model"] for line in parsed["other_models"])]


def test_backend_together_json(tmp_path: Path) -> None:
    parsed = report(DRONE, "--backend", "together", tmp_path=tmp_path)
    assert (parsed["backend"], parsed["model"]) == ("together", LLAMA)
    assert (parsed["epochs"], parsed["default_epochs"]) == (1, 1)
    assert parsed["estimated_cost_usd"] is None and parsed["price"] == "quote"
    assert parsed["tokens_estimated"] is True and parsed["encoding"] == "cl100k_base"
    # offline with no key: only Together's models, no OpenAI line
    assert all(line["backend"] == "together" for line in parsed["other_models"])
    assert QWEN in models(parsed)


def test_backend_together_text(tmp_path: Path) -> None:
    out = run("validate", DRONE, "--backend", "together", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "Billing: 1 epoch (Together AI's default for 103 examples is 1)" in text
    assert (
        f"* Together AI · {LLAMA}: ~62,360 tokens × 1 epoch (estimated count: its tokenizer "
        "isn't shipped) · Together AI quotes the price when the job starts"
    ) in text
    assert "$0.00" not in text and "$0 " not in text
    assert "cl100k_base" in text  # the note says what the estimate is counted with


def test_model_picks_its_backend(tmp_path: Path) -> None:
    parsed = report(DRONE, "--model", QWEN, tmp_path=tmp_path)
    assert (parsed["backend"], parsed["model"]) == ("together", QWEN)
    parsed = report(DRONE, "--backend", "together", "--model", QWEN, tmp_path=tmp_path)
    assert parsed["model"] == QWEN


def test_openai_offline_is_as_before_plus_backend(tmp_path: Path) -> None:
    parsed = report(TOY, tmp_path=tmp_path)
    assert (parsed["backend"], parsed["price"]) == ("openai", "per_token")
    assert all(line["backend"] == "openai" for line in parsed["other_models"])
    assert parsed["estimated_cost_usd"] == pytest.approx(0.49398)


def test_configured_backends_add_their_default_models(tmp_path: Path) -> None:
    keys = {"OPENAI_API_KEY": "sk-test", "TOGETHER_API_KEY": "tg-test"}
    parsed = report(TOY, tmp_path=tmp_path, env=keys)
    assert parsed["backend"] == "openai"  # OpenAI first while it takes new jobs
    together = [line for line in parsed["other_models"] if line["backend"] == "together"]
    assert [line["model"] for line in together] == [LLAMA]  # the default model only
    assert together[0]["estimated_cost_usd"] is None and together[0]["epochs"] == 1
    out = run("validate", TOY, tmp_path=tmp_path, env=keys)
    assert f"  Together AI · {LLAMA}: ~8,242 tokens × 1 epoch" in out.stdout
    # FTBOT_TOGETHER_MODEL names Together's default
    parsed = report(TOY, tmp_path=tmp_path, env={**keys, "FTBOT_TOGETHER_MODEL": QWEN})
    assert QWEN in models(parsed) and LLAMA not in models(parsed)
    # with --backend together, OpenAI's default model is the other backend's line
    parsed = report(TOY, "--backend", "together", tmp_path=tmp_path, env=keys)
    assert [line["model"] for line in parsed["other_models"]][-1] == "gpt-4o-mini-2024-07-18"


@pytest.mark.parametrize(
    ("env", "backend"),
    [
        ({"FTBOT_DEFAULT_BACKEND": "together"}, "together"),
        ({"TOGETHER_API_KEY": "tg-test"}, "together"),  # the only configured backend
        ({"OPENAI_API_KEY": "sk-test", "TOGETHER_API_KEY": "tg-test"}, "openai"),
        (
            {"OPENAI_API_KEY": "sk", "TOGETHER_API_KEY": "tg", "FTBOT_DEFAULT_BACKEND": "together"},
            "together",
        ),
        ({}, "openai"),
    ],
)
def test_default_backend_from_the_environment(
    tmp_path: Path, env: dict[str, str], backend: str
) -> None:
    assert report(TOY, tmp_path=tmp_path, env=env)["backend"] == backend


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--backend", "together", "--model", "gpt-4o-mini"], {}, "not of Together AI"),
        (["--backend", "openai", "--model", QWEN], {}, "is a model of Together AI"),
        (["--backend", "together", "--model", "org/unknown"], {}, QWEN),  # lists its models
        (["--model", "org/unknown"], {}, "unknown Together AI model 'org/unknown'"),
        (["--model", "gpt-9"], {}, "gpt-4o-mini-2024-07-18"),
        (["--backend", "azure", "--model", QWEN], {}, "is a model of Together AI"),
        (["--backend", "azure", "--model", "gpt-9"], {}, "unknown Azure OpenAI model 'gpt-9'"),
        (["--backend", "bedrock"], {}, "invalid choice"),
        ([], {"FTBOT_DEFAULT_BACKEND": "bedrock"}, "FTBOT_DEFAULT_BACKEND"),
        (["--backend", "together"], {"FTBOT_TOGETHER_MODEL": "x/y"}, "FTBOT_TOGETHER_MODEL"),
    ],
)
def test_bad_choices_exit_two_with_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], needle: str
) -> None:
    out = run("validate", str(DATA / "bom.jsonl"), *args, tmp_path=tmp_path, env=env)
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_validate_on_azure_reports_its_model_without_a_price(tmp_path: Path) -> None:
    got = report(TOY, "--backend", "azure", tmp_path=tmp_path)
    assert got["backend"] == "azure"
    assert got["model"] == "gpt-4o-mini-2024-07-18"


def test_validate_on_azure_as_the_default_backend(tmp_path: Path) -> None:
    got = report(TOY, tmp_path=tmp_path, env={"FTBOT_DEFAULT_BACKEND": "azure"})
    assert got["backend"] == "azure"


def test_validate_text_on_azure_says_the_price_is_unknown(tmp_path: Path) -> None:
    out = run("validate", TOY, "--backend", "azure", tmp_path=tmp_path)
    assert out.returncode in (0, 1), out.stderr
    assert "price unknown (Azure OpenAI publishes no rate" in out.stdout
    assert "$" not in out.stdout.split("Azure OpenAI", 1)[-1].split("\n", 1)[0]


def test_validate_json_on_azure_marks_the_price_unknown(tmp_path: Path) -> None:
    got = report(TOY, "--backend", "azure", tmp_path=tmp_path)
    assert got["price"] == "unknown" and got["estimated_cost_usd"] is None


def test_validate_with_backend_keys_never_loads_the_service_layer(tmp_path: Path) -> None:
    """The default backend comes from bot.core (pure): an offline `validate` with two backend
    keys set picks Together by FTBOT_DEFAULT_BACKEND without importing SQLAlchemy."""
    import os
    import subprocess
    import sys

    probe = (
        "import json, sys\n"
        "from bot.cli import main\n"
        f"code = main(['validate', {DRONE!r}, '--json'])\n"
        "print(json.dumps({'code': code, 'sql': 'sqlalchemy' in sys.modules}))\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
        "OPENAI_API_KEY": "sk-x", "TOGETHER_API_KEY": "t-x", "FTBOT_DEFAULT_BACKEND": "together",
    }  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert json.loads(lines[0])["backend"] == "together"
    assert json.loads(lines[-1]) == {"code": 0, "sql": False}


def test_validate_on_azure_with_the_teams_own_rate_prices_it(tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text(
        '[[price]]\nbackend = "azure"\nmodel = "gpt-4o-mini"\ntraining_usd_per_1m = 1.65\n'
        'source = "our Azure price sheet"\n'
    )
    env = {"FTBOT_PRICES": str(prices)}
    got = report(TOY, "--backend", "azure", tmp_path=tmp_path, env=env)
    assert got["price"] == "per_token"
    unpriced = report(TOY, "--backend", "azure", tmp_path=tmp_path)
    assert got["estimated_cost_usd"] > 0 and unpriced["estimated_cost_usd"] is None
    tokens = got["billed_tokens_per_epoch"] * got["epochs"]
    assert got["estimated_cost_usd"] == pytest.approx(tokens * 1.65 / 1_000_000, abs=1e-6)
    text = run("validate", TOY, "--backend", "azure", tmp_path=tmp_path, env=env).stdout
    mini = next(line for line in text.splitlines() if line.startswith("* gpt-4o-mini"))
    assert "price unknown" not in mini and "$" in mini, text
    other = next(line for line in text.splitlines() if "gpt-4.1-2025-04-14" in line)
    assert "price unknown" in other  # the others stay unknown


def test_a_bad_price_file_is_one_line_naming_the_entry(tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text('[[price]]\nbackend = "azure"\nmodel = "gpt-9"\n')
    out = run("validate", TOY, tmp_path=tmp_path, env={"FTBOT_PRICES": str(prices)})
    assert out.returncode == 2 and out.stdout == ""
    (line,) = out.stderr.strip().splitlines()
    assert "FTBOT_PRICES: price #1: `training_usd_per_1m` is missing" in line
    assert str(prices) in line
    missing = run("validate", TOY, tmp_path=tmp_path, env={"FTBOT_PRICES": str(tmp_path / "no")})
    assert missing.returncode == 2 and "FTBOT_PRICES: cannot read" in missing.stderr
    assert "Traceback" not in out.stderr + missing.stderr
