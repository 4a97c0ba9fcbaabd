"""Block Kit for listings (jobs, models), usage, try answers, deletion and the Home tab."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.core.backend_names import backend_name
from bot.core.compare import normalise
from bot.core.fmt import plural
from bot.core.jobs import status_text
from bot.core.models import inference_notice
from bot.core.usage import Tally, Usage
from bot.core.watch import progress_bar
from bot.services.compare import Comparison
from bot.services.models import Home, JobLine
from handlers import ids
from handlers.blocks.paging import footer, page
from handlers.text import (
    channel,
    clip,
    code,
    escape,
    inert_value,
    money,
    quote,
    user,
)
from storage.fine_tuned import ModelRecord
from storage.repositories import DatasetRecord

MAX_TEXT = 2900
FIELD = 900


def age(created: dt.datetime, now: dt.datetime) -> str:
    """`3d`, `5h`, `12m`."""
    seconds = max(int((now - created).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def backend_tag(name: str) -> str:
    """A backend's display name for a listing row (`Together AI`), escaped and short."""
    return escape(backend_name(name), limit=40)


def _job_row(line: JobLine, now: dt.datetime) -> str:
    job = line.job
    name = code(job.remote_id) if job.remote_id else f"request ({escape(job.state)})"
    progress = (
        f"\n`{progress_bar(line.step, line.total_steps)}`"
        if line.total_steps and job.status not in ("succeeded", "failed", "cancelled")
        else ""
    )
    return (
        f"{name} · *{escape(status_text(job.status or job.state), limit=100)}* · "
        f"{code(job.model)} · {backend_tag(job.backend)} · {user(job.owner_id)} · "
        f"{channel(job.channel_id)} · "
        f"{age(job.created_at, now)} ago{progress}"
    )


def jobs_blocks(
    lines: Sequence[JobLine], *, scope: str, now: dt.datetime, offset: int = 0
) -> tuple[list[Block], str]:
    """`/finetune jobs`."""
    title = {"mine": "Your jobs", "all": "All jobs", "channel": "Jobs in this channel"}[scope]
    if not lines:
        text = f"{title}: none yet. Start one with `/finetune start latest`."
        return [SectionBlock(text=text)], text
    blocks: list[Block] = [SectionBlock(text=f"*{title}* ({len(lines):,})")]
    blocks += [SectionBlock(text=_job_row(line, now)) for line in page(lines, offset)]
    blocks += footer(kind="jobs", scope=scope, total=len(lines), offset=offset)
    return blocks, f"{title}: {len(lines):,}"


def shutdown_warning(model: ModelRecord, today: dt.date | None) -> str:
    """'⚠️ no longer answers since …' / '⏳ stops answering on … (in N days…)' for a model whose
    family is shut down or shuts down within 30 days; '' otherwise."""
    if today is None:
        return ""
    notice = inference_notice(model.name, today, model.backend, base=model.base_model)
    if notice is None:
        return ""
    return f"{'⚠️' if notice.ended else '⏳'} {escape(notice.words(today), limit=200)}"


def models_blocks(
    models: Sequence[ModelRecord], *, offset: int = 0, today: dt.date | None = None
) -> tuple[list[Block], str]:
    """`/finetune models` (`today`: to warn about families shut down or shutting down)."""
    if not models:
        text = "No fine-tuned models yet."
        return [SectionBlock(text=text)], text
    blocks: list[Block] = [SectionBlock(text=f"*Fine-tuned models* ({len(models):,})")]
    for model in page(models, offset):
        chosen = f"\ndefault for `try`: {code(model.chosen)}" if model.chosen else ""
        warning = shutdown_warning(model, today)
        blocks.append(
            SectionBlock(
                text=f"{code(model.name)}\nowner {user(model.owner_id)} · base "
                f"{code(model.base_model)} · {backend_tag(model.backend)} · "
                f"{channel(model.channel_id)}{chosen}" + (f"\n{warning}" if warning else "")
            )
        )
    blocks += footer(kind="models", scope="", total=len(models), offset=offset)
    return blocks, plural(len(models), "fine-tuned model")


