"""The contract names of product §10 (evaluation) and §11 (dataset doctor) are spelled exactly as
written, where the code defines them and where users read them: `/finetune help`, the CLI's
parser and the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.config import Settings
from bot.core.commands import help_lines
from bot.core.issue_words import PRIVATE_KINDS
from handlers import ids

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
HELP = "\n".join(" ".join(line) for line in help_lines())

SETTINGS = ("FTBOT_EVAL_EXAMPLES", "FTBOT_EVAL_MAX_USD", "FTBOT_GRADER_MODEL")
PII = ("pii_email", "pii_phone", "pii_card", "pii_iban", "secret_key")


@pytest.mark.parametrize(
    "name",
    [
        "holdout=", "eval=off", *SETTINGS, "/finetune eval", "/finetune leaderboard",
        "`dataset_fix`", "`dataset_split`", "`dataset_moderate`", "finetune-bot fix FILE [-o OUT]",
        "finetune-bot split FILE [--validation 0.1] [--seed N]", *PII,
    ],
)  # fmt: skip
def test_the_readme_names_it(name: str) -> None:
    assert name in README


@pytest.mark.parametrize("name", ["holdout=", "eval=", "eval=off", "/finetune eval <model> <dataset>", "/finetune leaderboard <dataset>"])  # fmt: skip
def test_help_names_it(name: str) -> None:
    assert name in HELP


def test_the_code_defines_them() -> None:
    assert (ids.DATASET_FIX, ids.DATASET_SPLIT, ids.DATASET_MODERATE) == (
        "dataset_fix", "dataset_split", "dataset_moderate",
    )  # fmt: skip
    assert set(PII) == PRIVATE_KINDS
    fields = Settings.model_fields
    assert all(name in fields for name in SETTINGS)
    assert (fields["FTBOT_EVAL_EXAMPLES"].default, fields["FTBOT_EVAL_MAX_USD"].default) == (
        50,
        1.0,
    )


def test_the_cli_takes_them() -> None:
    parser = build_parser()
    fix = parser.parse_args(["fix", "data.jsonl", "-o", "out.jsonl"])
    assert (str(fix.file), str(fix.output)) == ("data.jsonl", "out.jsonl")
    split = parser.parse_args(["split", "data.jsonl", "--validation", "0.2", "--seed", "7"])
    assert (str(split.file), split.validation, split.seed) == ("data.jsonl", 0.2, 7)
    defaults = parser.parse_args(["split", "data.jsonl"])
    assert (defaults.validation, defaults.seed) == (0.1, 42)
