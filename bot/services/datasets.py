"""Dataset intake: one report per shared file, whatever Slack retries or replicas do."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

from bot.core.models import ModelInfo
from bot.core.reports import DatasetReport, megabytes
from bot.core.validation import analyze
from bot.services.ports import Clock, DownloadRefused, FileSource, Notifier, RemoteFile
from storage.repositories import DatasetRecord, DatasetRepository

log = logging.getLogger(__name__)

DATASET_SUFFIXES = (".jsonl", ".json")
WORKING, READY, NEEDS_FIXES, FAILED = "hourglass_flowing_sand", "white_check_mark", "warning", "x"
CLAIM_LEASE = dt.timedelta(minutes=10)
LARGE_FILE = 20 * 1024 * 1024  # above this, a progress message is kept up to date
PROGRESS_EVERY_S = 3.0


def is_dataset_name(name: str) -> bool:
    """Files the bot reports on: JSONL, or JSON holding an array of examples."""
    return name.lower().endswith(DATASET_SUFFIXES)


def report_key(slack_file_id: str) -> str:
    """The marker carried by a dataset's report message (finds it again after a crash)."""
    return f"dataset:{slack_file_id}"


class DatasetIntake:
    """Validates files shared in the chat and posts each report once, in the upload's thread."""

    def __init__(
        self,
        *,
        repo: DatasetRepository,
        files: FileSource,
        notifier: Notifier,
        clock: Clock,
        executor: Executor,
        model: Callable[[], ModelInfo],
        max_bytes: int,
    ) -> None:
        self._repo = repo
        self._files = files
        self._notifier = notifier
        self._clock = clock
        self._executor = executor
        self._model = model
        self._max_bytes = max_bytes

    def file_shared(
        self, *, file_id: str, channel_id: str, user_id: str, message_ts: str | None
    ) -> bool:
        """Take a shared file for reporting (once) and process it in the background."""
        claimed = self._repo.claim(
            slack_file_id=file_id,
            channel_id=channel_id,
            uploader_id=user_id,
            thread_ts=message_ts,
            now=self._clock.now(),
            lease=CLAIM_LEASE,
        )
        if claimed:
            self._executor.submit(self._guarded, file_id, channel_id, message_ts)
        return claimed

    def resume_stale(self) -> int:
        """Re-process files whose check was cut short by a crash (their claim ran out)."""
        resumed = 0
        for record in self._repo.stale_claims(now=self._clock.now(), lease=CLAIM_LEASE):
            if self._repo.claim(
                slack_file_id=record.slack_file_id,
                channel_id=record.channel_id,
                uploader_id=record.uploader_id,
                thread_ts=record.thread_ts,
                now=self._clock.now(),
                lease=CLAIM_LEASE,
            ):
                self._executor.submit(
                    self._guarded, record.slack_file_id, record.channel_id, record.thread_ts
                )
                resumed += 1
        return resumed

    def process(self, file_id: str, channel_id: str, message_ts: str | None) -> None:
        """Fetch, validate, store and report one claimed file."""
        remote = self._files.info(file_id, channel_id)
        thread_ts = message_ts or remote.thread_ts
        self._update(file_id, name=remote.name, size_bytes=remote.size, thread_ts=thread_ts)
        if not is_dataset_name(remote.name):
            self._update(file_id, status="ignored")
            if channel_id.startswith("D"):
                self._notifier.post_text(
                    channel=channel_id,
                    thread_ts=thread_ts,
                    text=f"I only read fine-tuning datasets (`.jsonl`, or `.json` holding an "
                    f"array); `{remote.name}` is not one, so I left it alone.",
                )
            return
        if thread_ts:
            self._notifier.react(channel=channel_id, ts=thread_ts, name=WORKING)
        progress: _Progress | None = None
        try:
            if remote.size > self._max_bytes:
                raise DownloadRefused(
                    f"it is {megabytes(remote.size, round_up=True)} MB and the limit is "
                    f"{megabytes(self._max_bytes)} MB (FTBOT_MAX_FILE_MB)."
                )
            progress = _Progress(self._notifier, channel_id, thread_ts, remote)
            report, sha256 = self._validate(remote, progress)
        except DownloadRefused as refused:
            text = f"I can't check `{remote.name}`: {refused}"
            self._fail(file_id, channel_id, thread_ts, text, replace_ts=progress and progress.ts)
            return
        dataset = self._store(file_id, report, sha256)
        self._post(dataset, report, replace_ts=progress.ts)

    def _guarded(self, file_id: str, channel_id: str, message_ts: str | None) -> None:
        try:
            self.process(file_id, channel_id, message_ts)
        except Exception:
            log.exception("dataset %s failed", file_id)
            record = self._repo.get(slack_file_id=file_id)
            name = f"`{record.name}`" if record and record.name else "this file"
            thread = record.thread_ts if record else message_ts
            try:
                self._fail(
                    file_id,
                    channel_id,
                    thread,
                    f"Sorry, something went wrong while checking {name}. "
                    "Please upload it again in a minute; if it keeps failing, tell an admin.",
                )
            except Exception:
                log.exception("could not report the failure of dataset %s", file_id)

    def _validate(self, remote: RemoteFile, progress: _Progress) -> tuple[DatasetReport, str]:
        with tempfile.TemporaryDirectory(prefix="ftbot-") as tmp:
            path = Path(tmp) / Path(remote.name).name
            sha256 = self._files.download(
                remote, path, max_bytes=self._max_bytes, progress=progress.downloaded
            )
            progress.validating()
            report = analyze(path, model=self._model(), today=self._clock.now().date())
        return report, sha256

    def _store(self, file_id: str, report: DatasetReport, sha256: str) -> DatasetRecord:
        self._update(
            file_id,
            sha256=sha256,
            format=report.format,
            examples=report.examples,
            total_tokens=report.tokens.total,
            valid=report.valid,
            report=report.to_json(),
        )
        record = self._repo.get(slack_file_id=file_id)
        assert record is not None
        return record

    def _post(
        self, dataset: DatasetRecord, report: DatasetReport, *, replace_ts: str | None
    ) -> None:
        channel, thread = dataset.channel_id, dataset.thread_ts
        key = report_key(dataset.slack_file_id)
        ts = thread and self._notifier.find_marked(channel=channel, thread_ts=thread, key=key)
        if not ts:  # not posted before a crash: post it now
            ts = self._notifier.post_dataset_report(
                channel=channel,
                thread_ts=thread,
                dataset=dataset,
                report=report,
                key=key,
                replace_ts=replace_ts,
            )
        self._update(dataset.slack_file_id, status="reported", report_ts=ts)
        if thread:
            self._notifier.unreact(channel=channel, ts=thread, name=WORKING)
            self._notifier.react(
                channel=channel, ts=thread, name=READY if report.valid else NEEDS_FIXES
            )

    def _fail(
        self,
        file_id: str,
        channel_id: str,
        thread_ts: str | None,
        text: str,
        *,
        replace_ts: str | None = None,
    ) -> None:
        self._update(file_id, status="failed", error=text)
        if replace_ts:
            self._notifier.update_text(channel=channel_id, ts=replace_ts, text=text)
        else:
            self._notifier.post_text(channel=channel_id, thread_ts=thread_ts, text=text)
        if thread_ts:
            self._notifier.unreact(channel=channel_id, ts=thread_ts, name=WORKING)
            self._notifier.react(channel=channel_id, ts=thread_ts, name=FAILED)

    def _update(self, file_id: str, **values: object) -> None:
        self._repo.update(slack_file_id=file_id, now=self._clock.now(), **values)

    def now(self) -> dt.datetime:
        """The service clock's time."""
        return self._clock.now()

    def channel_datasets(self, channel_id: str) -> list[DatasetRecord]:
        """This channel's datasets, newest first."""
        return self._repo.in_channel(channel_id=channel_id)


