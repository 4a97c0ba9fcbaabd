"""Several backends in the store: migration 0005 from a used 0004 database, remote ids unique per
backend, and one upload per dataset per backend (claims and reuse by content never cross)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, exc, inspect, text

from bot.core.jobs import JobState
from storage import migrate
from storage.db import make_engine
from storage.fine_tuned import ModelRepository
from storage.jobs import JobRepository, NewJob
from storage.repositories import DatasetRepository, UploadState
from tests.db import backend, fresh_database_url

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=10)
SHA = "ab" * 32


@pytest.fixture
def at_0004(tmp_path: Path) -> Iterator[Engine]:
    """A database at 0004 holding what a running bot leaves: datasets uploaded, claimed and
    not, jobs with notifications, a request, a model."""
    with fresh_database_url(tmp_path) as url:
        engine = make_engine(url)
        migrate.upgrade(engine, revision="0004_upload_claim")
        fill_0004(engine)
        yield engine
        engine.dispose()


def fill_0004(engine: Engine) -> None:
    with engine.begin() as connection:
        for slack_id, file_id, claim in [
            ("F-uploaded", "file-1", None),
            ("F-claimed", None, "tok"),
            ("F-new", None, None),
        ]:
            connection.execute(
                text(
                    "INSERT INTO datasets (slack_file_id, channel_id, uploader_id, name, status,"
                    " sha256, openai_file_id, upload_claim, upload_claimed_at, claimed_at,"
                    " created_at, updated_at) VALUES (:f, 'C1', 'U1', :f, 'reported', :sha,"
                    " :o, :c, :at, :now, :now, :now)"
                ),
                {
                    "f": slack_id, "o": file_id, "c": claim, "at": NOW if claim else None,
                    "now": NOW, "sha": SHA if file_id else None,
                },
            )  # fmt: skip
        for key, job_id in [("k1", "ftjob-1"), ("k2", "ftjob-2"), ("k3", None)]:
            connection.execute(
                text(
                    "INSERT INTO jobs (request_key, openai_job_id, dataset_id, channel_id,"
                    " owner_id, model, method, state, created_at, updated_at) VALUES (:k, :j,"
                    " 1, 'C1', 'U1', 'gpt-4o-mini', 'supervised', :s, :now, :now)"
                ),
                {"k": key, "j": job_id, "s": "created" if job_id else "requested", "now": NOW},
            )
        connection.execute(
            text(
                "INSERT INTO notifications (job_id, kind, key, status, created_at)"
                " VALUES (1, 'event', 'e1', 'sent', :now), (2, 'event', 'e1', 'sent', :now)"
            ),
            {"now": NOW},
        )
        connection.execute(
            text(
                "INSERT INTO fine_tuned_models (name, job_id, owner_id, channel_id, base_model,"
                " chosen, deleted, created_at, updated_at) VALUES ('ft:gpt-4o-mini:x', 1, 'U1',"
                " 'C1', 'gpt-4o-mini', 'ft:gpt-4o-mini:x:ckpt-step-5', false, :now, :now)"
            ),
            {"now": NOW},
        )


def rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def dataset_id(engine: Engine, slack_file_id: str) -> int:
    record = DatasetRepository(engine=engine).get(slack_file_id=slack_file_id)
    assert record is not None
    return record.id


@pytest.mark.db
def test_migration_moves_uploads_and_puts_everything_on_openai(at_0004: Engine) -> None:
    migrate.upgrade(at_0004)

    engine = at_0004
    assert rows(engine, "SELECT version_num FROM alembic_version") == [("0013_content_checks",)]
    assert "remote_id" in columns(engine, "jobs") and "openai_job_id" not in columns(engine, "jobs")
    assert not {"openai_file_id", "upload_claim", "upload_claimed_at"} & columns(engine, "datasets")
    datasets = DatasetRepository(engine=engine)
    uploaded, claimed, new = (dataset_id(engine, f) for f in ("F-uploaded", "F-claimed", "F-new"))
    assert datasets.upload_state(dataset_id=uploaded, backend="openai") == UploadState(
        file_id="file-1", claimed=False
    )
    assert datasets.upload_state(dataset_id=new, backend="openai") == UploadState(
        file_id=None, claimed=False
    )
    # the claim in flight kept its time: held until its lease runs out, then taken over
    openai = {"dataset_id": claimed, "backend": "openai"}
    assert datasets.upload_state(**openai) == UploadState(file_id=None, claimed=True)
    assert not datasets.claim_upload(**openai, token="t", now=NOW, lease=LEASE)
    assert datasets.claim_upload(**openai, token="t", now=NOW + LEASE * 2, lease=LEASE)
    assert [d.slack_file_id for d in datasets.find(reference="file-1", channel_id="C9")] == [
        "F-uploaded"
    ]
    assert datasets.uploaded_with_sha(sha256=SHA, backend="openai") == "file-1"
    assert datasets.uploaded_with_sha(sha256=SHA, backend="together") is None

    jobs = JobRepository(engine=engine)
    job = jobs.by_remote_id(backend="openai", remote_id="ftjob-1")
    assert job is not None and (job.backend, job.request_key) == ("openai", "k1")
    assert jobs.by_openai_id("ftjob-2") is not None
    request = jobs.by_key("k3")
    assert request is not None and (request.backend, request.remote_id) == ("openai", None)
    assert rows(engine, "SELECT job_id, key FROM notifications ORDER BY job_id") == [
        (1, "e1"),
        (2, "e1"),
    ]
    model = ModelRepository(engine=engine).get("ft:gpt-4o-mini:x")
    assert model is not None
    assert (model.backend, model.job_id, model.chosen) == (
        "openai",
        1,
        "ft:gpt-4o-mini:x:ckpt-step-5",
    )
    if backend() == "sqlite":  # the migration turned foreign keys off; they are on again
        assert rows(engine, "PRAGMA foreign_keys") == [(1,)]
        with pytest.raises(exc.IntegrityError), engine.begin() as connection:
            connection.execute(text("DELETE FROM jobs WHERE id = 1"))


@pytest.mark.db
def test_downgrade_gives_the_openai_uploads_back_and_upgrades_again(at_0004: Engine) -> None:
    migrate.upgrade(at_0004)
    engine = at_0004
    datasets = DatasetRepository(engine=engine)
    new = dataset_id(engine, "F-new")
    datasets.finish_upload(dataset_id=new, backend="together", file_id="file-tg", now=NOW)

    migrate.downgrade(engine, revision="0004_upload_claim")

    assert "backend" not in columns(engine, "jobs") | columns(engine, "fine_tuned_models")
    assert rows(
        engine,
        "SELECT slack_file_id, openai_file_id, upload_claim FROM datasets ORDER BY slack_file_id",
    ) == [("F-claimed", None, "tok"), ("F-new", None, None), ("F-uploaded", "file-1", None)]
    with pytest.raises(exc.IntegrityError), engine.begin() as connection:  # one id, one job
        connection.execute(text("UPDATE jobs SET openai_job_id = 'ftjob-1' WHERE id = 2"))

    migrate.upgrade(engine)
    uploaded = dataset_id(engine, "F-uploaded")
    assert datasets.uploaded_file(dataset_id=uploaded, backend="openai") == "file-1"
    assert datasets.uploaded_file(dataset_id=new, backend="together") is None  # not kept


def test_a_migration_is_all_or_nothing_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    migrate.upgrade(engine, revision="0004_upload_claim")
    fill_0004(engine)
    with engine.connect() as connection:  # a reference to nothing, written with the checks off
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.execute(
            text(
                "INSERT INTO notifications (job_id, kind, key, status, created_at)"
                " VALUES (99, 'event', 'e1', 'sent', :now)"
            ),
            {"now": NOW},
        )
        connection.commit()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()

    with pytest.raises(RuntimeError, match="refer"):
        migrate.upgrade(engine)

    assert rows(engine, "SELECT version_num FROM alembic_version") == [("0004_upload_claim",)]
    assert set(inspect(engine).get_table_names()) == {
        "alembic_version", "catchup_marks", "datasets", "fine_tuned_models", "jobs",
        "notifications", "slack_deliveries",
    }  # fmt: skip
    assert "openai_file_id" in columns(engine, "datasets")
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM notifications WHERE job_id = 99"))
    migrate.upgrade(engine)
    assert rows(engine, "SELECT version_num FROM alembic_version") == [("0013_content_checks",)]
    engine.dispose()


def new_job(backend: str, remote_id: str | None) -> NewJob:
    return NewJob(
        channel_id="C1", owner_id="U1", model="m", state=JobState.CREATED, backend=backend,
        remote_id=remote_id,
    )  # fmt: skip


@pytest.mark.db
def test_a_remote_job_id_is_unique_per_backend(engine: Engine) -> None:
    jobs = JobRepository(engine=engine)
    on_openai, _ = jobs.add_request(request_key="a", now=NOW, request=new_job("openai", "ft-1"))
    later = NOW + dt.timedelta(minutes=1)
    on_together, _ = jobs.add_request(
        request_key="b", now=later, request=new_job("together", "ft-1")
    )
    assert (on_openai.backend, on_together.backend) == ("openai", "together")
    found = jobs.by_remote_id(backend="together", remote_id="ft-1")
    assert found is not None and found.request_key == "b"
    assert jobs.by_remote_id(backend="azure", remote_id="ft-1") is None
    assert jobs.by_openai_id("ft-1") == on_openai
    # the same id on two backends is ambiguous to a reference: both are offered, newest first
    assert [j.request_key for j in jobs.matching("ft-1")] == ["b", "a"]
    assert [j.request_key for j in jobs.matching("ft-")] == ["b", "a"]
    for key in ("c", "d"):  # requests have no remote id yet, on any backend
        jobs.add_request(request_key=key, now=NOW, request=new_job("together", None))
    with pytest.raises(exc.IntegrityError):
        jobs.add_request(request_key="e", now=NOW, request=new_job("together", "ft-1"))
    with pytest.raises(exc.IntegrityError):
        jobs.created(request_key="c", remote_id="ft-1", status="queued", now=NOW)
    jobs.created(request_key="c", remote_id="ft-2", status="queued", now=NOW)
    created = jobs.by_remote_id(backend="together", remote_id="ft-2")
    assert created is not None and created.request_key == "c"


@pytest.mark.db
def test_a_model_name_is_unique_per_backend(engine: Engine) -> None:
    jobs = JobRepository(engine=engine)
    job, _ = jobs.add_request(request_key="a", now=NOW, request=new_job("together", "ft-1"))
    models = ModelRepository(engine=engine)
    model = {"job_id": job.id, "owner_id": "U1", "channel_id": "C1", "base_model": "m"}
    models.add(name="me/m-x", **model, now=NOW)
    models.add(name="me/m-x", **model, now=NOW + dt.timedelta(minutes=1), backend="together")
    models.add(name="me/m-x", **model, now=NOW + dt.timedelta(minutes=2), backend="together")
    assert rows(engine, "SELECT backend FROM fine_tuned_models ORDER BY id") == [
        ("openai",),
        ("together",),
    ]
    newest = models.get("me/m-x")
    assert newest is not None and newest.backend == "together"
    assert models.get("other") is None


def dataset(engine: Engine, slack_file_id: str) -> int:
    datasets = DatasetRepository(engine=engine)
    datasets.claim(
        slack_file_id=slack_file_id, channel_id="C1", uploader_id="U1", thread_ts=None, now=NOW,
        lease=LEASE,
    )  # fmt: skip
    datasets.store_report(
        slack_file_id=slack_file_id, sha256=SHA, format="chat", examples=1, total_tokens=5,
        valid=True, report={}, now=NOW,
    )  # fmt: skip
    datasets.mark_reported(slack_file_id=slack_file_id, report_ts="1.1", now=NOW)
    return dataset_id(engine, slack_file_id)


@pytest.mark.db
def test_an_upload_is_claimed_per_backend(engine: Engine) -> None:
    datasets = DatasetRepository(engine=engine)
    one = dataset(engine, "F1")
    openai = {"dataset_id": one, "backend": "openai"}
    together = {"dataset_id": one, "backend": "together"}
    assert datasets.claim_upload(**openai, token="a", now=NOW, lease=LEASE)
    assert datasets.claim_upload(**together, token="b", now=NOW, lease=LEASE)
    assert not datasets.claim_upload(**together, token="c", now=NOW, lease=LEASE)
    datasets.release_upload(**openai, token="b", now=NOW)  # another backend's token: no effect
    assert datasets.upload_state(**together) == UploadState(file_id=None, claimed=True)
    assert datasets.upload_state(**openai) == UploadState(file_id=None, claimed=True)
    assert datasets.finish_upload(**together, file_id="file-tg", now=NOW) == "file-tg"
    assert datasets.upload_state(**openai) == UploadState(file_id=None, claimed=True)
    assert datasets.uploaded_file(**openai) is None
    assert datasets.finish_upload(**openai, file_id="file-oa", now=NOW) == "file-oa"
    assert datasets.uploaded_file(**together) == "file-tg"
    assert datasets.uploaded_file(**openai) == "file-oa"
    assert datasets.upload_state(dataset_id=one, backend="azure") == UploadState(
        file_id=None, claimed=False
    )
    assert datasets.upload_state(dataset_id=one + 1000, backend="openai") is None
    assert not datasets.claim_upload(
        dataset_id=one + 1000, backend="openai", token="x", now=NOW, lease=LEASE
    )  # no such dataset: nothing to claim
    for reference in ("file-tg", "file-oa"):  # either backend's file id names the dataset
        assert [d.id for d in datasets.find(reference=reference, channel_id="C9")] == [one]


@pytest.mark.db
def test_reuse_by_content_stays_on_its_backend(engine: Engine) -> None:
    datasets = DatasetRepository(engine=engine)
    one, two = dataset(engine, "F1"), dataset(engine, "F2")
    datasets.finish_upload(dataset_id=one, backend="openai", file_id="file-oa", now=NOW)
    assert datasets.uploaded_with_sha(sha256=SHA, backend="openai") == "file-oa"
    assert datasets.uploaded_with_sha(sha256=SHA, backend="together") is None
    datasets.claim_upload(dataset_id=two, backend="together", token="t", now=NOW, lease=LEASE)
    assert datasets.uploaded_with_sha(sha256=SHA, backend="together") is None  # claimed only
    datasets.finish_upload(dataset_id=two, backend="together", file_id="file-tg", now=NOW)
    assert datasets.uploaded_with_sha(sha256=SHA, backend="together") == "file-tg"
    assert datasets.uploaded_with_sha(sha256=SHA, backend="openai") == "file-oa"


@pytest.mark.db
def test_remote_id_renamed_back_and_forth_keeps_ids_unique_per_backend(at_0004: Engine) -> None:
    engine = at_0004
    migrate.upgrade(engine)
    ids = rows(engine, "SELECT request_key, backend, remote_id FROM jobs ORDER BY request_key")
    assert ("k1", "openai", "ftjob-1") in ids

    migrate.downgrade(engine, revision="0005_backends")
    assert "openai_job_id" in columns(engine, "jobs") and "remote_id" not in columns(engine, "jobs")
    assert (
        rows(engine, "SELECT request_key, backend, openai_job_id FROM jobs ORDER BY request_key")
        == ids
    )

    migrate.upgrade(engine)
    with pytest.raises(exc.IntegrityError), engine.begin() as connection:  # unique per backend
        connection.execute(text("UPDATE jobs SET remote_id = 'ftjob-1' WHERE request_key = 'k2'"))
    with engine.begin() as connection:  # the same id on another backend is another job
        connection.execute(
            text(
                "UPDATE jobs SET backend = 'together', remote_id = 'ftjob-1' WHERE request_key = 'k2'"
            )
        )
