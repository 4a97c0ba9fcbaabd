"""A job's status message and its outcome notice, as data: what a team reads about one job.

The status message is edited in place for the job's whole life: a state header (queued,
training 45 %, ✅ succeeded, ❌ failed, ⏹ cancelled by @who), who trains what on which data,
the settings the job really uses, progress and figures, tokens and cost (estimate and actual),
times, the error and what to do, and the timeline of routine events. The outcome notice is one
reply that leads with the dataset and the result. Chat markup is the adapter's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.backend_names import OPENAI, backend_name
from bot.core.fmt import duration, loss, moment, number, plural, usd
from bot.core.job_events import Timeline, job_label
from bot.core.job_settings import JobSettings
from bot.core.jobs import JobSnapshot, status_text
from bot.core.message import Code, Mention, Message, Part, Text, say
from bot.core.start_rules import price_words, quotes_price
from bot.core.watch import ADVICE, ELAPSED_STEP_S, Metrics, finish_words, progress_bar

MAX_REASON = 600
# Settings in the order people read them, and how each reads (others are left to `status`).
SETTINGS = ("n_epochs", "batch_size", "learning_rate_multiplier", "learning_rate", "beta")
METHODS = {"supervised": "supervised", "dpo": "preference (DPO)", "reinforcement": "reinforcement"}


@dataclass(frozen=True, slots=True)
class JobFacts:
    """What the bot itself knows about a job, beside what its backend reports."""

    owner_id: str
    model: str
    backend: str = OPENAI
    remote_id: str = ""
    method: str = "supervised"
    dataset_name: str | None = None  # None: started outside the bot (adopted)
    suffix: str | None = None
    requested: Mapping[str, Any] = field(default_factory=dict)  # the hyperparameters asked for
    planned_epochs: int | None = None  # the epochs the bot expects when none were asked for
    estimated_cost: float | None = None
    estimated_tokens: int | None = None
    usd_per_1m: float | None = None  # the catalogue's training price (None: unknown or quoted)
    cancelled_by: str | None = None
    dataset_file_id: str | None = None  # the dataset's Slack file: what "Start again" opens

    @property
    def label(self) -> str:
        """How replies name the job (its suffix, else its short id)."""
        return job_label(self.remote_id, self.suffix)


@dataclass(frozen=True, slots=True)
class StatusView:
    """The status message's parts (the adapter lays them out, with buttons for `state`)."""

    state: str  # "active", "succeeded", "failed" or "cancelled"
    header: Message
    subject: Message
    settings: Message
    body: tuple[Message, ...]
    timeline: tuple[Message, ...]
    model: str | None = None  # the fine-tuned model, once there is one
    restart: str | None = None  # after a failure or a cancel: the dataset to start again on

    def __str__(self) -> str:
        parts = [self.header, self.subject, self.settings, *self.body, *self.timeline]
        return "\n".join(str(part) for part in parts)


def state_of(status: str) -> str:
    """The four states the message's buttons depend on."""
    return status if status in ("succeeded", "failed", "cancelled") else "active"


def header(snapshot: JobSnapshot, metrics: Metrics, cancelled_by: str | None) -> Message:
    """`*🏋️ Training 45%*`, `*✅ Succeeded*`, `*⏹ Cancelled by @who*`…"""
    status = snapshot.status
    if status == "succeeded":
        words: list[Part] = ["✅ Succeeded"]
    elif status == "failed":
        words = ["❌ Failed"]
    elif status == "cancelled":
        words = ["⏹ Cancelled by ", Mention(cancelled_by)] if cancelled_by else ["⏹ Cancelled"]
    elif status == "running":
        share = metrics.step / metrics.total_steps if metrics.total_steps else None
        words = [f"🏋️ Training {min(share, 1.0):.0%}" if share is not None else "🏋️ Training"]
    elif status == "queued":
        words = ["⏳ Queued"]
    elif status == "validating_files":
        words = ["🔎 Validating files"]
    elif status == "paused":
        words = ["⏸ Paused"]
    else:
        words = ["• ", Text(status_text(status).capitalize()[:60])]
    return say("*", *words, "*")


def subject(facts: JobFacts) -> Message:
    """`@owner · gpt-4o-mini (Together AI) on sports.jsonl · job ftjob-…`."""
    parts: list[Part | Message] = [Mention(facts.owner_id), " · ", Code(facts.model)]
    if facts.backend != OPENAI:
        parts += [" (", Text(backend_name(facts.backend)), ")"]
    if facts.dataset_name:
        parts += [" on ", Code(facts.dataset_name)]
    parts += [" · job ", Code(facts.remote_id)]
    return say(*parts)


