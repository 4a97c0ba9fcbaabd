"""Ports: what services need from the outside world, implemented by adapters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bot.core.backend_names import backend_name
from bot.core.checkpoints import CheckpointList
from bot.core.jobs import (
    Checkpoint,
    JobSnapshot,
    ServiceError,
    not_configured,
)
from bot.core.message import Message
from bot.core.moderation import Verdict
from bot.core.reports import DatasetReport
from bot.core.status import StatusView
from bot.core.watch import Event
from storage.evaluations import HoldoutRecord
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
    in_dm: bool = False  # shared in a direct conversation with the bot


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

    def post_text(self, *, channel: str, thread_ts: str | None, text: Message) -> str: ...

    def update_text(self, *, channel: str, ts: str, text: Message) -> None: ...

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
        self,
        *,
        job: JobRecord,
        dataset: DatasetRecord,
        snapshot: JobSnapshot,
        epochs: int,
        holdout: HoldoutRecord | None = None,
    ) -> str: ...

    def post_approval_request(
        self, *, job: JobRecord, dataset: DatasetRecord, threshold: float, epochs: int
    ) -> str: ...

    def mark_approved(
        self, *, job: JobRecord, dataset: DatasetRecord, approver_id: str
    ) -> None: ...

    def mark_declined(
        self, *, job: JobRecord, dataset: DatasetRecord | None, decliner_id: str
    ) -> None: ...

    def post_job_error(
        self, *, job: JobRecord, text: Message, retry: bool, elsewhere: tuple[str, ...] = ()
    ) -> None: ...

    def post_text(self, *, channel: str, thread_ts: str | None, text: Message) -> str: ...


class WatchNotifier(Protocol):
    """How a watched job talks in its thread."""

    def update_status(self, *, job: JobRecord, view: StatusView) -> None: ...

    def post_in_thread(
        self, *, job: JobRecord, text: Message, key: str, broadcast: bool = False
    ) -> str: ...

    def post_outcome(
        self, *, job: JobRecord, text: Message, key: str, model: str | None, broadcast: bool
    ) -> str: ...

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
    ) -> str | None: ...

    def post_checkpoints(self, *, job: JobRecord, listing: CheckpointList, key: str) -> str: ...

    def update_checkpoints(self, *, job: JobRecord, listing: CheckpointList, ts: str) -> None: ...

    def find_marked(self, *, channel: str, thread_ts: str, key: str) -> str | None: ...


class FineTuningBackend(Protocol):
    """A fine-tuning provider: files, jobs, events, checkpoints, models and chat completions.

    Every failure is a ServiceError whose `kind` says what the bot may offer next."""

    configured: bool

    def upload(self, path: Path, *, name: str) -> str: ...

    def create_job(self, *, metadata: dict[str, str], **params: Any) -> JobSnapshot: ...

    def find_job(self, *, key: str, value: str) -> JobSnapshot | None: ...

    def retrieve(self, job_id: str) -> JobSnapshot: ...

    def act(self, action: str, job_id: str) -> JobSnapshot: ...

    def events(
        self, job_id: str, *, after: str | None = None, limit: int = 50
    ) -> tuple[list[Event], bool]: ...

    def checkpoints(self, job_id: str) -> list[Checkpoint]: ...

    def file_content(self, file_id: str) -> bytes: ...

    def chat(self, *, model: str, messages: list[dict[str, Any]]) -> tuple[str, int, int]: ...

    def chat_with_tools(
        self, *, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> dict[str, Any]: ...

    def delete_model(self, name: str) -> bool: ...


class UploadNotifier(Protocol):
    """Uploads files into a conversation's thread (the dataset doctor's results)."""

    def upload_files(
        self,
        *,
        channel: str,
        thread_ts: str | None,
        files: list[tuple[Path, str]],
        comment: Message,
    ) -> list[str]:
        """Upload each (path, file name) in one message with `comment`; their file ids, in order."""
        ...


class NotConfigured:
    """A backend that is not configured (`backend`: its contract name; None: no backend at all):
    every call says so, naming it and its key variable (one path for that answer)."""

    configured = False

    def __init__(self, backend: str | None = None) -> None:
        self.backend = backend

    def _refuse(self, *_: Any, **__: Any) -> Any:
        title = backend_name(self.backend) if self.backend else ""
        raise ServiceError("not_configured", not_configured(self.backend), backend=title)

    upload = create_job = find_job = retrieve = act = events = _refuse
    checkpoints = file_content = chat = chat_with_tools = delete_model = _refuse


class Moderator(Protocol):
    """A moderation endpoint (the content check, product §11). Failures are ServiceError."""

    def moderate(self, texts: list[str], *, model: str) -> list[Verdict]:
        """One verdict per text, in order, from one request."""
        ...


class ThreadPoster(Protocol):
    """A message in a thread that is posted once and then edited in place (progress lines)."""

    def post_text(self, *, channel: str, thread_ts: str | None, text: Message) -> str: ...

    def update_text(self, *, channel: str, ts: str, text: Message) -> None: ...
