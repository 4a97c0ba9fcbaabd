"""The settings a job really used, read from each backend's job object (issue 15 point 9)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.backends.together_shapes import snapshot_of
from bot.core.job_settings import (
    JobSettings,
    epoch_of,
    method_name,
    openai_settings,
    together_settings,
)
from bot.core.jobs import snapshot_from

SFT = {"n_epochs": 3, "batch_size": 4, "learning_rate_multiplier": 1.8}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, JobSettings()),
        (  # today's shape: the method's own hyperparameters, the seed, the user's suffix
            {
                "method": {"type": "supervised", "supervised": {"hyperparameters": SFT}},
                "seed": 42,
                "user_provided_suffix": "acc",
            },
            JobSettings("supervised", 3, 4, 1.8, None, 42, "acc"),
        ),
        (  # DPO: top-level hyperparameters null, beta in the method
            {
                "hyperparameters": None,
                "method": {
                    "type": "dpo",
                    "dpo": {"hyperparameters": {"n_epochs": 2, "beta": 0.1}},
                },
            },
            JobSettings("dpo", epochs=2, beta=0.1),
        ),
        (  # an older job: no method, top-level hyperparameters
            {"hyperparameters": SFT},
            JobSettings("supervised", 3, 4, 1.8),
        ),
        (  # before the job starts: "auto" is not a number yet
            {"hyperparameters": {"n_epochs": "auto", "batch_size": "auto"}, "seed": True},
            JobSettings("supervised"),
        ),
        ({"suffix": "azure-sfx", "seed": "7"}, JobSettings(suffix="azure-sfx")),  # Azure's suffix
        ({"method": "odd", "hyperparameters": [1]}, JobSettings()),  # mistyped: unknown
    ],
)
def test_openai_settings(data: dict[str, Any], expected: JobSettings) -> None:
    assert openai_settings(data) == expected
    assert snapshot_from(data).settings == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, JobSettings()),
        (
            {
                "n_epochs": 2,
                "batch_size": 16,
                "learning_rate": 1e-5,
                "random_seed": 9,
                "training_method": {"method": "sft", "train_on_inputs": "auto"},
                "suffix": "news",
            },
            JobSettings("supervised", 2, 16, None, 1e-5, 9, "news"),
        ),
        (
            {"batch_size": "max", "training_method": {"method": "dpo", "dpo_beta": 0.2}},
            JobSettings("dpo", beta=0.2),
        ),
        ({"training_method": "sft", "learning_rate": float("nan")}, JobSettings("supervised")),
    ],
)
def test_together_settings(data: dict[str, Any], expected: JobSettings) -> None:
    assert together_settings(data) == expected


def test_together_snapshot_carries_settings_and_start() -> None:
    data = {"id": "ft-1", "status": "running", "n_epochs": 2, "started_at": "2026-11-25T12:00:00Z"}
    snapshot = snapshot_of(data, now=0)
    assert snapshot.settings.epochs == 2 and snapshot.started_at == 1_795_608_000


@pytest.mark.parametrize(
    ("step", "total", "epochs", "finished", "expected"),
    [
        (0, 30, 3, False, 1),
        (9, 30, 3, False, 1),
        (10, 30, 3, False, 2),
        (29, 30, 3, False, 3),
        (30, 30, 3, False, 3),
        (12, 30, 3, True, 3),
        (5, 0, 3, False, None),  # no step count yet
        (5, 30, None, False, None),  # epochs unknown ("auto" before the start)
        (99, 30, 3, False, 3),  # never past the last epoch
    ],
)
def test_epoch_of(
    step: int, total: int, epochs: int | None, finished: bool, expected: int | None
) -> None:
    assert epoch_of(step=step, total_steps=total, epochs=epochs, finished=finished) == expected


@pytest.mark.parametrize(
    ("method", "shown"),
    [
        ("supervised", "Supervised (SFT)"),
        ("dpo", "Preference (DPO)"),
        ("reinforcement", "reinforcement"),
        (None, "unknown"),
    ],
)
def test_method_name(method: str | None, shown: str) -> None:
    assert method_name(method) == shown
