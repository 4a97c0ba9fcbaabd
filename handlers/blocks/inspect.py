"""Block Kit for reading jobs: status and events. Pure builders."""

from __future__ import annotations

import re
from collections.abc import Sequence

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.core.backend_names import backend_name
from bot.core.fmt import duration, loss, moment, number, plural
from bot.core.job_settings import epoch_of, method_name
from bot.core.jobs import status_text
from bot.core.message import say
from bot.core.watch import ADVICE, Event, finish_words, progress_bar
from bot.services.inspect import StatusAnswer
from handlers.text import clip, code, escape, money, render, user

MAX_TEXT = 2900
MAX_EVENT = 500
FIELD = 1900


PROVIDER_PAGES = {  # the backend's own page of a job (Azure has no stable one)
    "openai": ("https://platform.openai.com/finetune/", "OpenAI"),
    "together": ("https://api.together.ai/fine-tuning/", "Together AI"),
}
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
STATE = {"succeeded": "✅ succeeded", "failed": "❌ failed", "cancelled": "⏹️ cancelled"}


def provider_link(backend: str, job_id: str) -> str:
    """`<https://platform.openai.com/finetune/ftjob-…|Open on OpenAI>`; '' for a backend
    without a job page, or an id that is not plainly an id (it goes into a link)."""
    page = PROVIDER_PAGES.get(backend)
    if page is None or not _SAFE_ID.fullmatch(job_id):
        return ""
    return f"<{page[0]}{job_id}|Open on {page[1]}>"


def _when(epoch: int | None, now: int) -> str:
    return render(say(moment(epoch, now))) if epoch else "—"


def _settings(answer: StatusAnswer) -> str:
    settings = answer.snapshot.settings
    pairs = [escape(method_name(settings.method), limit=60)]
    if settings.epochs is not None:
        pairs.append(plural(settings.epochs, "epoch"))
    rates = []
    if settings.batch_size is not None:
        rates.append(f"batch size {settings.batch_size:,}")
    if settings.lr_multiplier is not None:
        rates.append(f"learning-rate multiplier {number(settings.lr_multiplier)}")
    if settings.learning_rate is not None:
        rates.append(f"learning rate {number(settings.learning_rate)}")
    if settings.beta is not None:
        rates.append(f"beta {number(settings.beta)}")
    unknown = "seed not reported" if answer.snapshot.finished else "seed not known yet"
    rest = [f"seed {settings.seed}" if settings.seed is not None else unknown]
    if settings.suffix:
        rest.append(f"suffix {code(settings.suffix, limit=80)}")
    lines = [" · ".join(part) for part in (pairs, rates, rest) if part]
    return "*Settings*\n" + "\n".join(lines)


def _file(label: str, name: str | None, file_id: str | None) -> str:
    shown = f"*{escape(name, limit=200)}* " if name else ""
    return f"{label}: {shown}{code(file_id, limit=100) if file_id else '—'}"


def _files(answer: StatusAnswer) -> str:
    snapshot = answer.snapshot
    lines = [_file("training", answer.training_name, snapshot.training_file)]
    if snapshot.validation_file or answer.validation_name:
        lines.append(_file("validation", answer.validation_name, snapshot.validation_file))
    else:
        lines.append("validation: none")
    return "*Files*\n" + "\n".join(lines)


def _times(answer: StatusAnswer) -> str:
    snapshot, now = answer.snapshot, answer.now
    lines = [f"created {_when(snapshot.created_at, now)}"]
    lines.append(f"started {_when(answer.started_at, now)}")
    if snapshot.finished_at:
        took = ""
        if snapshot.created_at:
            took = f" (after {duration(snapshot.finished_at - snapshot.created_at)})"
        lines.append(f"finished {_when(snapshot.finished_at, now)}{took}")
    elif snapshot.estimated_finish:
        lines.append(render(finish_words(snapshot.estimated_finish, now)))
    return "*Times*\n" + "\n".join(lines)


def _cost(answer: StatusAnswer) -> str:
    tokens = answer.snapshot.trained_tokens
    estimated = money(answer.estimated_usd) if answer.estimated_usd is not None else "unknown"
    if answer.actual_usd is not None:
        actual = money(answer.actual_usd)
    else:
        actual = "not known yet" if not answer.snapshot.finished else "unknown"
    trained = (
        f"{tokens:,}"
        if tokens is not None
        else "—"
        if answer.snapshot.finished
        else "not known yet"
    )
    return f"*Tokens and cost*\ntrained tokens {trained}\nestimated {estimated}\nactual {actual}"


