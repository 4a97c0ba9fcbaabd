"""Deployments of fine-tuned models (Azure OpenAI serves a fine-tuned model only through one):
the one recorded per model and backend, and the claim of the one creator while it is made."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.models import ModelDeployment
from storage.repositories import insert_for


@dataclass(frozen=True, slots=True)
class DeploymentState:
    """A model's deployment on a backend: its name once recorded; `claimed` while one is made."""

    deployment: str | None
    claimed: bool


class DeploymentRepository:
    """Which deployment each model answers through, made exactly once across replicas."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self._sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    def record_existing(
        self, *, backend: str, model: str, deployment: str, now: dt.datetime
    ) -> None:
        """Record a deployment made elsewhere (it replaces any earlier one, and any claim)."""
        stmt = insert_for(self._engine, ModelDeployment).values(
            backend=backend, model=model, deployment=deployment, created_at=now, updated_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["backend", "model"],
            set_={
                "deployment": deployment,
                "deploy_claim": None,
                "deploy_claimed_at": None,
                "updated_at": now,
            },
        )
        with self._sessions.begin() as session:
            session.execute(stmt)

    def claim_creation(
        self, *, backend: str, model: str, token: str, now: dt.datetime, lease: dt.timedelta
    ) -> bool:
        """Take the right to create the model's deployment: True unless one is recorded or
        another creator holds a claim younger than `lease` (an older one is taken over)."""
        first = (
            insert_for(self._engine, ModelDeployment)
            .values(
                backend=backend,
                model=model,
                deploy_claim=token,
                deploy_claimed_at=now,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["backend", "model"])
            .returning(ModelDeployment.id)
        )
        take = (
            update(ModelDeployment)
            .where(
                ModelDeployment.backend == backend,
                ModelDeployment.model == model,
                ModelDeployment.deployment.is_(None),
                or_(
                    ModelDeployment.deploy_claim.is_(None),
                    ModelDeployment.deploy_claimed_at < now - lease,
                ),
            )
            .values(deploy_claim=token, deploy_claimed_at=now, updated_at=now)
            .returning(ModelDeployment.id)
        )
        with self._sessions.begin() as session:
            if session.execute(first).first() is not None:
                return True
            return session.execute(take).first() is not None

    def finish_creation(
        self, *, backend: str, model: str, token: str, deployment: str, now: dt.datetime
    ) -> bool:
        """Record the deployment this creator made and drop its claim; False when the claim was
        taken over meanwhile (the record is then the other creator's)."""
        with self._sessions.begin() as session:
            done = session.execute(
                update(ModelDeployment)
                .where(
                    ModelDeployment.backend == backend,
                    ModelDeployment.model == model,
                    ModelDeployment.deploy_claim == token,
                )
                .values(
                    deployment=deployment,
                    deploy_claim=None,
                    deploy_claimed_at=None,
                    updated_at=now,
                )
                .returning(ModelDeployment.id)
            ).first()
        return done is not None

    def release_creation(self, *, backend: str, model: str, token: str, now: dt.datetime) -> None:
        """Give up the claim after a failed creation (a claim taken over since is left alone)."""
        with self._sessions.begin() as session:
            session.execute(
                update(ModelDeployment)
                .where(
                    ModelDeployment.backend == backend,
                    ModelDeployment.model == model,
                    ModelDeployment.deploy_claim == token,
                )
                .values(deploy_claim=None, deploy_claimed_at=None, updated_at=now)
            )

    def forget_gone(self, *, backend: str, model: str, deployment: str) -> None:
        """Drop a recorded deployment that no longer exists (Azure deletes Developer-tier ones
        after 24 h); a different one recorded since is kept."""
        with self._sessions.begin() as session:
            session.execute(
                delete(ModelDeployment).where(
                    ModelDeployment.backend == backend,
                    ModelDeployment.model == model,
                    ModelDeployment.deployment == deployment,
                )
            )

    def state(self, *, backend: str, model: str) -> DeploymentState | None:
        """Where the model's deployment on `backend` stands (None: never deployed or claimed)."""
        with self._sessions() as session:
            row = session.execute(
                select(ModelDeployment.deployment, ModelDeployment.deploy_claim).where(
                    ModelDeployment.backend == backend, ModelDeployment.model == model
                )
            ).first()
        if row is None or (row.deployment is None and row.deploy_claim is None):
            return None
        return DeploymentState(deployment=row.deployment, claimed=row.deploy_claim is not None)

    def deployment_of(self, *, backend: str, model: str) -> str | None:
        """The deployment recorded for the model on `backend`."""
        found = self.state(backend=backend, model=model)
        return found.deployment if found else None
