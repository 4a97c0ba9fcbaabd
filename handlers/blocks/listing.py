"""Block Kit for `/finetune jobs` and the Home tab: one row per job with its dataset, a link to its
thread and a menu (Status, Cancel, Chart); the Home tab's buttons (Start, Try, Cancel). Pure."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.core.fmt import plural
from bot.core.jobs import TERMINAL, status_text
from bot.core.watch import progress_bar
from bot.services.models import Home, JobLine
from handlers import ids
from handlers.blocks.models import backend_tag, shutdown_warning
from handlers.blocks.paging import footer, page
from handlers.text import (
    CONTEXT_TEXT,
    OPTION_VALUE,
    channel,
    clip,
    code,
    escape,
    inert_value,
    plain,
    user,
)
from storage.repositories import DatasetRecord

MENU = (("status", "Status"), ("cancel", "Cancel"), ("chart", "Chart"))
HOME_JOBS = 12  # rows with a button each; with models and datasets, within 100 blocks
HOME_MODELS = 8
HOME_DATASETS = 8
STATE_MARK = {"succeeded": "✅", "failed": "❌", "cancelled": "⏹️"}
MAX_PROMPT = 3000  # Slack's longest plain_text_input value
HOME_HELP = "Drop a `.jsonl` file in a channel to check it · `/finetune help` lists every command"
_WORKSPACE = re.compile(r"https://[A-Za-z0-9.-]+/")
_CHANNEL = re.compile(r"[CGD][A-Z0-9]{1,20}")
_TS = re.compile(r"\d{1,12}\.\d{1,8}")


def age(created: dt.datetime, now: dt.datetime) -> str:
    """`3 d`, `5 h`, `12 min`, `4 s`: the largest unit only, as a listing wants it."""
    seconds = max(int((now - created).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def ago(created: dt.datetime, now: dt.datetime) -> str:
    """`4 min ago`, `2 h ago`; `just now` under a minute (never `0 s ago`)."""
    if (now - created).total_seconds() < 60:
        return "just now"
    return f"{age(created, now)} ago"


def permalink(
    workspace_url: str | None, channel_id: str, ts: str | None, thread_ts: str | None
) -> str:
    """The message's permalink as Slack writes it (`…/archives/C…/p…`, a reply with its
    `thread_ts`), or '' when any part is not what Slack would have given."""
    if not workspace_url or not _WORKSPACE.fullmatch(workspace_url) or not ts:
        return ""
    if not _CHANNEL.fullmatch(channel_id) or not _TS.fullmatch(ts):
        return ""
    link = f"{workspace_url}archives/{channel_id}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts and _TS.fullmatch(thread_ts):
        link += f"?thread_ts={thread_ts}&amp;cid={channel_id}"  # & escaped, as Slack writes it
    return link


def _thread(line: JobLine, workspace_url: str | None) -> str:
    job = line.job
    link = permalink(workspace_url, job.channel_id, job.status_ts or job.thread_ts, job.thread_ts)
    return f"<{link}|thread> in {channel(job.channel_id)}" if link else channel(job.channel_id)


def _state(line: JobLine) -> str:
    job = line.job
    status = job.status or job.state
    mark = STATE_MARK.get(job.status or "", "")
    return f"{mark} *{escape(status_text(status), limit=100)}*".strip()


def _running(line: JobLine) -> bool:
    return bool(line.job.remote_id) and (line.job.status or "") not in TERMINAL


def job_row(
    line: JobLine, now: dt.datetime, *, workspace_url: str | None, owner: bool = True
) -> str:
    """`*sports.jsonl* · ✅ *succeeded* · `gpt-4o-mini` · OpenAI · @owner · thread · 4 min ago`,
    then the job's id, and its progress bar while it trains."""
    job = line.job
    dataset = (
        f"*{escape(line.dataset, limit=120)}*" if line.dataset else "_started outside the bot_"
    )
    who = f" · {user(job.owner_id)}" if owner else ""
    name = code(job.remote_id, limit=80) if job.remote_id else "not started yet"
    progress = (
        f"\n`{progress_bar(line.step, line.total_steps)}`"
        if line.total_steps and _running(line)
        else ""
    )
    return (
        f"{dataset} · {_state(line)} · {code(job.model, limit=120)} · "
        f"{backend_tag(job.backend)}{who} · {_thread(line, workspace_url)} · "
        f"{ago(job.created_at, now)}\n{name}{progress}"
    )


def menu_value(action: str, job_id: str) -> str:
    """An option's value: the action and the job's id (read back as untrusted)."""
    return plain(json.dumps({"a": action, "j": job_id}), limit=OPTION_VALUE)


def job_menu(line: JobLine) -> OverflowMenuElement | None:
    """Status, Cancel (while it runs), Chart; None for a request not started yet (no id)."""
    job_id = line.job.remote_id
    if not job_id or len(menu_value("status", job_id)) >= OPTION_VALUE:
        return None
    options = [
        Option(value=menu_value(action, job_id), label=label)
        for action, label in MENU
        if action != "cancel" or _running(line)
    ]
    return OverflowMenuElement(action_id=ids.JOB_MENU, options=options)


