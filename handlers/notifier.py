"""Notifier over the Slack Web API: reactions, thread replies, edits, the dataset report."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.jobs import JobSnapshot
from bot.core.reports import DatasetReport
from handlers import ids
from handlers.blocks.jobs import approval_blocks, approved_blocks, error_blocks, job_blocks
from handlers.blocks.report import dataset_report_blocks, report_text
from storage.jobs import JobRecord
from storage.repositories import DatasetRecord

log = logging.getLogger(__name__)


def _marker(key: str) -> dict[str, object]:
    return {"event_type": ids.MARKER_EVENT_TYPE, "event_payload": {"key": key}}


class SlackNotifier:
    """The Notifier port, posting through one WebClient (with rate-limit retries)."""

    def __init__(self, *, client: WebClient) -> None:
        self._client = client

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

    def post_text(self, *, channel: str, thread_ts: str | None, text: str) -> str:
        """Post a plain message (in the thread when given); returns its ts."""
        response = self._client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
        return str(response["ts"])

    def update_text(self, *, channel: str, ts: str, text: str) -> None:
        """Replace a message's text."""
        self._client.chat_update(channel=channel, ts=ts, text=text, blocks=[])

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
        unit = "item" if dataset.name.lower().endswith(".json") else "line"
        blocks = dataset_report_blocks(
            name=dataset.name, report=report, file_id=dataset.slack_file_id, unit=unit
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


class SlackJobNotifier(SlackNotifier):
    """The JobNotifier port: job posts, approval requests and errors in the dataset's thread."""

    def post_job(
        self, *, job: JobRecord, dataset: DatasetRecord, snapshot: JobSnapshot, epochs: int
    ) -> str:
        """The job in the dataset's thread, with a Cancel button; returns its ts."""
        blocks, text = job_blocks(job=job, dataset=dataset, snapshot=snapshot, epochs=epochs)
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
        blocks, text = approval_blocks(job=job, dataset=dataset, threshold=threshold, epochs=epochs)
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

    def post_job_error(self, *, job: JobRecord, text: str, retry: bool) -> None:
        """A start that failed, in the thread, with a Retry button when it may help."""
        blocks, message = error_blocks(job=job, text=text, retry=retry)
        self._client.chat_postMessage(
            channel=job.channel_id, thread_ts=job.thread_ts, text=message, blocks=blocks
        )
