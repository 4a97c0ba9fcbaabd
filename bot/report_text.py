"""Render a DatasetReport as plain text for the terminal."""

from __future__ import annotations

from bot.core.backend_names import backend_name
from bot.core.billing import BillingLine
from bot.core.issue_words import IssueLine
from bot.core.reports import (
    ERROR_TEXT,
    FORMAT_NAMES,
    DatasetReport,
    epochs_text,
    estimate_text,
    issue_lines,
    number,
    usd,
    warnings_text,
)


def render(report: DatasetReport, name: str) -> str:
    """The whole report: verdict first, then problems, tokens and billing."""
    if report.not_a_dataset:
        return f"{name}: NOT A DATASET — {ERROR_TEXT['not_jsonl'].removeprefix('not a dataset: ')}"
    unit = report.numbering
    verdict = {
        "ready": "READY TO TRAIN",
        "ready_with_warnings": f"READY · {warnings_text(len(report.serious_warnings)).upper()}",
    }.get(report.verdict, "NEEDS FIXES")
    out = [
        f"{name}: {verdict}",
        f"Format: {FORMAT_NAMES.get(report.format, report.format)} · "
        f"{report.examples:,} examples · model {report.billing.model} ({report.encoding})",
    ]
    for title, errors in (("Errors (must be fixed)", True), ("Warnings", False)):
        lines = issue_lines(report, errors=errors)
        if not lines:
            continue
        out += ["", title]
        out += [row for line in lines for row in issue_rows(line, unit)]
    t = report.tokens
    approx = "~" if report.tokens_estimated else ""
    out += [
        "",
        f"Tokens per example ({t.counted:,} counted{', estimated' if approx else ''})",
        f"  {'min':>10} {'mean':>12} {'median':>10} {'p95':>12} {'max':>10} {'total':>14}",
        f"  {number(t.min):>10} {number(t.mean):>12} {number(t.median):>10} "
        f"{number(t.p95):>12} {number(t.max):>10} {approx + number(t.total):>14}",
        "",
        f"Billing: {epochs_text(report.billing.epochs)} ({backend_name(report.billing.backend)}'s "
        f"default for {report.examples:,} examples is {report.default_epochs})",
    ]
    out += _billing_rows(report)
    if report.notes:
        out += ["", "Notes"] + [f"  - {note}" for note in report.notes]
    return "\n".join(out)


def issue_rows(line: IssueLine, unit: str = "line") -> list[str]:
    """'  Not valid JSON — 3 examples (lines 17, 20, 25)  [invalid_json]', then the first line's
    start and the hint, indented (the same labels as in Slack; the kind for scripts)."""
    mark = "! " if line.serious else "- "
    rows = [
        f"  {mark}{line.label}" + (f" — {line.where}" if line.where else "") + f"  [{line.kind}]"
    ]
    if line.excerpt:
        rows.append(f"      {line.quoted_from(unit)}: {line.excerpt}")
    if line.hint:
        rows.append(f"      → {line.hint}")
    return rows


def _billing_rows(report: DatasetReport) -> list[str]:
    """Models priced per token in a table; models whose backend quotes the price, one line each
    (a long model name, an estimated count, and no dollar figure to show)."""
    lines = [(report.billing, True)] + [(line, False) for line in report.other_billing]
    table = [(line, chosen) for line, chosen in lines if not line.quoted]
    rows = []
    if table:
        rows.append(
            f"  {'model':<26} {'billed tokens/epoch':>20} {'epochs':>7} {'estimated cost':>15}"
        )
        rows += [_billing_row(line, chosen=chosen) for line, chosen in table]
    rows += [
        f"{'*' if chosen else ' '} {estimate_text(line)}"
        + ("" if line.trainable else "  (shut down)")
        for line, chosen in lines
        if line.quoted
    ]
    return rows


def _billing_row(line: BillingLine, *, chosen: bool) -> str:
    mark = "*" if chosen else " "
    status = "" if line.trainable else "  (shut down)"
    approx = "~" if line.tokens_estimated else ""
    return (
        f"{mark} {line.model:<26} {approx + format(line.billed_tokens_per_epoch, ','):>20} "
        f"{line.epochs:>7} {usd(line.cost_usd):>15}{status}"
    )
