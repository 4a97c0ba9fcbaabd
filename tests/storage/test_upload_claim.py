"""The upload claim: one uploader at a time, a crashed uploader's claim taken over after its
lease, released on failure; and the migration that replaces the `uploading:` marker."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from storage import migrate
from storage.db import make_engine
from storage.models import Base
from storage.repositories import DatasetRepository, UploadState
from tests.db import fresh_database_url

pytestmark = pytest.mark.db

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=10)


def openai(dataset_id: int) -> dict[str, object]:
    """The keywords naming a dataset's upload to OpenAI."""
    return {"dataset_id": dataset_id, "backend": "openai"}


def dataset(repo: DatasetRepository, file_id: str = "F1") -> int:
    repo.claim(
        slack_file_id=file_id, channel_id="C1", uploader_id="U1", thread_ts=None, now=NOW,
        lease=LEASE,
    )  # fmt: skip
    record = repo.get(slack_file_id=file_id)
    assert record is not None
    return record.id


def test_one_uploader_at_a_time_and_a_stale_claim_is_taken_over(engine: Engine) -> None:
    repo = DatasetRepository(engine=engine)
    one = dataset(repo)
    assert repo.upload_state(**openai(one)) == UploadState(file_id=None, claimed=False)
    assert repo.claim_upload(**openai(one), token="a", now=NOW, lease=LEASE)
    assert repo.upload_state(**openai(one)) == UploadState(file_id=None, claimed=True)
    assert not repo.claim_upload(**openai(one), token="b", now=NOW, lease=LEASE)
    almost = NOW + LEASE - dt.timedelta(seconds=1)
    assert not repo.claim_upload(**openai(one), token="b", now=almost, lease=LEASE)
    # "a" crashed: once its lease has run out, "b" takes over (and holds a fresh lease)
    later = NOW + LEASE + dt.timedelta(seconds=1)
    assert repo.claim_upload(**openai(one), token="b", now=later, lease=LEASE)
    assert not repo.claim_upload(**openai(one), token="c", now=later, lease=LEASE)
    # the old holder's failure does not release the claim it lost
    repo.release_upload(**openai(one), token="a", now=later)
    assert repo.upload_state(**openai(one)) == UploadState(file_id=None, claimed=True)
    assert repo.finish_upload(**openai(one), file_id="file-b", now=later) == "file-b"
    assert repo.upload_state(**openai(one)) == UploadState(file_id="file-b", claimed=False)
    # uploaded: nobody claims it again, however late
    assert not repo.claim_upload(**openai(one), token="d", now=later + LEASE * 9, lease=LEASE)
    assert repo.upload_state(**openai(12345)) is None


def test_a_failed_upload_releases_the_claim(engine: Engine) -> None:
    repo = DatasetRepository(engine=engine)
    one = dataset(repo)
    assert repo.claim_upload(**openai(one), token="a", now=NOW, lease=LEASE)
    repo.release_upload(**openai(one), token="a", now=NOW)
    assert repo.upload_state(**openai(one)) == UploadState(file_id=None, claimed=False)
    assert repo.uploaded_file(**openai(one)) is None
    assert repo.claim_upload(**openai(one), token="b", now=NOW, lease=LEASE)  # a retry may


def test_the_first_finished_upload_is_kept(engine: Engine) -> None:
    repo = DatasetRepository(engine=engine)
    one = dataset(repo)
    assert repo.claim_upload(**openai(one), token="a", now=NOW, lease=LEASE)
    later = NOW + LEASE * 2
    assert repo.claim_upload(**openai(one), token="b", now=later, lease=LEASE)
    # the slow uploader "a" was taken over but finishes first: its file stands, "b" is told so
    assert repo.finish_upload(**openai(one), file_id="file-a", now=later) == "file-a"
    assert repo.finish_upload(**openai(one), file_id="file-b", now=later) == "file-a"
    assert repo.upload_state(**openai(one)) == UploadState(file_id="file-a", claimed=False)


