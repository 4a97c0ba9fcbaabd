"""What users read says what happens, in words: no commands, placeholders or setting names."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from bot.core import commands
from bot.core.billing import billing_line
from bot.core.job_events import Timeline
from bot.core.jobs import JobSnapshot
from bot.core.message import plain
from bot.core.models import resolve_model
from bot.core.status import JobFacts, status_view
from bot.core.watch import Metrics
from bot.services.conversation import dismissed, question
from bot.services.job_plan import Plan
from handlers import ids
from handlers.blocks.confirm import confirmation_blocks, settled_blocks
from handlers.blocks.jobs import approval_blocks, declined_blocks
from handlers.blocks.status import status_blocks
from handlers.text import render
from storage.jobs import JobRecord
from tests.handlers.test_blocks_escaping import dataset, job


def plan(model: str, backend: str, name: str = "chat_weights.jsonl", epochs: int = 2) -> Plan:
    info = resolve_model(model, backend)
    line = billing_line(info, 10_000, epochs, dt.date(2026, 12, 1))
    return Plan(
        dataset=dataset(name), validation=None, model=info, epochs=epochs, estimate=line,
        backend=backend,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("command", "the_plan", "expected", "yes", "no"),
    [
        (
            "start latest epochs=2",
            plan("gpt-4o-mini-2024-07-18", "openai"),
            "Start fine-tuning `gpt-4o-mini-2024-07-18` on *chat_weights.jsonl*, 2 epochs (≈ $",
            "Start",
            "Cancel",
        ),
        (
            "start latest epochs=1 suffix=mnt",
            plan("gpt-4o-mini-2024-07-18", "openai", epochs=1),
            "Start fine-tuning `gpt-4o-mini-2024-07-18` on *chat_weights.jsonl*, 1 epoch, "
            "suffix `mnt` (≈ $",
            "Start",
            "Cancel",
        ),
        (
            "start latest backend=together",
            plan("meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", "together"),
            "Start fine-tuning `meta-llama/Meta-Llama-3.1-8B-Instruct-Reference` (Together AI) on "
            "*chat_weights.jsonl*, 2 epochs (Together AI quotes the price when the job starts)?",
            "Start",
            "Cancel",
        ),
        (
            "start latest backend=azure",
            plan("gpt-4o-mini-2024-07-18", "azure"),
            "Start fine-tuning `gpt-4o-mini-2024-07-18` (Azure OpenAI) on *chat_weights.jsonl*",
            "Start",
            "Cancel",
        ),
        ("cancel ftjob-abc", None, "Cancel the fine-tuning job `ftjob-abc`?", "Cancel the job",
         "Keep it"),
        ("delete-model ft:x:acc", None, "Delete the model `ft:x:acc`? This can't be undone.",
         "Delete", "Keep it"),
    ],
)  # fmt: skip
def test_confirmation_questions(
    command: str, the_plan: Plan | None, expected: str, yes: str, no: str
) -> None:
    asked = question(commands.parse(command), plan=the_plan)
    text = render(asked.text)
    assert text.startswith(expected), text
    assert "latest" not in text and "/finetune" not in text and "=" not in text
    blocks, fallback = confirmation_blocks(question=asked, requester="U1", value='{"t":"x"}')
    data = [b.to_dict() for b in blocks]
    assert data[0]["text"]["text"] == f"<@U1> {text}"
    assert [(e["text"]["text"], e["action_id"]) for e in data[1]["elements"]] == [
        (yes, ids.CONFIRM_COMMAND),
        (no, ids.CONFIRM_DISMISS),
    ]
    assert "<@" not in fallback
    unsealed, _ = confirmation_blocks(question=asked, requester="U1", value=None)
    assert len(unsealed) == 1  # no buttons before the seal exists


def test_a_dismissed_question_says_who_and_what_is_unchanged() -> None:
    asked = question(commands.parse("delete-model ft:x:acc"))
    blocks, _ = settled_blocks(dismissed(asked, "U2"))
    assert (
        blocks[0].to_dict()["text"]["text"].endswith("— cancelled by <@U2>: nothing was deleted.")
    )
    assert "cancelled by @U2" in plain(dismissed(asked, "U2"))


def test_a_hostile_file_name_stays_inert_in_the_question() -> None:
    asked = question(
        commands.parse("start latest"), plan=plan("gpt-4o-mini-2024-07-18", "openai", "<!channel>")
    )
    assert "&lt;!channel&gt;" in render(asked.text) and "<!channel>" not in render(asked.text)


@pytest.mark.parametrize(
    ("admins", "ask"),
    [
        ((), "An admin must approve or decline it."),
        (("UA",), "An admin (<@UA>) must approve or decline it."),
        (("UA", "UB"), "An admin (<@UA>, <@UB>) must approve or decline it."),
        (("UA", "not an id"), "An admin (<@UA>, not an id) must approve or decline it."),
    ],
)
def test_approval_requests_name_the_admins_and_offer_decline(
    admins: tuple[str, ...], ask: str
) -> None:
    blocks, text = approval_blocks(
        job=job("ftjob-1"), dataset=dataset("d.jsonl"), threshold=1.0, epochs=3, admins=admins
    )
    assert text.endswith(ask), text
    buttons = blocks[1].to_dict()["elements"]
    assert [(b["text"]["text"], b["action_id"]) for b in buttons] == [
        ("Approve", ids.JOB_APPROVE),
        ("Decline", ids.JOB_DECLINE),
    ]


@pytest.mark.parametrize(
    ("decliner", "start"),
    [("U9", "❌ <@U9> declined <@U1>'s request"), ("U1", "⏹ <@U1> withdrew the request")],
)
def test_a_declined_request_tells_the_requester(decliner: str, start: str) -> None:
    blocks, text = declined_blocks(job=job("m"), dataset=dataset("d.jsonl"), decliner_id=decliner)
    assert text.startswith(start) and text.endswith("Nothing was started.")
    assert len(blocks) == 1  # no buttons left


def test_an_adopted_jobs_status_names_no_placeholder_dataset_or_zero_estimate() -> None:
    adopted = dataclasses.replace(job("ftjob-9"), dataset_id=None, estimated_cost_usd=None)
    facts = JobFacts(owner_id="U1", model="m", remote_id="ftjob-9")
    shown = status_text_of(adopted, facts)
    assert "elsewhere" not in shown and "$0" not in shown and " on `" not in shown
    ours = JobFacts(
        owner_id="U1", model="m", remote_id="ftjob-9", dataset_name="d.jsonl", estimated_cost=1.0
    )
    shown = status_text_of(job("ftjob-9"), ours)
    assert " on `d.jsonl`" in shown and "Estimated $1.00" in shown


def status_text_of(record: JobRecord, facts: JobFacts) -> str:
    snapshot = JobSnapshot(id="ftjob-9", status="running", model="m")
    view = status_view(
        facts=facts, snapshot=snapshot, metrics=Metrics(), timeline=Timeline(), now=0
    )
    blocks, _ = status_blocks(job=record, view=view)
    return json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)
