"""The report's *Check content* button (product §11): every example's text through OpenAI's
moderation endpoint, with progress in the dataset's thread and the flagged examples by line.

A click re-checks that the clicker may see the dataset (§6). The check is claimed in the store
before anything is sent, once per dataset: a double click, a retried delivery or a click after
it finished gets a pointer to the thread, not a second run. A finished check of the same content
(another upload of the same file) is reused without calling the endpoint. A failure is stored
with what was found so far; the next click takes the check again.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.core.access import Viewer
from bot.core.datasets import is_document, iter_records
from bot.core.message import Message, say
from bot.core.moderation import MODEL, batches, pieces, should_report, tally
from bot.services import content_text
from bot.services.errors import UserError
from bot.services.moderation_runner import run_batches
from bot.services.ports import Clock, DownloadRefused, FileSource, Moderator, ThreadPoster
from bot.services.reported import reported_dataset
from storage.content_checks import DONE, FAILED, Claim, ContentCheckRecord, ContentCheckRepository
from storage.repositories import DatasetRecord, DatasetRepository

log = logging.getLogger(__name__)

CONCURRENCY = 4  # requests at once: the endpoint is free but rate-limited per minute
LEASE = dt.timedelta(minutes=10)  # a running check that stopped moving this long is taken over
FAILED_TEXT = "something went wrong on our side (the error is logged)"


@dataclass(frozen=True, slots=True)
class Requested:
    """A click's outcome: the dataset and its check; `started`: this click runs it."""

    dataset: DatasetRecord
    check: ContentCheckRecord
    started: bool


