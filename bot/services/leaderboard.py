"""`/finetune leaderboard <dataset>` (product §10): every model evaluated on a dataset, on every
backend, ranked; only rows the requester may see (§6: a fine-tuned model of a conversation they
are in, or a base model); the channel's chosen model marked; who may make a row's model the
channel's model (the rules of choosing a checkpoint, re-checked on the click)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.core.access import Viewer, may_change, may_see
from bot.core.leaderboard import Standing, ranked, training_usd
from bot.services.evaluation import inference_price
from bot.services.jobs import JobService
from bot.services.models import training_price
from storage.evaluations import EvaluationRepository, ScoreRow
from storage.fine_tuned import ModelRecord, ModelRepository
from storage.jobs import JobRepository
from storage.repositories import DatasetRecord

MAX_ROWS = 40


@dataclass(frozen=True, slots=True)
class Board:
    """A dataset's leaderboard as the viewer may see it."""

    dataset: DatasetRecord
    standings: list[Standing]
    chosen: str | None  # the channel's model for `/finetune try`, if the viewer may see it
    hidden: int = 0  # rows past MAX_ROWS


class LeaderboardService:
    """Reads evaluations into a ranked board."""

    def __init__(
        self,
        *,
        evaluations: EvaluationRepository,
        models: ModelRepository,
        jobs: JobRepository,
        job_service: JobService,
    ) -> None:
        self._evaluations = evaluations
        self._models = models
        self._jobs = jobs
        self._job_service = job_service

    def _owner_of(self, row: ScoreRow, viewer: Viewer) -> tuple[bool, ModelRecord | None]:
        """(visible, the stored fine-tuned model): a model of ours the viewer may not see, or
        that was deleted, is left out; a name the bot doesn't store is a base model (public),
        unless it is an `ft:` name."""
        record = self._models.of_checkpoint(row.model)
        if record is None:
            return not row.model.startswith("ft:"), None
        return (not record.deleted and may_see(viewer, record.channel_id)), record

    def board(self, *, viewer: Viewer, dataset: str, channel_id: str) -> Board:
        """The leaderboard of a dataset the viewer may see (else the not-found answer)."""
        record = self._job_service.dataset(dataset, viewer, channel_id)
        chosen = (
            self._models.default_for_channel(channel_id) if may_see(viewer, channel_id) else None
        )
        chosen_model = self._models.of_checkpoint(chosen) if chosen else None
        rows: dict[tuple[str, str], tuple[ScoreRow, ModelRecord | None, dt.datetime]] = {}
        for run in self._evaluations.of_dataset(record.id):  # newest first: its scores count
            for row in run.scores:
                key = (row.model, row.backend)
                if key in rows or not row.cases:
                    continue
                shown, owner = self._owner_of(row, viewer)
                if shown:
                    rows[key] = (row, owner, run.created_at)
        job_ids = [owner.job_id for _, owner, _ in rows.values() if owner and owner.job_id]
        costs = {cost.job_id: cost for cost in self._jobs.costs(job_ids)} if job_ids else {}
        standings = []
        for row, owner, when in rows.values():
            cost = costs.get(owner.job_id) if owner and owner.job_id else None
            standings.append(
                Standing(
                    model=row.model,
                    backend=row.backend,
                    fine_tuned=owner is not None,
                    examples=row.cases,
                    exact=row.exact,
                    normalised=row.normalised,
                    win_rate=(row.wins + row.ties / 2) / row.graded if row.graded else None,
                    opponent=row.opponent if row.graded else None,
                    training_usd=training_usd(cost, training_price(cost.model, cost.backend))
                    if cost
                    else None,
                    price=inference_price(owner.base_model if owner else row.model, row.backend),
                    chosen=_is_chosen(row.model, chosen, chosen_model),
                    may_choose=owner is not None
                    and may_change(
                        viewer, conversation_id=owner.channel_id, owner_id=owner.owner_id
                    ),
                    evaluated_at=when,
                )
            )
        order = ranked(standings)
        return Board(record, order[:MAX_ROWS], chosen, max(0, len(order) - MAX_ROWS))


def _is_chosen(model: str, chosen: str | None, chosen_model: ModelRecord | None) -> bool:
    """The channel's model is this one, or one of this model's checkpoints."""
    if chosen is None:
        return False
    return model == chosen or (chosen_model is not None and chosen_model.name == model)
