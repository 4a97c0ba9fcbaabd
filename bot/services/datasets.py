"""Dataset intake: one report per shared file, whatever Slack retries or replicas do."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

from bot.core.access import Viewer, may_see
from bot.core.message import Code, Message, say
from bot.core.reports import DatasetReport, megabytes
from bot.core.validation import analyze
from bot.report_models import ReportModels
from bot.services.ports import (
    Clock,
    DownloadRefused,
    FileSource,
    Notifier,
    RecentFiles,
    RemoteFile,
)
from storage.catchup import CatchupRepository
from storage.db import unreachable
from storage.repositories import DatasetRecord, DatasetRepository

log = logging.getLogger(__name__)

DATASET_SUFFIXES = (".jsonl", ".json")
WORKING, READY, NEEDS_FIXES, FAILED = "hourglass_flowing_sand", "white_check_mark", "warning", "x"
CLAIM_LEASE = dt.timedelta(minutes=10)
LARGE_FILE = 20 * 1024 * 1024  # above this, a progress message is kept up to date
PROGRESS_EVERY_S = 3.0
# Catch-up: files whose events were lost (bot or database down) are found again in Slack, but
# never older than the window, nor shared before this database first saw the bot run.
CATCHUP_WINDOW = dt.timedelta(hours=24)
CATCHUP_OVERLAP = dt.timedelta(minutes=10)  # Slack's clock vs ours; files listed late


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
        models: Callable[[dt.date], ReportModels],
        max_bytes: int,
        recent: RecentFiles | None = None,
        marks: CatchupRepository | None = None,
    ) -> None:
        self._repo = repo
        self._files = files
        self._notifier = notifier
        self._clock = clock
        self._executor = executor
        self._models = models  # the models a report on `today` estimates for
        self._max_bytes = max_bytes
        self._recent = recent
        self._marks = marks
        self._lock = threading.Lock()
        self._behind = False  # an outage made us miss something: catch up once it is over
        self._outages = 0  # operations failed by an outage (a pass clears `_behind` if none new)
        self._interrupted: dict[str, tuple[str, str | None]] = {}  # file -> (channel, ts)
        self._failing: set[str] = set()  # housekeeping steps failing (logged once each)

    def file_shared(
        self, *, file_id: str, channel_id: str, user_id: str, message_ts: str | None
    ) -> bool:
        """Take a shared file for reporting (once) and process it in the background.

        With the database down the file is left to the catch-up (Slack does not redeliver an
        acked event); one warning is logged per outage.
        """
        try:
            return self._take(file_id, channel_id, user_id, message_ts)
        except Exception as error:
            if not unreachable(error):
                raise
            self._outage(error, f"{file_id} will be reported when it is back")
            return False

    def _take(self, file_id: str, channel_id: str, user_id: str, message_ts: str | None) -> bool:
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

    def record_start(self) -> None:
        """Remember when this database first saw the bot run (the catch-up never reaches earlier)."""
        if self._marks is not None:
            self._marks.first_run(now=self._clock.now())

    def catch_up(self) -> int:
        """Take the files whose events were lost: shared since the last complete pass (minus an
        overlap) in the bot's conversations, within the window and after the first run."""
        if self._recent is None or self._marks is None:
            return 0
        now = self._clock.now()
        since = max(now - CATCHUP_WINDOW, self._marks.first_run(now=now))
        mark = self._marks.caught_up_to()
        if mark is not None:
            since = max(since, mark - CATCHUP_OVERLAP)
        since = since.replace(microsecond=0)  # Slack's `created` is in whole seconds
        found = [
            file
            for file in self._recent.shared_between(oldest=since, latest=now)
            if file.created >= since and is_dataset_name(file.name)
        ]
        known = self._marks.known(slack_file_ids=[file.id for file in found])
        taken = sum(
            self._take(file.id, file.channel_id, file.user_id, None)  # ts: the share's, later
            for file in found
            if file.id not in known
        )
        self._marks.advance(to=now, now=self._clock.now())
        if taken:
            log.info("catch-up: %d file(s) shared while their events were lost", taken)
        return taken

    def housekeep(self) -> None:
        """At start and every minute: resume checks cut short by a crash or an outage, catch up."""
        with self._lock:
            outages = self._outages
        complete = True
        for step in (self.resume_stale, self.catch_up, self._resume_interrupted):
            name = step.__name__
            try:
                step()
            except Exception as error:
                if unreachable(error):
                    self._outage(error, "catching up when it is back")
                    return
                if name not in self._failing:  # one traceback per failing streak, not a minute
                    log.exception("housekeeping step %s failed", name)
                self._failing.add(name)
                complete = False
                continue
            self._failing.discard(name)
        with self._lock:
            recovered = complete and self._behind and self._outages == outages
            if recovered:
                self._behind = False
        if recovered:
            log.info("database reachable again; files shared meanwhile are caught up")

    def recover(self) -> None:
        """Soon after an outage: housekeep as soon as the database answers (no-op otherwise)."""
        if self._behind:
            self.housekeep()

    def _resume_interrupted(self) -> None:
        with self._lock:
            pending, self._interrupted = self._interrupted, {}
        for file_id, (channel_id, message_ts) in pending.items():
            self._executor.submit(self._guarded, file_id, channel_id, message_ts)

    def _outage(self, error: BaseException, consequence: str) -> None:
        with self._lock:
            first, self._behind = not self._behind, True
            self._outages += 1
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:200]
        level = logging.WARNING if first else logging.DEBUG
        log.log(level, "database unreachable (%s); %s", reason, consequence)

    def process(self, file_id: str, channel_id: str, message_ts: str | None) -> None:
        """Fetch, validate, store and report one claimed file."""
        remote = self._files.info(file_id, channel_id)
        thread_ts = message_ts or remote.thread_ts
        self._repo.describe(
            slack_file_id=file_id,
            name=remote.name,
            size_bytes=remote.size,
            thread_ts=thread_ts,
            now=self._clock.now(),
        )
        if not is_dataset_name(remote.name):
            self._repo.ignore(slack_file_id=file_id, now=self._clock.now())
            if remote.in_dm:  # in a channel other files are none of the bot's business
                self._notifier.post_text(
                    channel=channel_id,
                    thread_ts=thread_ts,
                    text=say(
                        "I only read fine-tuning datasets (`.jsonl`, or `.json` holding an "
                        "array); ",
                        Code(remote.name),
                        " is not one, so I left it alone.",
                    ),
                )
            return
        if thread_ts:
            self._notifier.react(channel=channel_id, ts=thread_ts, name=WORKING)
        progress: _Progress | None = None
        try:
            if remote.size > self._max_bytes:
                raise DownloadRefused(
                    f"it is {megabytes(remote.size, round_up=True)} MB and the limit is "
                    f"{megabytes(self._max_bytes)} MB (an admin can raise it)."
                )
            progress = _Progress(self._notifier, channel_id, thread_ts, remote)
            report, sha256 = self._validate(remote, progress)
        except DownloadRefused as refused:
            text = say("I can't check ", Code(remote.name), f": {refused}")
            self._fail(
                file_id, channel_id, thread_ts, text, replace_ts=progress.ts if progress else None
            )
            return
        dataset = self._store(file_id, report, sha256)
        self._post(dataset, report, replace_ts=progress.ts)

    def _guarded(self, file_id: str, channel_id: str, message_ts: str | None) -> None:
        try:
            self.process(file_id, channel_id, message_ts)
        except Exception as error:
            if unreachable(error):  # our claim stands: the check resumes when it is back
                with self._lock:
                    self._interrupted[file_id] = (channel_id, message_ts)
                self._outage(error, f"the check of {file_id} resumes when it is back")
                return
            log.exception("dataset %s failed", file_id)
            record = self._repo.get(slack_file_id=file_id)
            name = say(Code(record.name)) if record and record.name else say("this file")
            thread = record.thread_ts if record else message_ts
            try:
                self._fail(
                    file_id,
                    channel_id,
                    thread,
                    say(
                        "Sorry, something went wrong while checking ",
                        name,
                        ". Please upload it again in a minute; if it keeps failing, tell an admin.",
                    ),
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
            today = self._clock.now().date()
            chosen = self._models(today)
            report = analyze(path, model=chosen.model, today=today, also=chosen.also)
        return report, sha256

    def _store(self, file_id: str, report: DatasetReport, sha256: str) -> DatasetRecord:
        self._repo.store_report(
            slack_file_id=file_id,
            sha256=sha256,
            format=report.format,
            examples=report.examples,
            total_tokens=report.tokens.total,
            valid=report.valid,
            report=report.to_json(),
            now=self._clock.now(),
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
        self._repo.mark_reported(
            slack_file_id=dataset.slack_file_id, report_ts=ts, now=self._clock.now()
        )
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
        text: Message,
        *,
        replace_ts: str | None = None,
    ) -> None:
        self._repo.mark_failed(slack_file_id=file_id, error=str(text), now=self._clock.now())
        if replace_ts:
            self._notifier.update_text(channel=channel_id, ts=replace_ts, text=text)
        else:
            self._notifier.post_text(channel=channel_id, thread_ts=thread_ts, text=text)
        if thread_ts:
            self._notifier.unreact(channel=channel_id, ts=thread_ts, name=WORKING)
            self._notifier.react(channel=channel_id, ts=thread_ts, name=FAILED)

    def now(self) -> dt.datetime:
        """The service clock's time."""
        return self._clock.now()

    def channel_datasets(self, channel_id: str, viewer: Viewer) -> list[DatasetRecord]:
        """A conversation's datasets, newest first (none unless the viewer may see them)."""
        if not may_see(viewer, channel_id):
            return []
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
                text=say(
                    ":hourglass_flowing_sand: Downloading ",
                    Code(remote.name),
                    f" ({megabytes(remote.size)} MB)…",
                ),
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
            text=say(
                ":hourglass_flowing_sand: Downloading ",
                Code(self._remote.name),
                f": {share:.0%} of {megabytes(self._remote.size)} MB…",
            ),
        )

    def validating(self) -> None:
        if self.ts is not None:
            self._notifier.update_text(
                channel=self._channel,
                ts=self.ts,
                text=say(
                    ":hourglass_flowing_sand: Validating ",
                    Code(self._remote.name),
                    " and counting tokens…",
                ),
            )