class _Progress:
    """A progress message for large files, edited at most every few seconds."""

    def __init__(
        self, notifier: Notifier, channel: str, thread_ts: str | None, remote: RemoteFile
    ) -> None:
        self._notifier = notifier
        self._channel = channel
        self._thread = thread_ts
        self._remote = remote
        self._last = 0.0
        self.ts: str | None = None
        if remote.size >= LARGE_FILE:
            self.ts = notifier.post_text(
                channel=channel,
                thread_ts=thread_ts,
                text=f":hourglass_flowing_sand: Downloading `{remote.name}` "
                f"({megabytes(remote.size)} MB)…",
            )

    def downloaded(self, done: int) -> None:
        now = time.monotonic()
        if self.ts is None or now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        share = done / self._remote.size if self._remote.size else 1.0
        self._notifier.update_text(
            channel=self._channel,
            ts=self.ts,
            text=f":hourglass_flowing_sand: Downloading `{self._remote.name}`: {share:.0%} "
            f"of {megabytes(self._remote.size)} MB…",
        )

    def validating(self) -> None:
        if self.ts is not None:
            self._notifier.update_text(
                channel=self._channel,
                ts=self.ts,
                text=f":hourglass_flowing_sand: Validating `{self._remote.name}` and counting "
                "tokens…",
            )
