"""Ports: what services need from the outside world, implemented by adapters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bot.core.jobs import JobSnapshot
from bot.core.reports import DatasetReport
from storage.jobs import JobRecord
from storage.repositories import DatasetRecord


class Clock(Protocol):
    """The current time (injected so tests can fix it)."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """Wall-clock UTC time."""

    def now(self) -> dt.datetime:
        """Now, in UTC."""
        return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """A file shared in the chat, as the chat service describes it."""

    id: str
    name: str
    size: int
    filetype: str
    user_id: str
    download_url: str
    thread_ts: str | None  # the message that shared it in the channel, if known


class DownloadRefused(Exception):
    """The file cannot be fetched (too large, foreign host…); the message is for the user."""


class FileSource(Protocol):
    """Where shared files come from."""

    def info(self, file_id: str, channel_id: str) -> RemoteFile: ...

    def download(
        self,
        file: RemoteFile,
        dest: Path,
        *,
        max_bytes: int,
        progress: Callable[[int], None] | None = None,
    ) -> str:
        """Stream the file to `dest`; return its sha256 hex digest."""
        ...


@dataclass(frozen=True, slots=True)
class SharedFile:
    """A file someone else shared in a conversation the bot is in, as the catch-up lists it."""

    id: str
    name: str
    user_id: str
    channel_id: str
    created: dt.datetime


class RecentFiles(Protocol):
    """Files shared lately where the bot is a member (found again after lost events)."""

    def shared_between(self, *, oldest: dt.datetime, latest: dt.datetime) -> list[SharedFile]:
        """Files created in [oldest, latest] in the bot's conversations, not the bot's own."""
        ...


class Notifier(Protocol):
    """How the bot talks back in the chat."""

    def react(self, *, channel: str, ts: str, name: str) -> None: ...

    def unreact(self, *, channel: str, ts: str, name: str) -> None: ...

    def post_text(self, *, channel: str, thread_ts: str | None, text: str) -> str: ...

    def update_text(self, *, channel: str, ts: str, text: str) -> None: ...

    def find_marked(self, *, channel: str, thread_ts: str, key: str) -> str | None:
        """The ts of a message in the thread carrying `key` in its metadata, if any."""
        ...

    def post_dataset_report(
        self,
        *,
        channel: str,
        thread_ts: str | None,
        dataset: DatasetRecord,
        report: DatasetReport,
        key: str,
        replace_ts: str | None = None,
    ) -> str: ...


class JobNotifier(Protocol):
    """How job requests and jobs are announced in the dataset's thread."""

    def post_job(
        self, *, job: JobRecord, dataset: DatasetRecord, snapshot: JobSnapshot, epochs: int
    ) -> str: ...

    def post_approval_request(
        self, *, job: JobRecord, dataset: DatasetRecord, threshold: float, epochs: int
    ) -> str: ...

    def mark_approved(
        self, *, job: JobRecord, dataset: DatasetRecord, approver_id: str
    ) -> None: ...

    def post_job_error(self, *, job: JobRecord, text: str, retry: bool) -> None: ...

    def post_text(self, *, channel: str, thread_ts: str | None, text: str) -> str: ...


class WatchNotifier(Protocol):
    """How a watched job talks in its thread."""

    def update_status(
        self, *, job: JobRecord, dataset_name: str, view: str, finished: bool
    ) -> None: ...

    def post_in_thread(
        self, *, job: JobRecord, text: str, key: str, broadcast: bool = False
    ) -> str: ...

    def upload_chart(self, *, job: JobRecord, png: bytes, title: str) -> str | None: ...

    def post_checkpoints(
        self, *, job: JobRecord, checkpoints: list[dict[str, Any]], final_model: str, key: str
    ) -> str: ...

    def find_marked(self, *, channel: str, thread_ts: str, key: str) -> str | None: ...
