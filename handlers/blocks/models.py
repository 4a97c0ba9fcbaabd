"""Block Kit for the models listing, try answers, deletion and comparisons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.core.backend_names import backend_name
from bot.core.compare import normalise
from bot.core.fmt import plural
from bot.core.models import inference_notice
from bot.services.compare import Comparison
from handlers import ids
from handlers.blocks.paging import footer, page
from handlers.text import (
    channel,
    code,
    escape,
    inert_value,
    money,
    quote,
    user,
)
from storage.fine_tuned import ModelRecord

MAX_TEXT = 2900
FIELD = 900


def backend_tag(name: str) -> str:
    """A backend's display name for a listing row (`Together AI`), escaped and short."""
    return escape(backend_name(name), limit=40)


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
