"""The status message's buttons in each state, and the job's first post, as tables (issue 15
points 2 and 10: the next step one click away, no request keys shown to users)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bot.core.job_events import Timeline
from bot.core.job_settings import JobSettings
from bot.core.jobs import JobSnapshot
from bot.core.status import JobFacts, status_view
from bot.core.watch import Metrics
from handlers import ids
from handlers.blocks.jobs import job_blocks
from handlers.blocks.status import RESTART, status_blocks
from tests.handlers.test_blocks_escaping import dataset, job

FACTS = JobFacts(
    owner_id="U1", model="gpt-4o-mini", remote_id="ftjob-1", dataset_name="d.jsonl",
    dataset_file_id="F1", estimated_cost=0.52,
)  # fmt: skip
RECORD = dataclasses.replace(
    job("ftjob-1"), model="gpt-4o-mini", method="supervised", hyperparameters=None, suffix=None
)


def buttons(blocks: list) -> list[tuple[str, str, str]]:
    return [
        (element["text"]["text"], element["action_id"], element["value"])
        for block in (b.to_dict() for b in blocks)
        if block["type"] == "actions"
        for element in block["elements"]
    ]


@pytest.mark.parametrize(
    ("status", "facts", "expected"),
    [
        ("running", FACTS, [("Cancel", ids.JOB_CANCEL, "ftjob-1")]),
        (
            "succeeded",
            FACTS,
            [("Try it", ids.JOB_TRY, "ft:m"), ("Compare", ids.JOB_COMPARE, "ft:m"),
             ("Checkpoints", ids.JOB_CHECKPOINTS, "ftjob-1"), ("Chart", ids.JOB_CHART, "ftjob-1")],
        ),
        # failed or cancelled: the start form for the same dataset, not a dead end
        ("failed", FACTS, [(RESTART, ids.DATASET_START, "F1")]),
        ("cancelled", FACTS, [(RESTART, ids.DATASET_START, "F1")]),
        # a job started outside the bot has no dataset to start again on
        ("failed", dataclasses.replace(FACTS, dataset_name=None, dataset_file_id=None), []),
    ],
)  # fmt: skip
def test_the_status_messages_buttons_in_each_state(
    status: str, facts: JobFacts, expected: list[tuple[str, str, str]]
) -> None:
    snapshot = JobSnapshot(
        id="ftjob-1", status=status, model="gpt-4o-mini", fine_tuned_model="ft:m",
        error_message="boom" if status == "failed" else None,
    )  # fmt: skip
    view = status_view(
        facts=facts, snapshot=snapshot, metrics=Metrics(), timeline=Timeline(), now=0
    )
    blocks, _ = status_blocks(job=RECORD, view=view)
    assert buttons(blocks) == expected


def test_the_first_post_reads_its_settings_as_the_status_message_does() -> None:
    """It showed the request's keys (`method supervised · n_epochs 2`) until the first edit."""
    record = dataclasses.replace(
        RECORD,
        hyperparameters={"n_epochs": 2, "learning_rate_multiplier": 1.8},
        suffix="acc",
    )
    snapshot = JobSnapshot(
        id="ftjob-1", status="validating_files", model="gpt-4o-mini",
        settings=JobSettings(seed=42),
    )  # fmt: skip
    blocks, _ = job_blocks(job=record, dataset=dataset("d.jsonl"), snapshot=snapshot, epochs=2)
    context = blocks[1].to_dict()["elements"][0]["text"]
    assert context == "supervised · 2 epochs · learning rate × 1.8 · seed 42 · suffix `acc`"
    shown = json.dumps([b.to_dict() for b in blocks])
    assert "n_epochs" not in shown and "method" not in shown
