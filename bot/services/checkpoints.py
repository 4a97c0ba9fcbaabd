"""A job's checkpoint list and the marks on its chart, from what the store and its backend know."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.checkpoints import CheckpointList, checkpoint_rows, epoch_ends, job_title
from bot.core.jobs import Checkpoint
from bot.core.watch import MetricRow, metrics_from_dict
from bot.services.backends import Backends
from bot.services.job_plan import job_epochs
from storage.fine_tuned import ModelRepository
from storage.jobs import JobRecord, JobRepository
from storage.repositories import DatasetRecord, DatasetRepository


@dataclass(frozen=True, slots=True)
class ChartMarks:
    """What the loss chart is titled and marks: checkpoint steps and where epochs end."""

    title: str
    checkpoints: tuple[int, ...]
    epoch_ends: tuple[int, ...]


class CheckpointLists:
    """Builds the checkpoint list of a stored job and the marks on its chart."""

    def __init__(
        self,
        *,
        jobs: JobRepository,
        models: ModelRepository,
        datasets: DatasetRepository,
        backends: Backends,
    ) -> None:
        self._jobs = jobs
        self._models = models
        self._datasets = datasets
        self._backends = backends

    def listing(
        self,
        job: JobRecord,
        *,
        final_model: str | None = None,
        checkpoints: Sequence[Checkpoint] | None = None,
    ) -> CheckpointList:
        """The list as it stands now: the backend's checkpoints (read unless given), the final
        model with the job's last figures, the current choice and who made it."""
        final = final_model if final_model is not None else (job.fine_tuned_model or "")
        if checkpoints is None:
            checkpoints = self._backends.get(job.backend).checkpoints(job.remote_id or "")
        dataset = self._dataset(job)
        stored, _ = self._jobs.snapshot_of(job.id)
        record = self._models.get(final) if final else None
        chosen = record.chosen if record and not record.deleted else None
        epochs = self._epochs(job, dataset)
        rows = checkpoint_rows(
            checkpoints=checkpoints,
            final_model=final,
            final_metrics=metrics_from_dict((stored or {}).get("metrics")),
            chosen=chosen,
            epochs=epochs,
        )
        current = next((row for row in rows if row.current), None)
        chosen_by = record.chosen_by if record and current and current.model == chosen else None
        return CheckpointList(
            job_id=job.remote_id or "",
            title=self.title(job, dataset),
            rows=rows,
            epochs=epochs,
            chosen=chosen if current and current.model == chosen else None,
            chosen_by=chosen_by,
        )

    def chart_marks(
        self, job: JobRecord, rows: Sequence[MetricRow], checkpoints: Sequence[Checkpoint]
    ) -> ChartMarks:
        """The chart's title (dataset and suffix), its checkpoints' steps and epoch ends."""
        dataset = self._dataset(job)
        stored, _ = self._jobs.snapshot_of(job.id)
        total = metrics_from_dict((stored or {}).get("metrics")).total_steps
        total = total or max((row.step for row in rows), default=0)
        return ChartMarks(
            title=self.title(job, dataset),
            checkpoints=tuple(sorted({c.step for c in checkpoints if c.step > 0})),
            epoch_ends=tuple(epoch_ends(total, self._epochs(job, dataset))),
        )

    def title(self, job: JobRecord, dataset: DatasetRecord | None = None) -> str:
        """`sports_chat.jsonl · acc` (the job's id when it has no dataset)."""
        dataset = dataset or self._dataset(job)
        return job_title(
            dataset=dataset.name if dataset else None,
            suffix=job.suffix,
            job_id=job.remote_id or "",
        )

    def _dataset(self, job: JobRecord) -> DatasetRecord | None:
        return self._datasets.by_id(job.dataset_id) if job.dataset_id else None

    @staticmethod
    def _epochs(job: JobRecord, dataset: DatasetRecord | None) -> int | None:
        """The epochs the job trains: as asked, else the backend's default for its dataset."""
        if dataset is not None:
            return job_epochs(job, dataset)
        given = (job.hyperparameters or {}).get("n_epochs")
        return given if isinstance(given, int) and given > 0 else None
