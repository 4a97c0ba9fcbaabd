"""Dataset doctor in the chat: the report's Fix it and Split buttons.

Each click re-checks that the clicker may see the dataset (product §6), runs once per dataset
however often it is clicked (a claim under a unique key, released when the work fails before
anything is posted), uploads the result into the dataset's thread and takes the uploaded files
in as datasets of that conversation, owned by the clicker, so each gets its own report.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.core.access import Viewer
from bot.core.doctor import CannotFix, Repair, change_text, repair, summary_text
from bot.core.message import Code, Mention, Message, Text, say
from bot.core.models import ModelInfo, UnknownModelError, resolve_model
from bot.core.split import (
    DEFAULT_SEED,
    DEFAULT_VALIDATION,
    CannotSplit,
    fixed_name,
    part_names,
    split,
)
from bot.report_models import ReportModels
from bot.services.datasets import DatasetIntake
from bot.services.deliveries import Deliveries
from bot.services.errors import UserError
from bot.services.ports import Clock, FileSource, UploadNotifier
from bot.services.reported import reported_dataset
from storage.repositories import DatasetRecord, DatasetRepository

log = logging.getLogger(__name__)

SHOWN_LINES = 20  # line numbers per change in the thread (the count is always exact)


class DoctorService:
    """Fix and Split for datasets shared in the chat."""

    def __init__(
        self,
        *,
        datasets: DatasetRepository,
        files: FileSource,
        notifier: UploadNotifier,
        intake: DatasetIntake,
        deliveries: Deliveries,
        clock: Clock,
        models: Callable[[dt.date], ReportModels],
        max_bytes: int,
    ) -> None:
        self._datasets = datasets
        self._files = files
        self._notifier = notifier
        self._intake = intake
        self._deliveries = deliveries
        self._clock = clock
        self._models = models
        self._max_bytes = max_bytes

    def dataset(self, *, viewer: Viewer, slack_file_id: str) -> DatasetRecord:
        """The reported dataset of that file, if the viewer may see it (else one refusal)."""
        return reported_dataset(self._datasets, viewer=viewer, slack_file_id=slack_file_id)

    def fix(self, *, viewer: Viewer, slack_file_id: str, over_limit: str) -> Message | None:
        """Repair the dataset and upload `<name>.fixed.jsonl` to its thread (once per dataset).

        Returns a line for the clicker alone when nothing was uploaded.
        """
        dataset = self.dataset(viewer=viewer, slack_file_id=slack_file_id)
        key = f"doctor:fix:{dataset.slack_file_id}"
        if not self._deliveries.first_time(key):
            raise UserError(
                say(Code(dataset.name), " is already fixed (or being fixed): see its thread.")
            )
        name = fixed_name(dataset.name)
        try:
            with tempfile.TemporaryDirectory(prefix="ftbot-fix-") as tmp:
                source = self._download(dataset, Path(tmp))
                target = Path(tmp) / "fixed.jsonl"
                with target.open("wb") as out:
                    try:
                        result = repair(
                            source, out, model=self._model(dataset), over_limit=over_limit
                        )
                    except CannotFix as error:
                        raise UserError(
                            say("I can't fix ", Code(dataset.name), f": {error}.")
                        ) from None
                if not result.changed or result.kept == 0:
                    self._deliveries.forget(key)
                    return _nothing_uploaded(dataset, result)
                uploaded = self._notifier.upload_files(
                    channel=dataset.channel_id,
                    thread_ts=dataset.thread_ts,
                    files=[(target, name)],
                    comment=_fixed_text(viewer, dataset, name, result),
                )
        except BaseException:
            self._deliveries.forget(key)
            raise
        self._take(uploaded, dataset, viewer)
        return None

    def split(self, *, viewer: Viewer, slack_file_id: str) -> None:
        """Upload `<name>.train.jsonl` and `<name>.validation.jsonl` to the thread (once)."""
        dataset = self.dataset(viewer=viewer, slack_file_id=slack_file_id)
        if not dataset.valid:
            raise UserError("Only a dataset that is ready to train can be split: fix it first.")
        key = f"doctor:split:{dataset.slack_file_id}"
        if not self._deliveries.first_time(key):
            raise UserError(
                say(Code(dataset.name), " is already split (or being split): see its thread.")
            )
        train_name, validation_name = part_names(dataset.name)
        try:
            with tempfile.TemporaryDirectory(prefix="ftbot-split-") as tmp:
                source = self._download(dataset, Path(tmp))
                train, validation = Path(tmp) / "train.jsonl", Path(tmp) / "validation.jsonl"
                with train.open("wb") as t, validation.open("wb") as v:
                    try:
                        result = split(source, t, v, share=DEFAULT_VALIDATION, seed=DEFAULT_SEED)
                    except CannotSplit as error:
                        raise UserError(
                            say("I can't split ", Code(dataset.name), f": {error}.")
                        ) from None
                text = say(
                    Mention(viewer.user_id),
                    " split ",
                    Code(dataset.name),
                    f" (seed {result.seed}): ",
                    Code(train_name),
                    f" with {result.training:,} examples for training and ",
                    Code(validation_name),
                    f" with {result.validation:,} held out for validation. Each gets its own "
                    "report; the training part's *Start fine-tuning…* form picks the "
                    "validation part.",
                )
                # Validation first: its report is ready before anyone opens the training form.
                uploaded = self._notifier.upload_files(
                    channel=dataset.channel_id,
                    thread_ts=dataset.thread_ts,
                    files=[(validation, validation_name), (train, train_name)],
                    comment=text,
                )
        except BaseException:
            self._deliveries.forget(key)
            raise
        self._take(uploaded, dataset, viewer)

    def _download(self, dataset: DatasetRecord, directory: Path) -> Path:
        remote = self._files.info(dataset.slack_file_id, dataset.channel_id)
        path = directory / "source"
        path.mkdir()
        path = path / Path(remote.name).name
        self._files.download(remote, path, max_bytes=self._max_bytes)
        return path

    def _model(self, dataset: DatasetRecord) -> ModelInfo:
        """The model the dataset's report judged the token limit for (else today's default)."""
        report: dict[str, Any] = dataset.report or {}
        try:
            return resolve_model(str(report.get("model")), report.get("backend") or None)
        except UnknownModelError:
            return self._models(self._clock.now().date()).model

    def _take(self, uploaded: list[str], dataset: DatasetRecord, viewer: Viewer) -> None:
        """Report on the bot's own uploads as datasets of the conversation, owned by the clicker
        (the bot ignores its own file events)."""
        for file_id in uploaded:
            self._intake.file_shared(
                file_id=file_id,
                channel_id=dataset.channel_id,
                user_id=viewer.user_id,
                message_ts=dataset.thread_ts,
            )


def over_limit_count(dataset: DatasetRecord) -> int:
    """How many examples of the dataset its report found over the token limit."""
    warnings = (dataset.report or {}).get("warnings")
    warning = warnings.get("over_token_limit") if isinstance(warnings, dict) else None
    count = warning.get("count") if isinstance(warning, dict) else None
    return count if isinstance(count, int) else 0


def _fixed_text(viewer: Viewer, dataset: DatasetRecord, name: str, result: Repair) -> Message:
    changes = "\n".join(f"• {change_text(c, result, SHOWN_LINES)}" for c in result.changes)
    return say(
        Mention(viewer.user_id),
        " fixed ",
        Code(dataset.name),
        " into ",
        Code(name),
        f": {summary_text(result)}\n",
        Text(changes),
        "\nIt gets its own report below.",
    )


def _nothing_uploaded(dataset: DatasetRecord, result: Repair) -> Message:
    if not result.changed:
        return say(
            "Nothing to fix in ",
            Code(dataset.name),
            ": no example needs removing or changing.",
        )
    changes = "\n".join(f"• {change_text(c, result, SHOWN_LINES)}" for c in result.changes)
    return say(
        "Fixing ",
        Code(dataset.name),
        " would remove every example, so I uploaded nothing:\n",
        Text(changes),
    )