def _cost(amount: float, *, known: int, unknown: int) -> str:
    """`$1.23`, `$1.23 + 2 unknown`, or `cost unknown` when no job's cost is known (never $0.00
    for a cost the bot cannot know)."""
    if unknown and not known:
        return "cost unknown"
    return money(amount) + (f" + {unknown:,} unknown" if unknown else "")


def _row(label: str, t: Tally) -> str:
    estimated = _cost(t.estimated_usd, known=t.jobs - t.unestimated, unknown=t.unestimated)
    priced = t.jobs - t.unpriced  # at least the jobs whose actual cost is known
    actual = _cost(t.actual_usd, known=priced, unknown=t.unpriced)
    return (
        f"{label}: {plural(t.jobs, 'job')} · estimated {t.estimated_tokens:,} tokens {estimated} · "
        f"actual {t.trained_tokens:,} tokens {actual}"
    )


def _table(title: str, tallies: dict[str, Tally], mention: Callable[[str], str]) -> str:
    if not tallies:
        return f"*{title}*\nnothing yet"
    rows = sorted(tallies.items(), key=lambda item: -item[1].estimated_usd)[:25]
    lines = [f"*{title}*"] + [_row(mention(key), t) for key, t in rows]
    return clip("\n".join(lines), MAX_TEXT)


def _backend_label(name: str) -> str:
    return f"*{backend_tag(name)}*"


USAGE_NOTE = (
    "Estimated: the report's billed tokens × epochs × the model's price, or, for a backend that "
    "quotes each job (Together AI), its own quote. Actual: the backend's own price of the job "
    "when it gives one (Together AI), else trained tokens reported by the backend × the model's "
    "training price. Unknown: no estimate was recorded (adopted jobs), or no price is known yet "
    "(Together AI prices each job itself: no per-token rate applies)."
)


def usage_blocks(result: Usage) -> tuple[list[Block], str]:
    """`/finetune usage`: by user, by channel and by backend, this month and all time."""
    blocks: list[Block] = [
        SectionBlock(text=_table("This month, by user", result.month_by_user, user)),
        SectionBlock(text=_table("This month, by channel", result.month_by_channel, channel)),
        SectionBlock(
            text=_table("This month, by backend", result.month_by_backend, _backend_label)
        ),
        DividerBlock(),
        SectionBlock(text=_table("All time, by user", result.by_user, user)),
        SectionBlock(text=_table("All time, by channel", result.by_channel, channel)),
        SectionBlock(text=_table("All time, by backend", result.by_backend, _backend_label)),
        ContextBlock(elements=[MarkdownTextObject(text=USAGE_NOTE)]),
    ]
    total = sum(t.estimated_usd for t in result.by_user.values())
    unknown = sum(t.unestimated for t in result.by_user.values())
    more = f" (+ {plural(unknown, 'job')} without an estimate)" if unknown else ""
    return blocks, f"Fine-tuning usage: {money(total)} estimated in all{more}"


def try_blocks(model: str, prompt: str, answer: str) -> tuple[list[Block], str]:
    """A `/finetune try` answer, with the model that gave it (prompt and answer made inert)."""
    shown = escape(answer, limit=MAX_TEXT - 300) if answer.strip() else "_(empty answer)_"
    blocks: list[Block] = [
        SectionBlock(text=f"*Prompt*\n{quote(prompt, limit=1000)}"),
        SectionBlock(text=f"*{code(model)}*\n{shown}"),
    ]
    return blocks, f"{escape(model, limit=300)}: {escape(answer, limit=200)}"


def delete_confirmation(model: ModelRecord) -> tuple[list[Block], str]:
    """Ask before deleting."""
    text = f"Delete {code(model.name)}? This cannot be undone."
    return [
        SectionBlock(text=text),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Delete model",
                    action_id=ids.MODEL_DELETE,
                    value=inert_value(model.name),
                    style="danger",
                )
            ]
        ),
    ], text