def test_only_real_uploads_are_reused_by_content(engine: Engine) -> None:
    repo = DatasetRepository(engine=engine)
    one, two = dataset(repo, "F1"), dataset(repo, "F2")
    for file_id in ("F1", "F2"):
        repo.store_report(
            slack_file_id=file_id, sha256="ab" * 32, format="chat", examples=1, total_tokens=5,
            valid=True, report={}, now=NOW,
        )  # fmt: skip
    assert repo.claim_upload(**openai(one), token="a", now=NOW, lease=LEASE)
    assert (
        repo.uploaded_with_sha(sha256="ab" * 32, backend="openai") is None
    )  # claimed is not uploaded
    repo.finish_upload(**openai(one), file_id="file-1", now=NOW)
    assert repo.uploaded_with_sha(sha256="ab" * 32, backend="openai") == "file-1"
    assert repo.finish_upload(**openai(two), file_id="file-1", now=NOW) == "file-1"


def race(claimers: int, attempt: object) -> list[bool]:
    """Run `attempt(i)` in `claimers` threads released together; their answers."""
    barrier = threading.Barrier(claimers)
    wins: list[bool] = []
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            wins.append(attempt(i))  # type: ignore[operator]
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return wins


def test_concurrent_claimers_have_one_winner(engine: Engine) -> None:
    repo = DatasetRepository(engine=engine)
    one = dataset(repo)
    wins = race(8, lambda i: repo.claim_upload(**openai(one), token=f"t{i}", now=NOW, lease=LEASE))
    assert sorted(wins) == [False] * 7 + [True]


def test_concurrent_takeover_of_a_stale_claim_has_one_winner(engine: Engine) -> None:
    repo = DatasetRepository(engine=engine)
    one = dataset(repo)
    assert repo.claim_upload(**openai(one), token="crashed", now=NOW, lease=LEASE)
    later = NOW + LEASE * 2
    wins = race(
        8, lambda i: repo.claim_upload(**openai(one), token=f"t{i}", now=later, lease=LEASE)
    )
    assert sorted(wins) == [False] * 7 + [True]
    with engine.connect() as connection:
        holder = connection.execute(text("SELECT upload_claim FROM remote_files")).scalar()
    assert holder is not None and holder.startswith("t")


def insert_dataset(engine: Engine, slack_file_id: str, openai_file_id: str | None) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO datasets (slack_file_id, channel_id, uploader_id, name, status,"
                " openai_file_id, claimed_at, created_at, updated_at) VALUES (:f, 'C1', 'U1',"
                " 'a.jsonl', 'reported', :o, :now, :now, :now)"
            ),
            {"f": slack_file_id, "o": openai_file_id, "now": NOW},
        )


def test_migration_frees_old_style_upload_locks(tmp_path: Path) -> None:
    with fresh_database_url(tmp_path) as url:
        engine = make_engine(url)
        with engine.begin() as connection:
            command.upgrade(migrate.alembic_config(connection), "0003_catchup")
        assert "upload_claim" not in {c["name"] for c in inspect(engine).get_columns("datasets")}
        insert_dataset(engine, "F-locked", "uploading:0f3c")
        insert_dataset(engine, "F-uploaded", "file-1")
        insert_dataset(engine, "F-new", None)

        migrate.upgrade(engine, revision="0004_upload_claim")

        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT slack_file_id, openai_file_id, upload_claim, upload_claimed_at"
                    " FROM datasets ORDER BY slack_file_id"
                )
            ).all()
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == "0004_upload_claim"
        assert [tuple(row) for row in rows] == [
            ("F-locked", None, None, None),  # not uploaded, not claimed: the next start uploads
            ("F-new", None, None, None),
            ("F-uploaded", "file-1", None, None),
        ]
        migrate.upgrade(engine)  # and on to the newest schema, where the next start uploads
        repo = DatasetRepository(engine=engine)
        locked = repo.get(slack_file_id="F-locked")
        assert locked is not None
        assert repo.claim_upload(**openai(locked.id), token="t", now=NOW, lease=LEASE)
        engine.dispose()


def test_schema_after_migrations_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_upload_claim_migration_downgrades_and_upgrades_again(engine: Engine) -> None:
    repo = DatasetRepository(engine=engine)
    one = dataset(repo)
    repo.finish_upload(**openai(one), file_id="file-1", now=NOW)
    migrate.downgrade(engine, revision="0003_catchup")
    assert "upload_claim" not in {c["name"] for c in inspect(engine).get_columns("datasets")}
    migrate.upgrade(engine)
    assert repo.upload_state(**openai(one)) == UploadState(file_id="file-1", claimed=False)
