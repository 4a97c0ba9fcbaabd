"""Notifier over the Slack Web API: reactions, thread replies, edits, the dataset report."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.checkpoints import CheckpointList
from bot.core.jobs import JobSnapshot, status_text
from bot.core.message import Code, Mention, Message, Text, say
from bot.core.reports import DatasetReport
from bot.core.status import StatusView
from bot.services.eval_text import EvalResult
from bot.services.ports import Clock
from handlers import ids
from handlers.blocks.checkpoints import chart_comment, checkpoint_blocks
from handlers.blocks.evaluation import scorecard_blocks
from handlers.blocks.jobs import (
    approval_blocks,
    approved_blocks,
    declined_blocks,
    error_blocks,
    job_blocks,
)
from handlers.blocks.report import dataset_report_blocks, report_text
from handlers.blocks.status import outcome_blocks, status_blocks
from handlers.text import plain, render
from storage.evaluations import HoldoutRecord
from storage.jobs import JobRecord
from storage.repositories import DatasetRecord

log = logging.getLogger(__name__)


def _marker(key: str) -> dict[str, object]:
    return {"event_type": ids.MARKER_EVENT_TYPE, "event_payload": {"key": key}}


def upload_tag(key: str) -> str:
    """A short digest of a notice's key that an upload's file name carries (a file has no
    metadata), so a chart is found again after a crash without showing the key to anyone."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def chart_filename(title: str, key: str) -> str:
    """`sports_chat.jsonl-acc-loss-<tag>.png`: the title in safe characters, then the tag."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", title).strip("-.")[:80] or "job"
    return f"{slug}-loss-{upload_tag(key)}.png"


class SlackNotifier:
    """The Notifier port, posting through one WebClient (with rate-limit retries)."""

    def __init__(self, *, client: WebClient, clock: Clock | None = None) -> None:
        self._client = client
        self._clock = clock  # for dated lines (OpenAI's countdown in the dataset report)

    def react(self, *, channel: str, ts: str, name: str) -> None:
        """Add a reaction; already there is fine."""
        self._reaction(self._client.reactions_add, channel, ts, name, "already_reacted")

    def unreact(self, *, channel: str, ts: str, name: str) -> None:
        """Remove a reaction; already gone is fine."""
        self._reaction(self._client.reactions_remove, channel, ts, name, "no_reaction")

    def _reaction(self, call: object, channel: str, ts: str, name: str, benign: str) -> None:
        try:
            call(channel=channel, timestamp=ts, name=name)  # type: ignore[operator]
        except SlackApiError as error:
            if error.response.get("error") != benign:
                log.warning("reaction %s on %s failed: %s", name, ts, error.response.get("error"))

    def post_text(self, *, channel: str, thread_ts: str | None, text: Message) -> str:
        """Post a message (in the thread when given); returns its ts."""
        response = self._client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=render(text)
        )
        return str(response["ts"])

    def update_text(self, *, channel: str, ts: str, text: Message) -> None:
        """Replace a message's text."""
        self._client.chat_update(channel=channel, ts=ts, text=render(text), blocks=[])

    def find_marked(self, *, channel: str, thread_ts: str, key: str) -> str | None:
        """The ts of the bot's message in the thread carrying `key` in its metadata."""
        try:
            response = self._client.conversations_replies(
                channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
            )
        except SlackApiError as error:
            log.warning("could not read thread %s: %s", thread_ts, error.response.get("error"))
            return None
        for message in response.get("messages") or []:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("key") == key:
                return str(message["ts"])
            for file in message.get("files") or []:  # uploads carry the key's tag in their name
                if upload_tag(key) in (file.get("name") or "") or key in (file.get("title") or ""):
                    return str(message["ts"])
        return None

    def post_dataset_report(
        self,
        *,
        channel: str,
        thread_ts: str | None,
        dataset: DatasetRecord,
        report: DatasetReport,
        key: str,
        replace_ts: str | None = None,
    ) -> str:
        """Post (or put in place of the progress message) the dataset's report."""
        blocks = dataset_report_blocks(
            name=dataset.name,
            report=report,
            file_id=dataset.slack_file_id,
            today=self._clock.now().date() if self._clock else None,
        )
        text = report_text(dataset.name, report)
        if replace_ts:
            self._client.chat_update(
                channel=channel, ts=replace_ts, text=text, blocks=blocks, metadata=_marker(key)
            )
            return replace_ts
        response = self._client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=text, blocks=blocks, metadata=_marker(key)
        )
        return str(response["ts"])

    def upload_files(
        self,
        *,
        channel: str,
        thread_ts: str | None,
        files: list[tuple[Path, str]],
        comment: Message,
    ) -> list[str]:
        """Upload files into the thread in one message (Slack's external upload flow)."""
        response = self._client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            file_uploads=[
                {
                    "file": str(path),
                    "filename": plain(name, limit=200),
                    "title": plain(name, limit=200),
                }
                for path, name in files
            ],
            initial_comment=render(comment),
        )
        return [str(file["id"]) for file in response.get("files") or []]


