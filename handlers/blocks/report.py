"""Block Kit for the dataset report and the datasets listing. Pure: data in, blocks out."""

from __future__ import annotations

import datetime as dt

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.core.billing import BillingLine
from bot.core.doctor import needs_fix
from bot.core.issue_words import IssueLine
from bot.core.reports import (
    ERROR_TEXT,
    ESTIMATED_COUNT,
    FORMAT_NAMES,
    DatasetReport,
    backend_name,
    epochs_text,
    issue_lines,
    number,
    price_text,
    usd,
    warnings_text,
)
from bot.core.split import can_split
from bot.core.validation import min_examples
from bot.core.wind_down import closing_notice
from bot.services.backends import OPENAI_CLOSES
from handlers import ids
from handlers.blocks.moderation import check_content_button
from handlers.text import (
    CONTEXT_TEXT,
    HEADER_TEXT,
    SECTION_TEXT,
    clip,
    code,
    escape,
    plain,
    pre,
)

MAX_TEXT = 2900  # section text limit is 3,000 characters


def verdict(report: DatasetReport) -> str:
    """One-line verdict with the emoji the channel sees: serious warnings are counted."""
    if report.verdict == "needs_fixes":
        return "⚠️ Needs fixes"
    if report.verdict == "ready_with_warnings":
        return f"Ready · ⚠️ {warnings_text(len(report.serious_warnings))}"
    return "✅ Ready to train"


def not_a_dataset_text(name: str) -> str:
    """The one line for a binary or non-JSON file."""
    return f"⚠️ {name} is {ERROR_TEXT['not_jsonl']}"


def report_text(name: str, report: DatasetReport) -> str:
    """Fallback text of the report (notifications, screen readers)."""
    if report.not_a_dataset:
        return not_a_dataset_text(escape(name, limit=300))
    line = report.billing
    approx = "~" if report.tokens_estimated else ""
    head = (
        f"{verdict(report)}: {escape(name, limit=300)} — {report.examples:,} examples, "
        f"{approx}{report.tokens.total:,} tokens, "
    )
    if line.quoted:
        return (
            f"{head}{epochs_text(line.epochs)} on {escape(line.model)}; {escape(price_text(line))}"
        )
    return f"{head}estimated {escape(usd(line.cost_usd))} on {escape(line.model)} ({epochs_text(line.epochs)})"


def issue_row(line: IssueLine, unit: str = "line") -> str:
    """'• *Not valid JSON* — 3 examples (lines 17, 20, 25) · line 17: `{"messages": [ …` — a
    trailing comma?', or '— line 17: `{…` — …' for a single line (⚠️ before a warning that
    changes the verdict). Hostile text is escaped."""
    mark = "⚠️ " if line.serious else ""
    row = f"• {mark}*{escape(line.label)}*" + (f" — {escape(line.where)}" if line.where else "")
    if line.excerpt:
        quoted = line.quoted_from(unit)
        # one offending line: "— line 17: `{…`", not "— line 17 · line 17: `{…`"
        row += ":" if quoted == line.where else f" · {escape(quoted)}:"
        row += f" {code(line.excerpt, limit=80)}"
    return row + (f" — {escape(line.hint)}" if line.hint else "")


def _issues(title: str, lines: list[IssueLine], unit: str) -> str:
    return clip("\n".join([f"*{title}*", *(issue_row(line, unit) for line in lines)]), MAX_TEXT)


def per_backend(report: DatasetReport) -> list[BillingLine]:
    """The estimate for each backend the report covers: the chosen model, then the first (the
    default) model of every other backend."""
    lines = [report.billing]
    for line in report.other_billing:
        if all(line.backend != seen.backend for seen in lines):
            lines.append(line)
    return lines


def _estimate(line: BillingLine) -> str:
    """'• *Together AI* · `model`: ~13,936 tokens × 1 epoch (estimated count: …) · Together
    quotes the price when the job starts'."""
    approx = "~" if line.tokens_estimated else ""
    count = f" ({ESTIMATED_COUNT})" if line.tokens_estimated else ""
    shut = "" if line.trainable else " (shut down)"
    return (
        f"• *{backend_name(line.backend)}* · {code(line.model)}{shut}: {approx}"
        f"{line.billed_tokens_per_epoch:,} tokens × {epochs_text(line.epochs)}{count} · "
        f"{escape(price_text(line))}"
    )


def _billing_table(lines: list[BillingLine]) -> str:
    rows = [f"{'model':<26}{'billed/epoch':>14}{'epochs':>7}{'cost':>11}"]
    for line in lines:
        mark = "" if line.trainable else " (shut down)"
        rows.append(
            f"{line.model:<26}{line.billed_tokens_per_epoch:>14,}{line.epochs:>7}"
            f"{usd(line.cost_usd):>11}{mark}"
        )
    return pre("\n".join(rows), limit=MAX_TEXT - 20)


