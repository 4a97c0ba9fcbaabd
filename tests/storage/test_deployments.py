"""Deployments of Azure models in the store: recorded, claimed once, forgotten when gone; the
migration both ways."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, exc, inspect, text

from storage import migrate
from storage.deployments import DeploymentRepository, DeploymentState

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=45)
M = "gpt-4o-mini-2024-07-18.ft-abc"

pytestmark = pytest.mark.db


def test_one_creator_at_a_time_until_recorded(engine: Engine) -> None:
    repo = DeploymentRepository(engine=engine)
    assert repo.state(backend="azure", model=M) is None
    assert repo.claim_creation(backend="azure", model=M, token="a", now=NOW, lease=LEASE)
    assert not repo.claim_creation(backend="azure", model=M, token="b", now=NOW, lease=LEASE)
    assert repo.state(backend="azure", model=M) == DeploymentState(deployment=None, claimed=True)
    # a stale claim (its creator died) is taken over; the old creator then records nothing
    later = NOW + LEASE + dt.timedelta(seconds=1)
    assert repo.claim_creation(backend="azure", model=M, token="b", now=later, lease=LEASE)
    assert not repo.finish_creation(backend="azure", model=M, token="a", deployment="x", now=later)
    assert repo.finish_creation(backend="azure", model=M, token="b", deployment="d1", now=later)
    assert repo.deployment_of(backend="azure", model=M) == "d1"
    assert not repo.claim_creation(backend="azure", model=M, token="c", now=later, lease=LEASE)
    # another backend or model is another row
    assert repo.deployment_of(backend="openai", model=M) is None
    assert repo.claim_creation(backend="azure", model=M + "2", token="c", now=NOW, lease=LEASE)


def test_release_record_and_forget(engine: Engine) -> None:
    repo = DeploymentRepository(engine=engine)
    assert repo.claim_creation(backend="azure", model=M, token="a", now=NOW, lease=LEASE)
    repo.release_creation(backend="azure", model=M, token="other", now=NOW)  # not its claim
    assert repo.state(backend="azure", model=M) == DeploymentState(None, True)
    repo.release_creation(backend="azure", model=M, token="a", now=NOW)
    assert repo.state(backend="azure", model=M) is None
    repo.record_existing(backend="azure", model=M, deployment="mine", now=NOW)
    repo.record_existing(backend="azure", model=M, deployment="mine-2", now=NOW)
    assert repo.deployment_of(backend="azure", model=M) == "mine-2"
    repo.forget_gone(backend="azure", model=M, deployment="mine")  # not the recorded one
    assert repo.deployment_of(backend="azure", model=M) == "mine-2"
    repo.forget_gone(backend="azure", model=M, deployment="mine-2")
    assert repo.state(backend="azure", model=M) is None


def test_migration_downgrades_and_upgrades_again(engine: Engine) -> None:
    repo = DeploymentRepository(engine=engine)
    repo.record_existing(backend="azure", model=M, deployment="d", now=NOW)
    with pytest.raises(exc.IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO model_deployments (backend, model, created_at, updated_at)"
                " VALUES ('azure', :m, :now, :now)"
            ),
            {"m": M, "now": NOW},
        )
    migrate.downgrade(engine, revision="0006_remote_id")
    assert "model_deployments" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    assert "model_deployments" in inspect(engine).get_table_names()
    assert repo.state(backend="azure", model=M) is None