class SlackJobNotifier(SlackNotifier):
    """The JobNotifier port: job posts, approval requests and errors in the dataset's thread."""

    def __init__(
        self, *, client: WebClient, clock: Clock | None = None, admins: tuple[str, ...] = ()
    ) -> None:
        super().__init__(client=client, clock=clock)
        self._admins = admins  # FTBOT_ADMINS: mentioned on approval requests

    def post_job(
        self,
        *,
        job: JobRecord,
        dataset: DatasetRecord,
        snapshot: JobSnapshot,
        epochs: int,
        holdout: HoldoutRecord | None = None,
    ) -> str:
        """The job in the dataset's thread, with a Cancel button; returns its ts."""
        blocks, text = job_blocks(
            job=job, dataset=dataset, snapshot=snapshot, epochs=epochs, holdout=holdout
        )
        response = self._client.chat_postMessage(
            channel=job.channel_id,
            thread_ts=job.thread_ts,
            text=text,
            blocks=blocks,
            metadata=_marker(f"job:{job.request_key}:created"),
        )
        return str(response["ts"])

    def post_approval_request(
        self, *, job: JobRecord, dataset: DatasetRecord, threshold: float, epochs: int
    ) -> str:
        """Ask admins to approve the spend; returns the message ts."""
        blocks, text = approval_blocks(
            job=job, dataset=dataset, threshold=threshold, epochs=epochs, admins=self._admins
        )
        response = self._client.chat_postMessage(
            channel=job.channel_id, thread_ts=job.thread_ts, text=text, blocks=blocks
        )
        return str(response["ts"])

    def mark_approved(self, *, job: JobRecord, dataset: DatasetRecord, approver_id: str) -> None:
        """Replace the Approve button with who approved."""
        if not job.approval_ts:
            return
        blocks, text = approved_blocks(job=job, dataset=dataset, approver_id=approver_id)
        self._client.chat_update(
            channel=job.channel_id, ts=job.approval_ts, text=text, blocks=blocks
        )

    def mark_declined(
        self, *, job: JobRecord, dataset: DatasetRecord | None, decliner_id: str
    ) -> None:
        """Replace the buttons with who declined; the requester is mentioned (told) there."""
        blocks, text = declined_blocks(job=job, dataset=dataset, decliner_id=decliner_id)
        if job.approval_ts:
            self._client.chat_update(
                channel=job.channel_id, ts=job.approval_ts, text=text, blocks=blocks
            )
        else:
            self._client.chat_postMessage(
                channel=job.channel_id, thread_ts=job.thread_ts, text=text, blocks=blocks
            )

    def post_job_error(
        self, *, job: JobRecord, text: Message, retry: bool, elsewhere: tuple[str, ...] = ()
    ) -> None:
        """A start that failed, in the thread, with a Retry button when it may help and a
        *Start on …* button per backend in `elsewhere` (OpenAI refused new jobs)."""
        blocks, message = error_blocks(job=job, text=text, retry=retry, elsewhere=elsewhere)
        self._client.chat_postMessage(
            channel=job.channel_id, thread_ts=job.thread_ts, text=message, blocks=blocks
        )