def closing_line(report: DatasetReport, today: dt.date | None) -> str | None:
    """OpenAI's countdown to its last day of new jobs, when the report estimates on OpenAI."""
    if today is None or all(line.backend != "openai" for line in per_backend(report)):
        return None
    notice = closing_notice(today, OPENAI_CLOSES)
    return f"⏳ {notice}." if notice else None


def dataset_report_blocks(
    *, name: str, report: DatasetReport, file_id: str, today: dt.date | None = None
) -> list[Block]:
    """The report posted in the upload's thread (`today`: for OpenAI's countdown)."""
    if report.not_a_dataset:
        return [
            SectionBlock(
                text=PlainTextObject(text=plain(not_a_dataset_text(name), limit=SECTION_TEXT - 100))
            )
        ]
    unit = report.numbering
    t = report.tokens
    approx = "~" if report.tokens_estimated else ""
    chosen = report.billing
    cost = price_text(chosen) if chosen.quoted else usd(chosen.cost_usd)
    blocks: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(
                text=plain(f"{verdict(report)}: {name}", limit=HEADER_TEXT), emoji=False
            )
        ),
        SectionBlock(
            fields=[
                MarkdownTextObject(text=f"*Format*\n{FORMAT_NAMES.get(report.format)}"),
                MarkdownTextObject(text=f"*Examples*\n{report.examples:,}"),
                MarkdownTextObject(text=f"*Tokens*\n{approx}{t.total:,}"),
                MarkdownTextObject(
                    text=f"*Billed tokens per epoch*\n{approx}{chosen.billed_tokens_per_epoch:,}"
                ),
                MarkdownTextObject(
                    text=f"*Epochs*\n{chosen.epochs} (default for this size: "
                    f"{report.default_epochs})"
                ),
                MarkdownTextObject(
                    text=f"*Estimated cost*\n{escape(cost)}"
                    + (f" ({code(chosen.model)})" if chosen.quoted else f" on {code(chosen.model)}")
                ),
            ]
        ),
    ]
    if report.errors:
        blocks.append(SectionBlock(text=_issues("Errors", issue_lines(report, errors=True), unit)))
    if report.warnings:
        warnings = issue_lines(report, errors=False)
        blocks.append(SectionBlock(text=_issues("Warnings", warnings, unit)))
    blocks += [
        SectionBlock(
            text=f"*Tokens per example* ({t.counted:,} counted)\n"
            + pre(
                f"{'min':>8}{'mean':>12}{'median':>10}{'p95':>12}{'max':>10}\n"
                f"{number(t.min):>8}{number(t.mean):>12}{number(t.median):>10}"
                f"{number(t.p95):>12}{number(t.max):>10}"
            )
        ),
    ]
    estimates = per_backend(report)
    if len(estimates) > 1 or chosen.quoted:  # one line per backend, each naming it
        blocks.append(
            SectionBlock(
                text=clip(
                    "*Estimate per backend*\n" + "\n".join(map(_estimate, estimates)), MAX_TEXT
                )
            )
        )
    table = [line for line in (chosen, *report.other_billing) if not line.quoted]
    if table:
        blocks.append(SectionBlock(text="*Billing*\n" + _billing_table(table)))
    closing = closing_line(report, today)
    if closing:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=closing)]))
    if report.notes:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(text=escape(n, limit=CONTEXT_TEXT))
                    for n in report.notes[:10]
                ]
            )
        )
    buttons = [*doctor_buttons(report, file_id), check_content_button(file_id)]
    return [*blocks, DividerBlock(), ActionsBlock(elements=buttons)]


def doctor_buttons(report: DatasetReport, file_id: str) -> list[ButtonElement]:
    """Start and Upload only on a dataset ready to train (with Split when the training part
    would still be enough); Fix it when Fix can repair something the report found."""
    buttons: list[ButtonElement] = []
    if report.valid:
        buttons += [
            ButtonElement(
                text="Start fine-tuning…",
                action_id=ids.DATASET_START,
                value=file_id,
                style="primary",
            ),
            ButtonElement(text="Upload only", action_id=ids.DATASET_UPLOAD, value=file_id),
        ]
        if can_split(report.examples, min_examples(report.billing.backend)):
            buttons.append(
                ButtonElement(
                    text="Split train/validation", action_id=ids.DATASET_SPLIT, value=file_id
                )
            )
    if needs_fix(report):
        buttons.append(
            ButtonElement(
                text="Fix it",
                action_id=ids.DATASET_FIX,
                value=file_id,
                style=None if report.valid else "primary",
            )
        )
    return buttons
