"""The checkpoint list's blocks: distinguishable rows, badges, and a button on all but the current."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.core.checkpoints import CheckpointList, CheckpointRow, checkpoint_rows
from bot.core.jobs import Checkpoint
from bot.core.watch import Metrics
from handlers import ids
from handlers.blocks.checkpoints import badges, checkpoint_blocks, figures, row_head
from tests.fakes.slack_blocks import check_blocks

FINAL = "ft:gpt-4o-mini:org:acc:abc"
CHECKPOINTS = [
    Checkpoint(10, f"{FINAL}:ckpt-step-10", {"train_loss": 0.4, "full_valid_loss": 0.5,
               "train_mean_token_accuracy": 0.8, "full_valid_mean_token_accuracy": 0.75}),
    Checkpoint(20, f"{FINAL}:ckpt-step-20", {"train_loss": 0.2, "full_valid_loss": 0.7}),
]  # fmt: skip
LAST = Metrics(step=20, total_steps=20, train_loss=0.2, valid_loss=0.7, train_accuracy=0.9)


def listing(chosen: str | None = None, by: str | None = None) -> CheckpointList:
    rows = checkpoint_rows(
        checkpoints=CHECKPOINTS, final_model=FINAL, final_metrics=LAST, chosen=chosen, epochs=2
    )
    return CheckpointList(
        job_id="ftjob-1", title="sports_chat.jsonl · acc", rows=rows, epochs=2, chosen=chosen,
        chosen_by=by,
    )  # fmt: skip


def sections(blocks: list[Any]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks if b.type == "section"][1:]


def row(**figures: Any) -> CheckpointRow:
    base = dict(model="m", step=10, epoch=None, train_loss=None, valid_loss=None,
                train_accuracy=None, valid_accuracy=None)  # fmt: skip
    return CheckpointRow(**{**base, **figures})


def test_the_list_by_default_the_final_model_current() -> None:
    blocks, text = checkpoint_blocks(listing())
    assert check_blocks([b.to_dict() for b in blocks]) == []
    head = blocks[0].to_dict()["text"]["text"]
    assert head == "*Checkpoints of sports_chat.jsonl · acc* · job `ftjob-1`"
    step10, step20, final = sections(blocks)
    assert step10["text"]["text"].splitlines() == [
        "*Step 10* · epoch 1 of 2   ⭐ lowest validation loss",
        "training loss 0.40 · validation loss 0.50 · token accuracy 80.0% (validation 75.0%)",
        f"`{FINAL}:ckpt-step-10`",
    ]
    assert step20["text"]["text"].startswith("*Step 20* · epoch 2 of 2\n")
    assert final["text"]["text"].splitlines()[:2] == [
        "*Final model* · step 20 · epoch 2 of 2   ✅ current",
        "training loss 0.20 · validation loss 0.70 · token accuracy 90.0%",
    ]
    assert "accessory" not in final  # the current one has no button
    assert [
        (s["accessory"]["text"]["text"], s["accessory"]["value"]) for s in (step10, step20)
    ] == [
        ("Use this checkpoint", f"{FINAL}:ckpt-step-10"),
        ("Use this checkpoint", f"{FINAL}:ckpt-step-20"),
    ]
    assert {s["accessory"]["action_id"] for s in (step10, step20)} == {ids.CHECKPOINT_CHOOSE}
    assert text == (
        f"Checkpoints of sports_chat.jsonl · acc (job `ftjob-1`): 3 models; current: `{FINAL}`"
    )


def test_a_chosen_checkpoint_is_current_with_who_chose_it() -> None:
    blocks, text = checkpoint_blocks(listing(f"{FINAL}:ckpt-step-10", "UADMIN"))
    step10, _, final = sections(blocks)
    assert step10["text"]["text"].splitlines()[0] == (
        "*Step 10* · epoch 1 of 2   ✅ current (chosen by <@UADMIN>)   ⭐ lowest validation loss"
    )
    assert "accessory" not in step10
    assert final["accessory"]["text"]["text"] == "Use the final model"
    assert final["accessory"]["value"] == FINAL and "current" not in final["text"]["text"]
    assert "ckpt-step-10" in text


@pytest.mark.parametrize(
    ("figures_of", "shown"),
    [
        ({}, "no figures reported"),
        ({"train_loss": 1.23456}, "training loss 1.2346"),
        ({"valid_loss": 0.5}, "validation loss 0.50"),
        ({"train_accuracy": 0.5}, "token accuracy 50.0%"),
        ({"valid_accuracy": 0.25}, "validation token accuracy 25.0%"),
        ({"train_loss": 1.0, "valid_accuracy": 1.0}, "training loss 1.00 · "
         "validation token accuracy 100.0%"),
    ],
)  # fmt: skip
def test_figures(figures_of: dict[str, float], shown: str) -> None:
    assert figures(row(**figures_of)) == shown


@pytest.mark.parametrize(
    ("fields", "epochs", "head"),
    [
        ({"step": 1200}, None, "*Step 1,200*"),
        ({"step": 10, "epoch": 1}, 3, "*Step 10* · epoch 1 of 3"),
        ({"step": 10, "epoch": 1}, None, "*Step 10* · epoch 1"),
        ({"step": 30, "epoch": 3, "final": True}, 3, "*Final model* · step 30 · epoch 3 of 3"),
        ({"step": None, "final": True}, None, "*Final model*"),
    ],
)
def test_row_heads(fields: dict[str, Any], epochs: int | None, head: str) -> None:
    assert row_head(row(**fields), epochs) == head


def test_badges_escape_nothing_live() -> None:
    current = row(current=True, lowest=True)
    evil = CheckpointList(job_id="j", title="t", rows=(current,), chosen="m", chosen_by="<!here>")
    assert "<!here>" not in badges(current, evil)
    assert badges(row(), evil) == ""


def test_many_checkpoints_stay_under_slacks_block_limit() -> None:
    many = [Checkpoint(s, f"me/out:{s}") for s in range(1, 80)]
    rows = checkpoint_rows(
        checkpoints=many, final_model="me/out", final_metrics=None, chosen=None, epochs=None
    )
    blocks, _ = checkpoint_blocks(CheckpointList(job_id="ft-1", title="t", rows=rows))
    dumped = [b.to_dict() for b in blocks]
    assert len(dumped) <= 50 and check_blocks(dumped) == []
    assert "*Final model*" in json.dumps(dumped[-2])  # the newest rows and the final model kept