def jobs_blocks(
    lines: Sequence[JobLine],
    *,
    scope: str,
    now: dt.datetime,
    offset: int = 0,
    workspace_url: str | None = None,
) -> tuple[list[Block], str]:
    """`/finetune jobs`: a page of rows (within Slack's 50 blocks), each with its menu."""
    title = {"mine": "Your jobs", "all": "All jobs", "channel": "Jobs in this channel"}[scope]
    if not lines:
        text = f"{title}: none yet. Start one with `/finetune start latest`."
        return [SectionBlock(text=text)], text
    blocks: list[Block] = [SectionBlock(text=f"*{title}* ({len(lines):,})")]
    blocks += [
        SectionBlock(text=job_row(line, now, workspace_url=workspace_url), accessory=job_menu(line))
        for line in page(lines, offset)
    ]
    blocks += footer(kind="jobs", scope=scope, total=len(lines), offset=offset)
    return blocks, f"{title}: {len(lines):,}"


def _cancel_button(line: JobLine) -> ButtonElement | None:
    if not _running(line) or not line.job.remote_id:
        return None
    return ButtonElement(
        text="Cancel",
        action_id=ids.HOME_JOB_CANCEL,
        value=inert_value(line.job.remote_id),
        style="danger",
        confirm=ConfirmObject(
            title="Cancel this job?",
            text="Training stops and the job can't be resumed.",
            confirm="Cancel job",
            deny="Keep it",
        ),
    )


def _dataset_row(dataset: DatasetRecord) -> SectionBlock:
    verdict = "✅" if dataset.valid else "⚠️"
    start = (
        ButtonElement(
            text="Start", action_id=ids.DATASET_START, value=inert_value(dataset.slack_file_id)
        )
        if dataset.valid
        else None
    )
    return SectionBlock(
        text=f"{verdict} {code(dataset.name)} · {plural(dataset.examples or 0, 'example')} · "
        f"{dataset.total_tokens or 0:,} tokens · {channel(dataset.channel_id)}",
        accessory=start,
    )


def home_view(
    home: Home, *, now: dt.datetime, workspace_url: str | None = None, notice: str = ""
) -> View:
    """The Home tab: running jobs (Cancel), recent models (Try), datasets (Start), one help line.
    `notice`: mrkdwn the bot puts first (the outcome of a click on this tab)."""
    blocks: list[Block] = [HeaderBlock(text="Your fine-tuning")]
    if notice:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(notice, CONTEXT_TEXT))]))
    blocks.append(SectionBlock(text="*Running jobs*"))
    blocks += [
        SectionBlock(
            text=job_row(line, now, workspace_url=workspace_url, owner=False),
            accessory=_cancel_button(line),
        )
        for line in home.running[:HOME_JOBS]
    ] or [SectionBlock(text="No jobs running. Start one from a dataset below.")]
    blocks += [DividerBlock(), SectionBlock(text="*Recent models*")]
    blocks += [
        SectionBlock(
            text=f"{code(m.name)} · base {code(m.base_model)} · {backend_tag(m.backend)}"
            + (f"\n{warning}" if (warning := shutdown_warning(m, now.date())) else ""),
            accessory=ButtonElement(
                text="Try", action_id=ids.HOME_MODEL_TRY, value=inert_value(m.name)
            )
            if not warning.startswith("⚠️")
            else None,
        )
        for m in home.models[:HOME_MODELS]
    ] or [SectionBlock(text="none yet")]
    blocks += [DividerBlock(), SectionBlock(text="*Recent datasets*")]
    blocks += [_dataset_row(d) for d in home.datasets[:HOME_DATASETS]] or [
        SectionBlock(text="none yet")
    ]
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=HOME_HELP)]))
    return View(type="home", blocks=blocks[:100])


TRY_PROMPT_BLOCK = "prompt"
TRY_PROMPT_ACTION = "prompt_input"
TRY_TITLE = "Try a model"


def try_form(model: str, *, blocks: Sequence[Block] = (), done: bool = False) -> View:
    """The Home tab's *Try* form: a prompt for `model`; after an answer (`blocks`), the answer
    above a new prompt, so one can ask again."""
    head = SectionBlock(text=f"Ask {code(model)} something; its answer shows here.")
    prompt = InputBlock(
        block_id=TRY_PROMPT_BLOCK,
        label="Prompt",
        element=PlainTextInputElement(
            action_id=TRY_PROMPT_ACTION, multiline=True, max_length=MAX_PROMPT
        ),
    )
    body: list[Block] = [*blocks, DividerBlock(), prompt] if blocks else [head, prompt]
    return View(
        type="modal",
        callback_id=ids.TRY_CALLBACK,
        title=TRY_TITLE,
        submit="Ask again" if done else "Ask",
        close="Close",
        private_metadata=json.dumps({"m": model}),
        blocks=body[:100],
    )


def try_waiting(model: str) -> View:
    """The form while the model answers (it can take longer than Slack's 3 seconds)."""
    return View(
        type="modal",
        callback_id=ids.TRY_CALLBACK,
        title=TRY_TITLE,
        close="Close",
        private_metadata=json.dumps({"m": model}),
        blocks=[SectionBlock(text=f":hourglass_flowing_sand: Asking {code(model)}…")],
    )