class SlackWatchNotifier(SlackNotifier):
    """The WatchNotifier port: status edits, thread replies, the chart and checkpoints."""

    def update_status(self, *, job: JobRecord, view: StatusView) -> None:
        """Edit the job's status message in place."""
        blocks, text = status_blocks(job=job, view=view)
        self._client.chat_update(
            channel=job.channel_id, ts=job.status_ts or "", text=text, blocks=blocks
        )

    def post_outcome(
        self, *, job: JobRecord, text: Message, key: str, model: str | None, broadcast: bool
    ) -> str:
        """The outcome in the job's thread (also in the channel when `broadcast`), with the
        next steps after a success."""
        blocks, fallback = outcome_blocks(job=job, text=text, model=model)
        response = self._client.chat_postMessage(
            channel=job.channel_id,
            thread_ts=job.thread_ts or job.status_ts,
            text=fallback,
            blocks=blocks,
            reply_broadcast=broadcast or None,
            metadata=_marker(key),
        )
        return str(response["ts"])

    def post_in_thread(
        self, *, job: JobRecord, text: Message, key: str, broadcast: bool = False
    ) -> str:
        """A reply in the job's thread (also shown in the channel when `broadcast`)."""
        response = self._client.chat_postMessage(
            channel=job.channel_id,
            thread_ts=job.thread_ts or job.status_ts,
            text=render(text),
            reply_broadcast=broadcast or None,
            metadata=_marker(key),
        )
        return str(response["ts"])

    def upload_chart(
        self,
        *,
        job: JobRecord,
        png: bytes,
        title: str,
        key: str,
        accuracy: bool = True,
        checkpoints: bool = True,
        epochs: bool = True,
    ) -> str | None:
        """Upload the PNG into the thread with Slack's external upload flow: titled by the
        job's `title` (its dataset and suffix), its file name carrying `key`'s tag; the comment
        says what the chart draws (`accuracy`, `checkpoints`, `epochs`)."""
        response = self._client.files_upload_v2(
            channel=job.channel_id,
            thread_ts=job.thread_ts or job.status_ts,
            content=png,
            filename=chart_filename(title, key),
            title=plain(f"Loss chart · {title}", limit=200),
            initial_comment=chart_comment(
                title,
                job.remote_id or "",
                accuracy=accuracy,
                checkpoints=checkpoints,
                epochs=epochs,
            ),
        )
        file = response.get("file") or (response.get("files") or [{}])[0]
        return str(file.get("id")) if file else None

    def post_checkpoints(self, *, job: JobRecord, listing: CheckpointList, key: str) -> str:
        """The checkpoint list in the thread."""
        blocks, text = checkpoint_blocks(listing)
        response = self._client.chat_postMessage(
            channel=job.channel_id,
            thread_ts=job.thread_ts or job.status_ts,
            text=text,
            blocks=blocks,
            metadata=_marker(key),
        )
        return str(response["ts"])

    def update_checkpoints(self, *, job: JobRecord, listing: CheckpointList, ts: str) -> None:
        """The checkpoint list edited in place (its badges moved after a choice)."""
        blocks, text = checkpoint_blocks(listing)
        self._client.chat_update(channel=job.channel_id, ts=ts, text=text, blocks=blocks)

    def post_adopted(self, *, job: JobRecord, adopter: str) -> str:
        """The status message of an adopted job, at the top of the channel (its thread root)."""
        view = StatusView(
            state="active",
            header=say("*", Text(status_text(job.status).capitalize()), "*"),
            subject=say(
                Mention(job.owner_id), " · ", Code(job.model), " · job ", Code(job.remote_id or "")
            ),
            settings=say("Adopted by ", Mention(adopter)),
            body=(),
            timeline=(),
        )
        blocks, text = status_blocks(job=job, view=view)
        response = self._client.chat_postMessage(channel=job.channel_id, text=text, blocks=blocks)
        return str(response["ts"])


class SlackEvalNotifier(SlackNotifier):
    """The EvalNotifier port: progress lines (posted, edited) and the scorecard."""

    def post_scorecard(
        self, *, channel: str, thread_ts: str | None, result: EvalResult, key: str | None = None
    ) -> str:
        """The scorecard in the thread (carrying `key`, to be found again); returns its ts."""
        blocks, text = scorecard_blocks(result)
        response = self._client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=text,
            blocks=blocks,
            metadata=_marker(key or f"evaluation:{result.evaluation_id}"),
        )
        return str(response["ts"])

    def direct_channel(self, user_id: str) -> str:
        """The bot's direct-message conversation with a user (opened if needed)."""
        response = self._client.conversations_open(users=user_id)
        return str((response.get("channel") or {})["id"])