def _value(value: Any) -> str:
    if isinstance(value, float):
        return number(value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def _used(used: JobSettings) -> dict[str, Any]:
    """The settings the backend reports, in the names the bot's requests use."""
    return {
        "n_epochs": used.epochs,
        "batch_size": used.batch_size,
        "learning_rate_multiplier": used.lr_multiplier,
        "learning_rate": used.learning_rate,
        "beta": used.beta,
        "training_type": used.training_type,
    }


def settings(facts: JobFacts, snapshot: JobSnapshot) -> Message:
    """`supervised · 3 epochs · batch size 8 · learning rate × 1.8 · seed 42 · suffix acc`: the
    settings the job really uses where its backend says, else what was asked for."""
    used = {k: v for k, v in _used(snapshot.settings).items() if v is not None}
    asked = {k: v for k, v in facts.requested.items() if v not in (None, "auto")}
    values = {**asked, **used}
    if "n_epochs" not in values and facts.planned_epochs:
        values["n_epochs"] = facts.planned_epochs
    parts: list[Part] = [Text(METHODS.get(facts.method, facts.method))]
    kind = values.get("training_type") or facts.requested.get("training_type")
    if kind:
        parts.append(" · LoRA" if str(kind).lower() == "lora" else " · full training")
    for name in SETTINGS:
        value = values.get(name)
        if value is None or isinstance(value, bool):
            continue
        if name == "n_epochs" and isinstance(value, int):
            parts.append(f" · {plural(value, 'epoch')}")
        elif name == "batch_size":
            parts += [" · batch size ", Text(_value(value))]
        elif name == "learning_rate_multiplier":
            parts += [" · learning rate × ", Text(_value(value))]
        elif name == "learning_rate":
            parts += [" · learning rate ", Text(_value(value))]
        elif name == "beta":
            parts += [" · β ", Text(_value(value))]
        else:
            parts += [f" · {name} ", Text(_value(value))]
    if snapshot.settings.seed is not None:
        parts.append(f" · seed {snapshot.settings.seed}")
    if facts.suffix:
        parts += [" · suffix ", Code(facts.suffix)]
    return say(*parts)


def actual_cost(facts: JobFacts, snapshot: JobSnapshot) -> float | None:
    """The job's price: the backend's own figure, else trained tokens at the catalogue's rate."""
    if snapshot.billed_usd is not None:
        return snapshot.billed_usd
    if snapshot.trained_tokens is not None and facts.usd_per_1m is not None:
        return snapshot.trained_tokens * facts.usd_per_1m / 1_000_000
    return None


def cost_line(facts: JobFacts, snapshot: JobSnapshot) -> Message | None:
    """`13,936 trained tokens · estimated $0.04 · actual $0.04`."""
    parts: list[str] = []
    if snapshot.trained_tokens is not None:
        parts.append(f"{snapshot.trained_tokens:,} trained tokens")
    if facts.dataset_name or facts.estimated_cost is not None:
        parts.append(
            price_words(
                model=facts.model,
                backend=facts.backend,
                cost_usd=facts.estimated_cost,
                tokens=facts.estimated_tokens,
            )
        )
    actual = actual_cost(facts, snapshot)
    if actual is not None and snapshot.status == "succeeded":
        parts.append(f"actual {usd(actual)}")
    elif actual is not None and snapshot.billed_usd is not None:
        parts.append(f"billed {usd(actual)}")
    if not parts:
        return None
    text = " · ".join(parts)
    return say(Text(text[0].upper() + text[1:]))  # a backend's name and `$` amounts, as values


def times_line(snapshot: JobSnapshot, now: int) -> Message | None:
    """`Started 14:02 · finished 14:08 (6 min 2 s)`, or while it runs the elapsed time
    (coarse, so an unchanged job needs no edit on every poll) and the expected finish."""
    parts: list[Part | Message] = []
    if snapshot.created_at:
        parts += ["Started ", moment(snapshot.created_at, now)]
        if snapshot.finished and snapshot.finished_at:
            took = duration(snapshot.finished_at - snapshot.created_at)
            ended = " · finished " if snapshot.status == "succeeded" else " · ended "
            parts += [ended, moment(snapshot.finished_at, now), f" ({took})"]
        elif not snapshot.finished:
            elapsed = max(now - snapshot.created_at, 0)
            elapsed -= elapsed % ELAPSED_STEP_S
            shown = duration(elapsed) if elapsed else f"under {duration(ELAPSED_STEP_S)}"
            parts.append(f" · elapsed {shown}")
    if snapshot.estimated_finish and not snapshot.finished:
        parts += [" · "] if parts else []
        parts.append(finish_words(snapshot.estimated_finish, now))
    return say(*parts) if parts else None


def failure(snapshot: JobSnapshot, backend: str) -> tuple[Message, Message]:
    """The failure's reason (the backend's words, escaped) and what to do."""
    title = backend_name(backend)
    reason = Text((snapshot.error_message or f"{title} gave no reason")[:MAX_REASON])
    code = say(" (", Code(snapshot.error_code), ")") if snapshot.error_code else say()
    advice = ADVICE.get(
        snapshot.error_code or "",
        f"start it again; if it fails the same way, contact {title} support with the job id",
    )
    return say(reason, code), say(Text(advice))  # a backend's name is a value here


def figures(metrics: Metrics) -> str | None:
    """`training loss 0.5200 · validation loss 0.6100 · …` (what was measured)."""
    shown = []
    for label, value, fmt in (
        ("training loss", metrics.train_loss, loss),
        ("validation loss", metrics.valid_loss, loss),
        ("training accuracy", metrics.train_accuracy, "{:.1%}".format),
        ("validation accuracy", metrics.valid_accuracy, "{:.1%}".format),
    ):
        if value is not None:
            shown.append(f"{label} {fmt(value)}")
    return " · ".join(shown) or None


def timeline_lines(timeline: Timeline, now: int) -> tuple[Message, ...]:
    """`14:02 Fine-tuning job started`, one per entry, after how many came before."""
    lines: list[Message] = []
    if timeline.earlier:
        lines.append(say(f"… and {plural(timeline.earlier, 'earlier event')}"))
    for entry in timeline.entries:
        at: list[Part] = [moment(entry.at, now), " "] if entry.at else []
        lines.append(say(*at, Text(entry.text)))
    return tuple(lines)


def status_view(
    *,
    facts: JobFacts,
    snapshot: JobSnapshot,
    metrics: Metrics,
    timeline: Timeline,
    now: int,
) -> StatusView:
    """The whole status message for one moment of the job."""
    body: list[Message] = []
    if snapshot.status == "succeeded" and snapshot.fine_tuned_model:
        body.append(say("Model ", Code(snapshot.fine_tuned_model)))
    if snapshot.status == "failed":
        reason, advice = failure(snapshot, facts.backend)
        body += [say("*Error:* ", reason), say("*What to do:* ", advice, ".")]
    if metrics.total_steps:
        body.append(say(f"`{progress_bar(metrics.step, metrics.total_steps)}`"))
    shown = figures(metrics)
    if shown:
        body.append(say(shown))
    for line in (cost_line(facts, snapshot), times_line(snapshot, now)):
        if line is not None:
            body.append(line)
    return StatusView(
        state=state_of(snapshot.status),
        header=header(snapshot, metrics, facts.cancelled_by),
        subject=subject(facts),
        settings=settings(facts, snapshot),
        body=tuple(body),
        timeline=timeline_lines(timeline, now),
        model=snapshot.fine_tuned_model if snapshot.status == "succeeded" else None,
        restart=facts.dataset_file_id if snapshot.status in ("failed", "cancelled") else None,
    )


def outcome_text(
    *, facts: JobFacts, snapshot: JobSnapshot, valid_loss: float | None = None
) -> Message:
    """The outcome reply, leading with the dataset and the result:
    `✅ sports.jsonl → ft:…:acc · 6 s · 13,936 tokens · $0.04 · validation loss 0.48 · @owner`;
    a failure with its reason and what to do; a cancel as one line naming who."""
    took = None
    if snapshot.created_at and snapshot.finished_at:
        took = duration(snapshot.finished_at - snapshot.created_at)
    # a job started outside the bot has no dataset: it goes by its suffix or short id
    what: Message = say(Code(facts.dataset_name or facts.label))
    if snapshot.status == "succeeded":
        parts: list[Part | Message] = [
            "✅ ",
            what,
            " → ",
            Code(snapshot.fine_tuned_model or facts.label),
        ]
        if took:
            parts.append(f" · {took}")
        if snapshot.trained_tokens is not None:
            parts.append(f" · {plural(snapshot.trained_tokens, 'token')}")
        actual = actual_cost(facts, snapshot)
        if actual is not None:
            parts += [" · ", Text(usd(actual))]  # `< $0.01` escaped
        elif quotes_price(facts.model, facts.backend) and facts.estimated_cost is not None:
            quote = f"{backend_name(facts.backend)}'s quote {usd(facts.estimated_cost)}"
            parts += [" · ", Text(quote)]
        if valid_loss is not None:
            parts.append(f" · validation loss {valid_loss:.2f}")  # a summary: the status has 4
        return say(*parts, " · ", Mention(facts.owner_id))
    if snapshot.status == "failed":
        reason, advice = failure(snapshot, facts.backend)
        after = f" after {took}" if took else ""
        job: list[Part | Message] = (
            [what, " → ", Code(facts.label)] if facts.dataset_name else [what]
        )
        return say(
            "❌ ",
            *job,
            f" failed{after}, ",
            Mention(facts.owner_id),
            ": ",
            reason,
            ". What to do: ",
            advice,
            ".",
        )
    who: list[Part] = (
        [" cancelled by ", Mention(facts.cancelled_by)]
        if facts.cancelled_by
        else [" was cancelled"]
    )
    return say("⏹ ", Code(facts.label), *who, ".")
