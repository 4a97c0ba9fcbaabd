"""A job's status message and outcome notice, as data: state header, settings really used,
cost estimate and actual, times, error and advice, the timeline (table tests)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bot.core.job_events import Timeline, TimelineEntry
from bot.core.job_settings import JobSettings
from bot.core.jobs import JobSnapshot
from bot.core.status import JobFacts, StatusView, header, outcome_text, settings, status_view
from bot.core.watch import Metrics
from handlers.text import render

T0 = 1_700_000_000
MODEL = "ft:gpt-4o-mini-2024-07-18:org:acc:xyz"
FACTS = JobFacts(
    owner_id="UOWNER",
    model="gpt-4o-mini-2024-07-18",
    remote_id="ftjob-abc123def456",
    dataset_name="sports_chat.jsonl",
    suffix="acc",
    estimated_cost=0.0418,
    estimated_tokens=13_936,
    usd_per_1m=3.0,
)
DONE = {"created_at": T0, "finished_at": T0 + 6}


def snapshot(status: str = "running", **values: Any) -> JobSnapshot:
    return JobSnapshot(id="ftjob-abc123def456", status=status, model=FACTS.model, **values)


def lines(view: StatusView) -> list[str]:
    return [
        render(p) for p in (view.header, view.subject, view.settings, *view.body, *view.timeline)
    ]


def when(epoch: int) -> str:
    return f"<!date^{epoch}^{{time}}|22:13 UTC>"


@pytest.mark.parametrize(
    ("job", "latest", "cancelled_by", "shown"),
    [
        (snapshot("validating_files"), Metrics(), None, "*🔎 Validating files*"),
        (snapshot("queued"), Metrics(), None, "*⏳ Queued*"),
        (snapshot("running"), Metrics(), None, "*🏋️ Training*"),
        (snapshot("running"), Metrics(9, 20), None, "*🏋️ Training 45%*"),
        (snapshot("running"), Metrics(25, 20), None, "*🏋️ Training 100%*"),
        (snapshot("paused"), Metrics(), None, "*⏸ Paused*"),
        (snapshot("succeeded"), Metrics(), None, "*✅ Succeeded*"),
        (snapshot("failed"), Metrics(), None, "*❌ Failed*"),
        (snapshot("cancelled"), Metrics(), "UADMIN", "*⏹ Cancelled by <@UADMIN>*"),
        (snapshot("cancelled"), Metrics(), None, "*⏹ Cancelled*"),  # from the dashboard
        (snapshot("<!channel>"), Metrics(), None, "*• &lt;!channel&gt;*"),  # made inert
    ],
)
def test_the_state_header(
    job: JobSnapshot, latest: Metrics, cancelled_by: str | None, shown: str
) -> None:
    assert render(header(job, latest, cancelled_by)) == shown


@pytest.mark.parametrize(
    ("facts", "job", "shown"),
    [
        # what the job really used wins over what was asked; `auto` until resolved
        (
            dataclasses.replace(FACTS, requested={"n_epochs": 2}),
            snapshot(settings=JobSettings(epochs=3, batch_size=1, lr_multiplier=1.8, seed=42)),
            "supervised · 3 epochs · batch size 1 · learning rate × 1.8 · seed 42 · suffix `acc`",
        ),
        (
            dataclasses.replace(FACTS, requested={"n_epochs": 2}),
            snapshot(settings=JobSettings()),  # `auto` until resolved: unknown
            "supervised · 2 epochs · suffix `acc`",
        ),
        # nothing asked, nothing resolved yet: the epochs the bot expects
        (
            dataclasses.replace(FACTS, planned_epochs=1, suffix=None),
            snapshot(),
            "supervised · 1 epoch",
        ),
        # Together: LoRA, an absolute learning rate; DPO's beta
        (
            dataclasses.replace(FACTS, backend="together", method="dpo", suffix=None),
            snapshot(
                settings=JobSettings(epochs=1, learning_rate=1e-05, beta=0.1, training_type="lora")
            ),
            "preference (DPO) · LoRA · 1 epoch · learning rate 0.00001 · β 0.1",
        ),
        # a hostile suffix stays a code span
        (
            dataclasses.replace(FACTS, suffix="<!here>`x"),
            snapshot(),
            "supervised · suffix `&lt;!here&gt;ˋx`",
        ),
    ],
)
def test_the_settings_line_is_never_dropped(facts: JobFacts, job: JobSnapshot, shown: str) -> None:
    assert render(settings(facts, job)) == shown


def test_a_succeeded_job_shows_model_figures_cost_times_and_the_timeline() -> None:
    job = snapshot(
        "succeeded",
        fine_tuned_model=MODEL,
        trained_tokens=13_936,
        settings=JobSettings(epochs=3),
        **DONE,
    )
    timeline = Timeline(tuple(TimelineEntry(T0 + i, f"event {i}") for i in range(2)), earlier=9)
    view = status_view(
        facts=FACTS,
        snapshot=job,
        metrics=Metrics(20, 20, 0.3, 0.48, 0.9, 0.85),
        timeline=timeline,
        now=T0 + 10,
    )
    assert view.state == "succeeded" and view.model == MODEL
    assert lines(view) == [
        "*✅ Succeeded*",
        "<@UOWNER> · `gpt-4o-mini-2024-07-18` on `sports_chat.jsonl` · job `ftjob-abc123def456`",
        "supervised · 3 epochs · suffix `acc`",
        f"Model `{MODEL}`",
        "`▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓ 100% (20/20 steps)`",
        "training loss 0.30 · validation loss 0.48 · training accuracy 90.0% · "
        "validation accuracy 85.0%",
        "13,936 trained tokens · estimated $0.04 · actual $0.04",
        f"Started {when(T0)} · finished {when(T0 + 6)} (6 s)",
        "… and 9 earlier events",
        f"{when(T0)} event 0",
        f"{when(T0 + 1)} event 1",
    ]


def test_a_failed_job_shows_the_error_and_what_to_do() -> None:
    job = snapshot(
        "failed",
        error_code="invalid_n_examples",
        error_message="Training file has 3 example(s) <!channel>",
        created_at=T0,
        finished_at=T0 + 65,
    )
    view = status_view(facts=FACTS, snapshot=job, metrics=Metrics(), timeline=Timeline(), now=T0)
    assert view.state == "failed" and view.model is None
    assert lines(view)[3:] == [
        "*Error:* Training file has 3 example(s) &lt;!channel&gt; (`invalid_n_examples`)",
        "*What to do:* add examples (at least 10) and start again.",
        "Estimated $0.04",
        f"Started {when(T0)} · ended <!date^{T0 + 65}^{{time}}|22:14 UTC> (1 min 5 s)",
    ]


def test_a_cancelled_job_says_who_and_where_it_stopped() -> None:
    job = snapshot("cancelled", created_at=T0, finished_at=T0 + 65)
    facts = dataclasses.replace(FACTS, cancelled_by="UADMIN")
    view = status_view(
        facts=facts, snapshot=job, metrics=Metrics(3, 20), timeline=Timeline(), now=T0
    )
    assert view.state == "cancelled"
    assert lines(view)[0] == "*⏹ Cancelled by <@UADMIN>*"
    assert "15% (3/20 steps)" in lines(view)[3]


def test_a_running_job_shows_elapsed_and_expected_finish_coarsely() -> None:
    job = snapshot("running", created_at=T0, estimated_finish=T0 + 7200)
    views = {
        str(
            status_view(
                facts=FACTS, snapshot=job, metrics=Metrics(), timeline=Timeline(), now=T0 + s
            )
        )
        for s in range(0, 120, 7)
    }
    assert len(views) == 1  # an idle job needs no edit on every poll
    (shown,) = views
    assert "Started 22:13 UTC · elapsed under 10 min · finishes around" in shown
    assert (
        status_view(facts=FACTS, snapshot=job, metrics=Metrics(), timeline=Timeline(), now=T0).state
        == "active"
    )


@pytest.mark.parametrize(
    ("facts", "job", "expected"),
    [
        # Together's own price wins; its quote is labelled as Together's
        (
            dataclasses.replace(
                FACTS,
                backend="together",
                model="meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
                usd_per_1m=None,
            ),
            snapshot("succeeded", trained_tokens=1000, billed_usd=1.5),
            "1,000 trained tokens · Together AI's quote: $0.04 for 13,936 tokens · actual $1.50",
        ),
        # a running job billed so far
        (
            dataclasses.replace(
                FACTS,
                backend="together",
                model="meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
                usd_per_1m=None,
            ),
            snapshot("running", billed_usd=0.2),
            "Together AI's quote: $0.04 for 13,936 tokens · billed $0.20",
        ),
        # an adopted job: no dataset, no estimate, an unknown price
        (
            dataclasses.replace(FACTS, dataset_name=None, estimated_cost=None, usd_per_1m=None),
            snapshot("succeeded", trained_tokens=5),
            "5 trained tokens",
        ),
        (  # a tiny amount never reads $0.00
            FACTS,
            snapshot("succeeded", trained_tokens=100),
            "100 trained tokens · estimated $0.04 · actual < $0.01",
        ),
    ],
)
def test_cost_estimate_and_actual(facts: JobFacts, job: JobSnapshot, expected: str) -> None:
    view = status_view(facts=facts, snapshot=job, metrics=Metrics(), timeline=Timeline(), now=T0)
    assert render(view.body[-1]).replace("&lt;", "<") == expected


@pytest.mark.parametrize(
    ("facts", "job", "loss", "expected"),
    [
        (
            FACTS,
            snapshot("succeeded", fine_tuned_model=MODEL, trained_tokens=13_936, **DONE),
            0.4812,
            f"✅ `sports_chat.jsonl` → `{MODEL}` · 6 s · 13,936 tokens · $0.04 · "
            "validation loss 0.48 · <@UOWNER>",
        ),
        (  # nothing more known than the model: a job started outside the bot goes by its name
            dataclasses.replace(FACTS, dataset_name=None, usd_per_1m=None),
            snapshot("succeeded", fine_tuned_model=MODEL),
            None,
            f"✅ `acc` → `{MODEL}` · <@UOWNER>",
        ),
        (  # the same failing: its name once, not "`acc` → `acc`"
            dataclasses.replace(FACTS, dataset_name=None),
            snapshot("failed", error_message="No capacity"),
            None,
            "❌ `acc` failed, <@UOWNER>: No capacity. What to do: start it again; if it fails "
            "the same way, contact OpenAI support with the job id.",
        ),
        (
            FACTS,
            snapshot(
                "failed",
                error_code="invalid_n_examples",
                error_message="Training file has 3 example(s), but must have at least 10",
                **DONE,
            ),
            None,
            "❌ `sports_chat.jsonl` → `acc` failed after 6 s, <@UOWNER>: Training file has 3 "
            "example(s), but must have at least 10 (`invalid_n_examples`). What to do: add "
            "examples (at least 10) and start again.",
        ),
        (  # no reason, no code, a backend's own words: the generic advice, naming it
            dataclasses.replace(FACTS, backend="together", suffix=None),
            snapshot("failed"),
            None,
            "❌ `sports_chat.jsonl` → `ftjob-abc123de` failed, <@UOWNER>: Together AI gave no "
            "reason. What to do: start it again; if it fails the same way, contact Together AI "
            "support with the job id.",
        ),
        (  # a message that tries to ping everyone
            FACTS,
            snapshot("failed", error_code="new_code", error_message="<!channel> see <http://x>"),
            None,
            "❌ `sports_chat.jsonl` → `acc` failed, <@UOWNER>: &lt;!channel&gt; see "
            "&lt;http://x&gt; (`new_code`). What to do: start it again; if it fails the same "
            "way, contact OpenAI support with the job id.",
        ),
        (
            dataclasses.replace(FACTS, cancelled_by="UADMIN"),
            snapshot("cancelled", **DONE),
            None,
            "⏹ `acc` cancelled by <@UADMIN>.",
        ),
        (FACTS, snapshot("cancelled"), None, "⏹ `acc` was cancelled."),
    ],
)
def test_the_outcome_leads_with_the_dataset_and_the_result(
    facts: JobFacts, job: JobSnapshot, loss: float | None, expected: str
) -> None:
    assert render(outcome_text(facts=facts, snapshot=job, valid_loss=loss)) == expected
