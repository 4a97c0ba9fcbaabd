"""Block Kit for `/finetune leaderboard <dataset>`: one row per model, best first, with its scores,
training cost, inference price per 1M tokens, the channel's chosen model marked, and a
**Use this model** button (the `checkpoint_choose` action: the same rules, re-checked on click)
on the fine-tuned models the viewer may choose."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.core.backend_names import backend_name
from bot.core.evaluation import Price
from bot.core.fmt import usd
from bot.core.leaderboard import Standing
from bot.services.eval_text import fine_usd
from bot.services.leaderboard import Board
from handlers import ids
from handlers.blocks.evaluation import bar, percent
from handlers.text import clip, code, escape, inert_value

MAX_TEXT = 2900
USE = "Use this model"


def price_text(price: Price | None) -> str:
    """`inference $0.30 in / $1.20 out per 1M tokens`, or that the catalogue has no price."""
    if price is None:
        return "inference price unknown"
    return escape(
        f"inference {fine_usd(price.input_usd_per_1m)} in / "
        f"{fine_usd(price.output_usd_per_1m)} out per 1M tokens"
    )


def training_text(standing: Standing) -> str:
    """`training $0.52` (the job's cost as its status message says it), `training cost unknown`,
    `no training (base model)`."""
    if not standing.fine_tuned:
        return "no training (base model)"
    if standing.training_usd is None:
        return "training cost unknown"
    return f"training {escape(usd(standing.training_usd))}"


def row_text(place: int, standing: Standing) -> str:
    """One leaderboard row (mrkdwn)."""
    chosen = " · ✅ *chosen for this channel*" if standing.chosen else ""
    kind = "fine-tuned" if standing.fine_tuned else "base"
    lines = [
        f"*{place}.* {code(standing.model, limit=120)} — "
        f"{escape(backend_name(standing.backend), limit=40)}, {kind}{chosen}",
        f"`{bar(standing.normalised_rate)}` normalised "
        f"{percent(standing.normalised, standing.examples)} · exact "
        f"{percent(standing.exact, standing.examples)}",
    ]
    if standing.win_rate is not None and standing.opponent:
        lines[-1] += f" · win rate {standing.win_rate:.0%} vs {code(standing.opponent, limit=80)}"
    lines.append(f"{training_text(standing)} · {price_text(standing.price)}")
    return "\n".join(lines)


def leaderboard_blocks(board: Board) -> tuple[list[Block], str]:
    """The leaderboard message (blocks and fallback text)."""
    name = board.dataset.name
    count = len(board.standings) + board.hidden
    if not board.standings:
        text = (
            f"No model has been evaluated on {code(name, limit=120)} yet (that you may see). "
            f"{code(f'/finetune eval <model> {board.dataset.slack_file_id}')} scores one; a job "
            "started with `holdout=20%` gets a scorecard when it succeeds."
        )
        return [SectionBlock(text=clip(text, MAX_TEXT))], text
    title = (
        f"🏆 *Leaderboard* for {code(name, limit=120)}: "
        f"{count} model{'s' if count != 1 else ''}, best first"
    )
    blocks: list[Block] = [SectionBlock(text=clip(title, MAX_TEXT))]
    for place, standing in enumerate(board.standings, 1):
        button = None
        if standing.fine_tuned and standing.may_choose and not standing.chosen:
            button = ButtonElement(
                text=USE, action_id=ids.CHECKPOINT_CHOOSE, value=inert_value(standing.model)
            )
        blocks.append(
            SectionBlock(text=clip(row_text(place, standing), MAX_TEXT), accessory=button)
        )
    notes = [
        "Ranked by normalised match, then exact match, then the grader's win rate, then the "
        "cheaper inference. Each model's newest evaluation on this dataset counts; the "
        "example counts can differ between evaluations."
    ]
    if board.hidden:
        notes.append(f"{board.hidden} more not shown.")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(" ".join(notes), MAX_TEXT))]))
    best = board.standings[0]
    fallback = (
        f"Leaderboard for {escape(name, limit=200)}: best {escape(best.model, limit=200)} "
        f"(normalised {percent(best.normalised, best.examples)})"
    )
    return blocks, fallback