def home_view(home: Home, *, now: dt.datetime, commands: Sequence[tuple[str, str, str]]) -> View:
    """The Home tab."""
    blocks: list[Block] = [HeaderBlock(text="Your fine-tuning")]
    if home.running:
        blocks += [SectionBlock(text=_job_row(line, now)) for line in home.running[:15]]
    else:
        blocks.append(
            SectionBlock(text="No jobs running. Drop a `.jsonl` file in a channel to start.")
        )
    blocks += [DividerBlock(), SectionBlock(text="*Recent models*")]
    blocks += [
        SectionBlock(
            text=f"{code(m.name)} · base {code(m.base_model)} · {backend_tag(m.backend)}"
            + (f"\n{warning}" if (warning := shutdown_warning(m, now.date())) else "")
        )
        for m in home.models[:8]
    ] or [SectionBlock(text="none yet")]
    blocks += [DividerBlock(), SectionBlock(text="*Recent datasets*")]
    blocks += [_dataset_line(d) for d in home.datasets[:8]] or [SectionBlock(text="none yet")]
    lines = "\n".join(f"`{example}` — {summary}" for _, summary, example in commands)
    blocks += [DividerBlock(), SectionBlock(text=f"*Commands to try*\n{lines}"[:MAX_TEXT])]
    return View(type="home", blocks=blocks[:100])


def _dataset_line(dataset: DatasetRecord) -> SectionBlock:
    verdict = "✅" if dataset.valid else "⚠️"
    return SectionBlock(
        text=f"{verdict} {code(dataset.name)} · {plural(dataset.examples or 0, 'example')} · "
        f"{dataset.total_tokens or 0:,} tokens · {channel(dataset.channel_id)}"
    )


def comparison_blocks(result: Comparison) -> tuple[list[Block], str]:
    """The side-by-side table with match rates and the comparison's token cost."""
    summary = (
        f"*{code(result.tuned_model)}* vs base *{code(result.base_model)}* on "
        f"{plural(len(result.outcomes), 'example')} of {code(result.dataset)}\n"
        f"• exact match: fine-tuned {result.tuned.rate(result.tuned.exact)} · base "
        f"{result.base.rate(result.base.exact)}\n"
        f"• normalised match: fine-tuned {result.tuned.rate(result.tuned.normalised)} · base "
        f"{result.base.rate(result.base.normalised)}\n"
        f"• tokens: {result.prompt_tokens:,} in, {result.completion_tokens:,} out · about "
        f"{money(result.cost_usd)}"
    )
    blocks: list[Block] = [SectionBlock(text=summary)]
    for outcome in result.outcomes[:14]:
        ref = normalise(outcome.case.reference)
        marks = ["✅" if normalise(a) == ref else "❌" for a in (outcome.base, outcome.tuned)]
        question = next(
            (str(m["content"]) for m in reversed(outcome.case.prompt) if m["role"] == "user"), ""
        )
        blocks.append(DividerBlock())
        blocks.append(
            SectionBlock(
                text=f"*#{outcome.case.number}* {escape(question, limit=300)}\n"
                f"_expected:_ {escape(outcome.case.reference, limit=300)}",
                fields=[
                    MarkdownTextObject(text=f"*{label}* {mark}\n{escape(answer, limit=FIELD)}")
                    for label, mark, answer in (
                        ("base", marks[0], outcome.base),
                        ("fine-tuned", marks[1], outcome.tuned),
                    )
                ],
            )
        )
    if len(result.outcomes) > 14:
        more = f"…and {len(result.outcomes) - 14} more examples (counted in the rates above)."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=more)]))
    text = (
        f"{escape(result.tuned_model, limit=300)}: "
        f"{result.tuned.rate(result.tuned.normalised)} normalised matches; "
        f"base {result.base.rate(result.base.normalised)}"
    )
    return blocks[:50], text
