"""The checkpoint list, purely: rows, figures, epochs, the current one and the lowest loss."""

from __future__ import annotations

import pytest

from bot.core.checkpoints import (
    checkpoint_rows,
    epoch_ends,
    epoch_of,
    job_title,
    steps_per_epoch,
)
from bot.core.jobs import Checkpoint
from bot.core.watch import Metrics

FINAL = "ft:gpt-4o-mini:org::abc"
OPENAI = [  # OpenAI's shapes: full validation first, accuracy as `*_mean_token_accuracy`
    Checkpoint(
        10,
        f"{FINAL}:ckpt-step-10",
        {
            "train_loss": 0.4,
            "valid_loss": 0.6,
            "full_valid_loss": 0.5,
            "train_mean_token_accuracy": 0.8,
            "full_valid_mean_token_accuracy": 0.75,
        },
    ),
    Checkpoint(20, f"{FINAL}:ckpt-step-20", {"train_loss": 0.2, "full_valid_loss": 0.7}),
]
LAST = Metrics(step=20, total_steps=20, train_loss=0.2, valid_loss=0.7, train_accuracy=0.9)


def test_rows_hold_each_checkpoint_and_the_final_model_with_its_figures() -> None:
    rows = checkpoint_rows(
        checkpoints=OPENAI[::-1], final_model=FINAL, final_metrics=LAST, chosen=None, epochs=2
    )
    assert [(r.model, r.step, r.epoch, r.final) for r in rows] == [
        (f"{FINAL}:ckpt-step-10", 10, 1, False),
        (f"{FINAL}:ckpt-step-20", 20, 2, False),
        (FINAL, 20, 2, True),
    ]
    first, _, final = rows
    assert (first.train_loss, first.valid_loss, first.train_accuracy, first.valid_accuracy) == (
        0.4, 0.5, 0.8, 0.75,
    )  # fmt: skip
    assert (final.train_loss, final.valid_loss, final.train_accuracy) == (0.2, 0.7, 0.9)


@pytest.mark.parametrize(
    ("chosen", "current", "lowest"),
    [
        (None, FINAL, f"{FINAL}:ckpt-step-10"),  # the final model by default
        (f"{FINAL}:ckpt-step-10", f"{FINAL}:ckpt-step-10", f"{FINAL}:ckpt-step-10"),
        (f"{FINAL}:ckpt-step-20", f"{FINAL}:ckpt-step-20", f"{FINAL}:ckpt-step-10"),
        (FINAL, FINAL, f"{FINAL}:ckpt-step-10"),
        ("ft:someone-else", FINAL, f"{FINAL}:ckpt-step-10"),  # not this job's: ignored
    ],
)
def test_one_row_is_current_and_one_has_the_lowest_validation_loss(
    chosen: str | None, current: str, lowest: str
) -> None:
    rows = checkpoint_rows(
        checkpoints=OPENAI, final_model=FINAL, final_metrics=LAST, chosen=chosen, epochs=2
    )
    assert [r.model for r in rows if r.current] == [current]
    assert [r.model for r in rows if r.lowest] == [lowest]


def test_a_tie_for_the_lowest_loss_marks_the_final_model_and_no_loss_marks_none() -> None:
    tied = checkpoint_rows(
        checkpoints=OPENAI[1:], final_model=FINAL, final_metrics=LAST, chosen=None, epochs=None
    )
    assert [r.final for r in tied if r.lowest] == [True]
    bare = checkpoint_rows(
        checkpoints=[Checkpoint(5, "m:5")], final_model="m", final_metrics=None, chosen=None,
        epochs=None,
    )  # fmt: skip
    assert not any(r.lowest for r in bare)
    assert [(r.step, r.epoch) for r in bare] == [(5, None), (5, None)]  # steps from the list


def test_together_checkpoints_and_a_job_without_a_final_model() -> None:
    together = [Checkpoint(5, "me/out:5", {"train_loss": 0.9, "valid_loss": 1.1})]
    rows = checkpoint_rows(
        checkpoints=together, final_model="me/out", final_metrics=Metrics(step=10, total_steps=10),
        chosen="me/out:5", epochs=2,
    )  # fmt: skip
    assert [(r.model, r.epoch, r.current, r.lowest) for r in rows] == [
        ("me/out:5", 1, True, True),
        ("me/out", 2, False, False),
    ]
    only = checkpoint_rows(
        checkpoints=together, final_model="", final_metrics=None, chosen=None, epochs=None
    )
    assert [r.model for r in only] == ["me/out:5"] and not any(r.current for r in only)


@pytest.mark.parametrize(
    ("total", "epochs", "per_epoch", "ends"),
    [
        (20, 2, 10, [10]),
        (30, 3, 10, [10, 20]),
        (21, 2, None, []),  # not even: the epochs' ends are not known
        (20, None, None, []),
        (0, 3, None, []),
        (7, 1, 7, []),
    ],
)
def test_epochs_are_known_only_when_steps_split_evenly(
    total: int, epochs: int | None, per_epoch: int | None, ends: list[int]
) -> None:
    assert steps_per_epoch(total, epochs) == per_epoch
    assert epoch_ends(total, epochs) == ends


@pytest.mark.parametrize(
    ("step", "per_epoch", "epoch"),
    [(1, 10, 1), (10, 10, 1), (11, 10, 2), (20, 10, 2), (0, 10, None), (5, None, None)],
)
def test_the_epoch_a_step_falls_in(step: int, per_epoch: int | None, epoch: int | None) -> None:
    assert epoch_of(step, per_epoch) == epoch


@pytest.mark.parametrize(
    ("dataset", "suffix", "title"),
    [
        ("sports_chat.jsonl", "acc", "sports_chat.jsonl · acc"),
        ("sports_chat.jsonl", None, "sports_chat.jsonl"),
        (None, "acc", "acc"),
        (None, None, "ftjob-1"),
        ("x" * 300, None, "x" * 120),
    ],
)
def test_a_job_is_titled_by_its_dataset_and_suffix(
    dataset: str | None, suffix: str | None, title: str
) -> None:
    assert job_title(dataset=dataset, suffix=suffix, job_id="ftjob-1") == title
