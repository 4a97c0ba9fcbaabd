"""Block Kit for an evaluation's scorecard: one row per model (exact and normalised match with a
small bar, win rate where graded, latency, tokens, cost), how it was graded, what is missing."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.core.backend_names import backend_name
from bot.core.evaluation import ModelScore
from bot.services.eval_text import ROLE_WORDS, Contender, EvalResult, fine_usd
from handlers.text import clip, code, escape, render

MAX_TEXT = 2900
BAR = 10


def bar(share: float) -> str:
    """`▓▓▓▓▓▓░░░░`: a share from 0 to 1 in ten cells (rounded)."""
    filled = max(0, min(BAR, round(share * BAR)))
    return "▓" * filled + "░" * (BAR - filled)


def percent(count: int, total: int) -> str:
    """`60% (30/50)`."""
    share = count / total if total else 0.0
    return f"{share:.0%} ({count}/{total})"


def latency(seconds: float | None) -> str:
    """`0.42 s`, `1.3 s`, or `—` without an answer."""
    if seconds is None:
        return "—"
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.0f} s"


def _row(contender: Contender, score: ModelScore, result: EvalResult) -> str:
    head = (
        f"*{code(contender.model, limit=120)}* — {ROLE_WORDS[contender.role]}, "
        f"{escape(backend_name(contender.backend), limit=40)}"
    )
    lines = [
        head,
        f"`{bar(score.normalised_rate)}` normalised {percent(score.normalised, score.cases)} · "
        f"exact {percent(score.exact, score.cases)}",
    ]
    if score.win_rate is not None and result.opponent:
        lines.append(
            f"win rate vs {code(result.opponent, limit=120)}: {score.win_rate:.0%} "
            f"({score.wins} won, {score.ties} tied, {score.losses} lost of {score.graded} graded)"
        )
    cost = next(
        (
            f" · {fine_usd(p.price.cost(score.prompt_tokens, score.completion_tokens))}"
            for p in result.plan.estimate.parts
            if p.label == contender.model and p.price is not None
        ),
        " · price unknown",
    )
    failed = f" · no answer to {score.failed}" if score.failed else ""
    lines.append(
        f"mean latency {latency(score.mean_latency_s)} · {score.prompt_tokens:,} + "
        f"{score.completion_tokens:,} tokens{cost}{failed}"
    )
    return "\n".join(lines)


def scorecard_blocks(result: EvalResult) -> tuple[list[Block], str]:
    """The scorecard message (blocks and fallback text)."""
    plan = result.plan
    what = "held-out examples" if plan.source == "holdout" else "examples"
    title = (
        f"📊 *Scorecard* for {code(plan.contenders[0].model, limit=120)} on "
        f"{code(plan.dataset.name, limit=120)}: {len(plan.cases):,} {what}"
    )
    blocks: list[Block] = [SectionBlock(text=clip(title, MAX_TEXT))]
    for contender, score in result.scores:
        blocks.append(SectionBlock(text=clip(_row(contender, score, result), MAX_TEXT)))
    how = []
    if result.grader:
        how.append(
            f"Win rate: pairwise LLM grader {code(result.grader)} judging each answer against "
            "the other with the reference, order randomised per example (seeded), ties count "
            "half; rubric in docs/evaluation.md."
        )
    elif not plan.free_text:
        how.append("Short-label answers: scored by matching only (no grader).")
    spent = fine_usd(result.known_usd)
    if result.unpriced:
        names = ", ".join(code(n, limit=80) for n in result.unpriced)
        how.append(f"This evaluation cost {spent} plus the unpriced calls of {names}.")
    else:
        how.append(f"This evaluation cost {spent}.")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(" ".join(how), MAX_TEXT))]))
    if result.missing:
        lines = "\n".join(f"• {render(m, limit=500)}" for m in result.missing[:10])
        blocks.append(SectionBlock(text=clip(f"⚠️ *Partial result*\n{lines}", MAX_TEXT)))
    first = result.scores[0][1] if result.scores else None
    text = f"Scorecard for {escape(plan.contenders[0].model, limit=200)}"
    if first is not None:
        text += (
            f": normalised {percent(first.normalised, first.cases)}, "
            f"exact {percent(first.exact, first.cases)}"
        )
        if first.win_rate is not None:
            text += f", win rate {first.win_rate:.0%}"
    return blocks, text
