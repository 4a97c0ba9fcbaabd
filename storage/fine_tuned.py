"""Fine-tuned models: who owns them and which checkpoint is their default."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.models import FineTunedModel
from storage.repositories import insert_for


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A fine-tuned model as stored."""

    name: str
    backend: str
    job_id: int | None
    owner_id: str
    channel_id: str
    base_model: str
    chosen: str | None
    deleted: bool
    chosen_by: str | None = None  # who chose `chosen` (a Slack user id)


class ModelRepository:
    """Models produced by jobs."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self._sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    def add(
        self,
        *,
        name: str,
        job_id: int,
        owner_id: str,
        channel_id: str,
        base_model: str,
        now: dt.datetime,
        backend: str = "openai",
    ) -> None:
        """Record a model once (per backend)."""
        stmt = (
            insert_for(self._engine, FineTunedModel)
            .values(
                name=name,
                backend=backend,
                job_id=job_id,
                owner_id=owner_id,
                channel_id=channel_id,
                base_model=base_model,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["backend", "name"])
        )
        with self._sessions.begin() as session:
            session.execute(stmt)

    def of_checkpoint(self, name: str) -> ModelRecord | None:
        """The model a name stands for: the model itself, or the model one of its checkpoints
        belongs to (OpenAI's `<model>:ckpt-step-<n>`, Together's `<model>:<n>`)."""
        candidates = [name, name.split(":ckpt-step-")[0]]
        head, _, step = name.rpartition(":")
        if head and step.isascii() and step.isdigit():
            candidates.append(head)
        for candidate in candidates:
            found = self.get(candidate)
            if found is not None:
                return found
        return None

    def get(self, name: str) -> ModelRecord | None:
        """A model by name (names do not clash across backends; the newest, if they did)."""
        with self._sessions() as session:
            row = session.scalar(
                select(FineTunedModel)
                .where(FineTunedModel.name == name)
                .order_by(FineTunedModel.created_at.desc(), FineTunedModel.id.desc())
                .limit(1)
            )
            return _record(row) if row else None

    def choose(self, *, name: str, chosen: str, now: dt.datetime, by: str | None = None) -> None:
        """Make `chosen` (a checkpoint or the final model) the model's default (`by`: who)."""
        with self._sessions.begin() as session:
            session.execute(
                update(FineTunedModel)
                .where(FineTunedModel.name == name)
                .values(chosen=chosen, chosen_by=by, updated_at=now)
            )

    def listing(self, *, channel_id: str | None = None, limit: int = 500) -> list[ModelRecord]:
        """Models that are not deleted, newest first."""
        with self._sessions() as session:
            query = (
                select(FineTunedModel)
                .where(FineTunedModel.deleted.is_(False))
                .order_by(FineTunedModel.created_at.desc(), FineTunedModel.id.desc())
                .limit(limit)
            )
            if channel_id:
                query = query.where(FineTunedModel.channel_id == channel_id)
            return [_record(row) for row in session.scalars(query)]

    def default_for_channel(self, channel_id: str) -> str | None:
        """The channel's latest chosen checkpoint, else its latest model."""
        with self._sessions() as session:
            base = select(FineTunedModel).where(
                FineTunedModel.channel_id == channel_id, FineTunedModel.deleted.is_(False)
            )
            chosen = session.scalar(
                base.where(FineTunedModel.chosen.is_not(None)).order_by(
                    FineTunedModel.updated_at.desc(), FineTunedModel.id.desc()
                )
            )
            if chosen is not None:
                return chosen.chosen
            latest = session.scalar(
                base.order_by(FineTunedModel.created_at.desc(), FineTunedModel.id.desc())
            )
            return latest.name if latest else None

    def mark_deleted(self, *, name: str, now: dt.datetime) -> None:
        """Record that the model was deleted."""
        with self._sessions.begin() as session:
            session.execute(
                update(FineTunedModel)
                .where(FineTunedModel.name == name)
                .values(deleted=True, updated_at=now)
            )


def _record(row: FineTunedModel) -> ModelRecord:
    return ModelRecord(
        name=row.name,
        backend=row.backend,
        job_id=row.job_id,
        owner_id=row.owner_id,
        channel_id=row.channel_id,
        base_model=row.base_model,
        chosen=row.chosen,
        deleted=row.deleted,
        chosen_by=row.chosen_by,
    )