class ContentCheckService:
    """Content checks of datasets shared in the chat."""

    def __init__(
        self,
        *,
        datasets: DatasetRepository,
        checks: ContentCheckRepository,
        files: FileSource,
        moderator: Moderator | None,
        notifier: ThreadPoster,
        clock: Clock,
        max_bytes: int,
        concurrency: int = CONCURRENCY,
        model: str = MODEL,
    ) -> None:
        self._datasets = datasets
        self._checks = checks
        self._files = files
        self._moderator = moderator
        self._notifier = notifier
        self._clock = clock
        self._max_bytes = max_bytes
        self._concurrency = concurrency
        self._model = model

    def request(self, *, viewer: Viewer, slack_file_id: str) -> Requested:
        """Claim the dataset's check for this click (or find the one that runs or ran)."""
        dataset = reported_dataset(self._datasets, viewer=viewer, slack_file_id=slack_file_id)
        if self._moderator is None:
            raise UserError(content_text.NO_KEY)
        claim: Claim = self._checks.claim(
            dataset_id=dataset.id,
            sha256=dataset.sha256,
            model=self._model,
            requester_id=viewer.user_id,
            channel_id=dataset.channel_id,
            now=self._clock.now(),
            lease=LEASE,
        )
        return Requested(dataset, claim.check, claim.taken)

    def pointer(self, requested: Requested) -> Message:
        """What a click on a check that runs or already ran answers (no second run)."""
        return content_text.pointer_text(requested.dataset.name, requested.check)

    def run(self, requested: Requested) -> None:
        """Run a claimed check to its end: progress in the thread, then the result in its place.
        Never raises: a failure is stored and shown, and the next click tries again."""
        dataset, check = requested.dataset, requested.check
        ts = check.message_ts
        try:
            ts = self._show(dataset, check, ts, content_text.reading_text(dataset.name))
            reused = (
                self._checks.finished_for(sha256=dataset.sha256, model=self._model)
                if dataset.sha256
                else None
            )
            if reused is not None:  # the same content was checked already: no second call
                self._reuse(check, reused)
                self._show(dataset, check, ts, content_text.stored_result(dataset.name, reused))
                return
            self._check(dataset, check, ts)
        except Exception as error:
            if not isinstance(error, DownloadRefused):
                log.exception("content check of dataset %s failed", dataset.id)
            reason = say(str(error)) if isinstance(error, DownloadRefused) else say(FAILED_TEXT)
            self._fail(dataset, check, ts, reason)

    def _check(self, dataset: DatasetRecord, check: ContentCheckRecord, ts: str) -> None:
        moderator = self._moderator
        assert moderator is not None  # request() refused the click without one
        with tempfile.TemporaryDirectory(prefix="ftbot-moderate-") as tmp:
            path = self._download(dataset, Path(tmp))
            document = is_document(path)
            counts = tally(iter_records(path, document=document))
            total, skipped = counts.checkable, counts.unreadable + counts.empty
            self._checks.progress(check_id=check.id, total=total, checked=0, now=self._clock.now())
            self._show(dataset, check, ts, self._progress(dataset, 0, total))
            shown, at = [0], [time.monotonic()]  # the last edit: examples done, and when

            def progress(done: int) -> None:
                if should_report(shown[0], done, total, time.monotonic() - at[0]):
                    shown[0], at[0] = done, time.monotonic()
                    now = self._clock.now()
                    self._checks.progress(check_id=check.id, total=total, checked=done, now=now)
                    self._show(dataset, check, ts, self._progress(dataset, done, total))

            outcome = run_batches(
                batches(pieces(iter_records(path, document=document))),
                lambda texts: moderator.moderate(texts, model=self._model),
                concurrency=self._concurrency,
                progress=progress,
            )
        unit = "item" if document else "line"
        flagged = [(flag.line, flag.categories) for flag in outcome.flags]
        error = outcome.error.explained if outcome.error else None
        self._checks.finish(
            check_id=check.id,
            status=FAILED if error else DONE,
            total=total,
            checked=outcome.checked,
            skipped=skipped,
            flagged=flagged,
            unit=unit,
            error=str(outcome.error) if outcome.error else None,
            now=self._clock.now(),
        )
        text = content_text.result_text(
            dataset.name,
            model=self._model,
            total=total,
            checked=outcome.checked,
            skipped=skipped,
            flags=outcome.flags,
            flagged_count=len(outcome.flags),
            unit=unit,
            error=error,
        )
        self._show(dataset, check, ts, text)
        log.info(
            "content check of dataset %s: %d requests, %d/%d examples, %d flagged%s",
            dataset.id,
            outcome.requests,
            outcome.checked,
            total,
            len(outcome.flags),
            " (stopped)" if error else "",
        )

    def _progress(self, dataset: DatasetRecord, done: int, total: int) -> Message:
        return content_text.progress_text(dataset.name, model=self._model, done=done, total=total)

    def _download(self, dataset: DatasetRecord, directory: Path) -> Path:
        remote = self._files.info(dataset.slack_file_id, dataset.channel_id)
        # A fixed name (the file's own may be hostile); the suffix tells a JSON array apart.
        suffix = ".json" if remote.name.lower().endswith(".json") else ".jsonl"
        path = directory / f"dataset{suffix}"
        self._files.download(remote, path, max_bytes=self._max_bytes)
        return path

    def _show(
        self, dataset: DatasetRecord, check: ContentCheckRecord, ts: str | None, text: Message
    ) -> str:
        """Post the check's message in the dataset's thread the first time, then edit it."""
        if ts:
            self._notifier.update_text(channel=dataset.channel_id, ts=ts, text=text)
            return ts
        ts = self._notifier.post_text(
            channel=dataset.channel_id, thread_ts=dataset.thread_ts, text=text
        )
        self._checks.set_message(check_id=check.id, ts=ts, now=self._clock.now())
        return ts

    def _reuse(self, check: ContentCheckRecord, found: ContentCheckRecord) -> None:
        """Store a finished check of the same content as this dataset's result."""
        self._checks.finish(
            check_id=check.id,
            status=DONE,
            total=found.total,
            checked=found.checked,
            skipped=found.skipped,
            flagged=list(found.flagged),
            unit=found.unit,
            error=None,
            now=self._clock.now(),
        )

    def _fail(
        self, dataset: DatasetRecord, check: ContentCheckRecord, ts: str | None, reason: Message
    ) -> None:
        """Store the failure (the next click takes the check again) and say so, if we can."""
        try:
            stored = self._checks.get(dataset_id=dataset.id) or check
            self._checks.finish(
                check_id=check.id,
                status=FAILED,
                total=stored.total,
                checked=0,
                skipped=stored.skipped,
                flagged=[],
                unit=stored.unit,
                error=str(reason),
                now=self._clock.now(),
            )
            stop = "" if str(reason).rstrip().endswith((".", "!", "?")) else "."
            text = say(
                "⚠️ ",
                content_text.head(dataset.name),
                " did not finish: ",
                reason,
                f"{stop} ",
                content_text.AGAIN,
            )
            self._show(dataset, check, ts or stored.message_ts, text)
        except Exception:
            log.exception("content check of dataset %s: could not report the failure", dataset.id)
