"""Job blocks for a backend that quotes its own price: the quote labelled as Together's, or
that it gave none; `cost` for a quoted model gives the (estimated) token count only."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from bot.core.billing import billing_line
from bot.core.job_events import Timeline
from bot.core.jobs import JobSnapshot
from bot.core.models import resolve_model
from bot.core.status import JobFacts, status_view
from bot.core.watch import Metrics
from handlers.blocks.jobs import approval_blocks, cost_blocks, job_blocks
from handlers.blocks.status import status_blocks
from storage.jobs import JobRecord
from tests.handlers.test_blocks_escaping import dataset, job

QWEN = "Qwen/Qwen2.5-7B-Instruct"


def together_job(cost: float | None) -> JobRecord:
    return dataclasses.replace(
        job("ft-1"),
        backend="together",
        model=QWEN,
        method="supervised",
        hyperparameters={},
        estimated_cost_usd=cost,
        estimated_tokens=456_789 if cost is not None else None,
    )


def test_the_quote_is_labelled_as_togethers() -> None:
    record = together_job(1.23)
    snapshot = JobSnapshot(id="ft-1", status="queued", model=QWEN)
    _, text = job_blocks(job=record, dataset=dataset("d.jsonl"), snapshot=snapshot, epochs=1)
    assert "Together AI's quote: $1.23 for 456,789 tokens (1 epoch)" in text
    assert "(Together AI)" in text and "Estimated cost" not in text
    facts = JobFacts(
        owner_id="U1", model=QWEN, backend="together", remote_id="ft-1", dataset_name="d",
        estimated_cost=1.23, estimated_tokens=456_789,
    )  # fmt: skip
    view = status_view(
        facts=facts, snapshot=snapshot, metrics=Metrics(), timeline=Timeline(), now=0
    )
    blocks, _ = status_blocks(job=record, view=view)
    assert "Together AI's quote: $1.23" in json.dumps([b.to_dict() for b in blocks])
    _, text = approval_blocks(job=record, dataset=dataset("d.jsonl"), threshold=1.0, epochs=1)
    assert "Together AI's quote: $1.23" in text and "above the $1.00 approval threshold" in text


def test_no_quote_says_so() -> None:
    record = together_job(None)
    snapshot = JobSnapshot(id="ft-1", status="queued", model=QWEN)
    _, text = job_blocks(job=record, dataset=dataset("d.jsonl"), snapshot=snapshot, epochs=1)
    assert "Together AI gave no quote (cost unknown)" in text and "$0" not in text
    _, text = approval_blocks(job=record, dataset=dataset("d.jsonl"), threshold=1.0, epochs=1)
    assert "gave no quote" in text and "with the $1.00 approval threshold" in text


def test_cost_of_a_quoted_model_is_an_estimated_token_count() -> None:
    line = billing_line(resolve_model(QWEN), 1_000, 2, dt.date(2026, 12, 1))
    _, text = cost_blocks(dataset("d.jsonl"), line)
    assert "about 1,000 tokens per epoch × 2 epochs = about 2,000 tokens" in text
    assert "an estimate" in text and "Together AI quotes the price when the job starts" in text
    assert "$" not in text
