"""Block Kit for `/finetune usage`: the totals, then per backend, per user and per channel, each
section shown only when it splits the total (one user, one channel, one backend add nothing).
Pure."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.core.backend_names import backend_name
from bot.core.fmt import plural
from bot.core.usage import Tally, Usage
from handlers.text import channel, clip, escape, money, user

MAX_TEXT = 2900
MAX_ROWS = 25

USAGE_NOTE = (
    "Estimated: the report's billed tokens × epochs × the model's price, or, for a backend that "
    "quotes each job (Together AI), its own quote. Actual: the backend's own price of the job "
    "when it gives one (Together AI), else trained tokens reported by the backend × the model's "
    "training price. Unknown: no estimate was recorded (adopted jobs), or no price is known "
    "(Together AI prices each job itself, no per-token rate applies; Azure OpenAI publishes no "
    "rate the bot can read)."
)


def _cost(amount: float, *, known: int, unknown: int) -> str:
    """`$1.23`, `$1.23 + 2 unknown`, or `unknown` when no job's cost is known (never $0.00 for
    a cost the bot cannot know)."""
    if unknown and not known:
        return "unknown"
    return money(amount) + (f" + {unknown:,} unknown" if unknown else "")


def figures(t: Tally) -> str:
    """`2 jobs · estimated $0.90 (100,000 tokens) · actual $0.52 (173,148 tokens)`."""
    estimated = _cost(t.estimated_usd, known=t.jobs - t.unestimated, unknown=t.unestimated)
    actual = _cost(t.actual_usd, known=t.jobs - t.unpriced, unknown=t.unpriced)
    # no "(0 tokens)" beside an unknown estimate (adopted jobs) or before any training
    tokens = f" ({t.estimated_tokens:,} tokens)" if t.estimated_tokens else ""
    trained = f" ({t.trained_tokens:,} trained tokens)" if t.trained_tokens else ""
    return f"{plural(t.jobs, 'job')} · estimated {estimated}{tokens} · actual {actual}{trained}"


def _backend(name: str) -> str:
    return escape(backend_name(name), limit=40)


def _split(
    title: str, month: dict[str, Tally], total: dict[str, Tally], label: Callable[[str], str]
) -> str:
    """One row per key, biggest first: all time, and this month's when it differs."""
    rows = sorted(total.items(), key=lambda item: -item[1].estimated_usd)[:MAX_ROWS]
    lines = [f"*{title}*"]
    for key, tally in rows:
        line = f"• {label(key)}: {figures(tally)}"
        this_month = month.get(key)
        if this_month is None:
            line += " · none this month"
        elif this_month.jobs != tally.jobs:
            line += f" · this month {plural(this_month.jobs, 'job')}, " + _cost(
                this_month.estimated_usd,
                known=this_month.jobs - this_month.unestimated,
                unknown=this_month.unestimated,
            )
        lines.append(line)
    if len(total) > MAX_ROWS:
        lines.append(f"…and {len(total) - MAX_ROWS:,} more")
    return clip("\n".join(lines), MAX_TEXT)


def _sum(tallies: dict[str, Tally]) -> Tally:
    whole = Tally()
    for t in tallies.values():
        whole.jobs += t.jobs
        whole.estimated_tokens += t.estimated_tokens
        whole.estimated_usd += t.estimated_usd
        whole.trained_tokens += t.trained_tokens
        whole.actual_usd += t.actual_usd
        whole.unestimated += t.unestimated
        whole.unpriced += t.unpriced
    return whole


def usage_blocks(result: Usage) -> tuple[list[Block], str]:
    """`/finetune usage`: totals for this month and all time, then the splits that add something."""
    total, month = _sum(result.by_user), _sum(result.month_by_user)
    if not total.jobs:
        text = "No fine-tuning jobs yet: nothing spent."
        return [SectionBlock(text=text)], text
    single = [
        label(next(iter(split)))
        for split, label in (
            (result.by_backend, _backend),
            (result.by_user, user),
            (result.by_channel, channel),
        )
        if len(split) == 1
    ]
    lines = [" · ".join(["*Fine-tuning usage*", *single])]
    if month.jobs == total.jobs:
        lines.append(f"All time (all this month): {figures(total)}")
    else:
        lines.append(f"This month: {figures(month)}" if month.jobs else "This month: no jobs")
        lines.append(f"All time: {figures(total)}")
    blocks: list[Block] = [SectionBlock(text=clip("\n".join(lines), MAX_TEXT))]
    for title, month_split, split, label in (
        ("By backend", result.month_by_backend, result.by_backend, _backend),
        ("By user", result.month_by_user, result.by_user, user),
        ("By channel", result.month_by_channel, result.by_channel, channel),
    ):
        if len(split) > 1:
            blocks.append(SectionBlock(text=_split(title, month_split, split, label)))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=USAGE_NOTE)]))
    unknown = f" (+ {plural(total.unestimated, 'job')} without an estimate)"
    more = unknown if total.unestimated else ""
    return blocks, f"Fine-tuning usage: {money(total.estimated_usd)} estimated in all{more}"