def _progress(answer: StatusAnswer) -> str:
    metrics, snapshot = answer.metrics, answer.snapshot
    lines = []
    if metrics.total_steps:
        step = metrics.total_steps if snapshot.status == "succeeded" else metrics.step
        bar = f"`{progress_bar(step, metrics.total_steps)}`"
        epoch = epoch_of(
            step=step,
            total_steps=metrics.total_steps,
            epochs=snapshot.settings.epochs,
            finished=snapshot.status == "succeeded",
        )
        if epoch is not None and snapshot.settings.epochs:
            bar += f" · epoch {epoch} of {snapshot.settings.epochs}"
        lines.append(bar)
    figures = [
        f"{label} {fmt(value)}"
        for label, value, fmt in (
            ("training loss", metrics.train_loss, loss),
            ("validation loss", metrics.valid_loss, loss),
            ("training accuracy", metrics.train_accuracy, "{:.1%}".format),
            ("validation accuracy", metrics.valid_accuracy, "{:.1%}".format),
        )
        if value is not None
    ]
    if figures:
        lines.append("Latest: " + " · ".join(figures))
    return "\n".join(lines)


def _error(answer: StatusAnswer) -> str:
    snapshot = answer.snapshot
    title = backend_name(answer.backend)[:40]
    reason = escape(snapshot.error_message or f"{title} gave no reason", limit=1200)
    found = f" ({code(snapshot.error_code, limit=80)})" if snapshot.error_code else ""
    advice = ADVICE.get(
        snapshot.error_code or "",
        f"start it again; if it fails the same way, contact {title} support with the job id",
    )
    return f"*Error*{found}: {reason}\n*What to do:* {escape(advice, limit=600)}."


def status_answer_blocks(answer: StatusAnswer) -> tuple[list[Block], str]:
    """`/finetune status`: what the backend's dashboard shows, in one answer."""
    snapshot = answer.snapshot
    owner = f" · owner {user(answer.owner_id)}" if answer.owner_id else ""
    head = (
        f"*{code(answer.job_id)}* · {code(answer.model)} · "
        f"{escape(backend_name(answer.backend), limit=40)}{owner}"
    )
    state = STATE.get(snapshot.status, escape(status_text(snapshot.status), limit=100))
    line = f"*Status:* {state}"
    if snapshot.fine_tuned_model:
        line += f" → {code(snapshot.fine_tuned_model)}"
    link = provider_link(answer.backend, answer.job_id)
    blocks: list[Block] = [
        SectionBlock(text=clip(f"{head}\n{line}" + (f" · {link}" if link else ""), MAX_TEXT))
    ]
    if snapshot.status == "failed":
        blocks.append(SectionBlock(text=_error(answer)))
    progress = _progress(answer)
    if progress:
        blocks.append(SectionBlock(text=progress))
    blocks.append(
        SectionBlock(
            fields=[
                MarkdownTextObject(text=clip(text, FIELD))
                for text in (_settings(answer), _files(answer), _times(answer), _cost(answer))
            ]
        )
    )
    return blocks, f"{head} · {escape(status_text(snapshot.status), limit=100)}"


def events_blocks(
    job_id: str, events: Sequence[Event], backend: str, *, now: int | None = None
) -> tuple[list[Block], str]:
    """`/finetune events`: oldest first, clipped to Slack's limits, with the job's backend; each
    event's time in the reader's time zone (Slack's date markup, UTC where it can't), with its
    day when it isn't `now`'s (default: the newest event's day)."""
    on = f" on {escape(backend_name(backend), limit=40)}"
    if not events:
        text = f"{code(job_id)}{on} has no events yet."
        return [SectionBlock(text=text)], text
    today = now if now is not None else max(event.created_at for event in events)
    lines = []
    for event in events:
        when = render(say(moment(event.created_at, today, seconds=True)))
        lines.append(f"{when} {escape(event.message, limit=MAX_EVENT)}")
    body = "\n".join(lines)
    if len(body) > MAX_TEXT:
        body = "…\n" + body[-MAX_TEXT:].split("\n", 1)[-1]
    last = "Last event" if len(events) == 1 else f"Last {len(events):,} events"
    text = f"{last} of {code(job_id)}{on}"
    return [SectionBlock(text=f"*{text}*"), SectionBlock(text=body)], text
