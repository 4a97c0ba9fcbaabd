"""Upload only, through the real endpoint: one upload for concurrent clicks, a failed upload
explained and retried by the next click, a crashed uploader's claim taken over."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from handlers import ids
from storage.db import make_engine
from tests.e2e.conftest import Bot, wait_for
from tests.e2e.test_jobs import ready
from tests.fakes.fake_openai import FakeOpenAI

pytestmark = pytest.mark.db

FILES = "/v1/files"


def notes(bot: Bot, words: str) -> list[str]:
    return [m["text"] for m in bot.slack.messages("C1") if words in (m.get("text") or "")]


def test_clicks_during_a_slow_upload_share_it(bot: Bot, openai: FakeOpenAI) -> None:
    file = ready(bot)
    openai.fail_next("POST", FILES, slow_ms=1500)  # the first upload is in flight a while
    for _ in range(3):
        assert bot.click(ids.DATASET_UPLOAD, file["id"]) == 200
    wait_for(lambda: len(notes(bot, "uploaded `drone.jsonl`")) == 3, what="three upload notes")
    assert len(openai.calls_to("POST", FILES)) == 1
    (file_id,) = openai.files
    assert all(f"`{file_id}`" in note for note in notes(bot, "uploaded `drone.jsonl`"))


def test_a_failed_upload_is_explained_and_the_next_click_uploads(
    bot: Bot, openai: FakeOpenAI
) -> None:
    file = ready(bot)
    openai.fail_next(
        "POST", FILES, status=400, body={"error": {"message": "bad bytes", "type": "invalid"}}
    )
    assert bot.click(ids.DATASET_UPLOAD, file["id"]) == 200
    (failure,) = wait_for(lambda: notes(bot, "OpenAI rejected the request"), what="failure")
    assert "bad bytes" in failure and "\n" not in failure
    assert openai.files == {}
    assert bot.click(ids.DATASET_UPLOAD, file["id"]) == 200  # the claim was released
    wait_for(lambda: notes(bot, "uploaded `drone.jsonl`"), what="upload note")
    assert len(openai.files) == 1


def remote_file(
    database_url: str, *, backend: str, claim: str | None, file_id: str | None, at: dt.datetime
) -> None:
    """Record, for every dataset, an upload to `backend` (claimed, or finished)."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO remote_files (dataset_id, backend, file_id, upload_claim,"
                    " upload_claimed_at, created_at, updated_at)"
                    " SELECT id, :backend, :file_id, :claim, :at, :at, :at FROM datasets"
                ),
                {"backend": backend, "file_id": file_id, "claim": claim, "at": at},
            )
    finally:
        engine.dispose()


def test_a_crashed_uploaders_claim_is_taken_over(
    bot: Bot, openai: FakeOpenAI, database_url: str
) -> None:
    file = ready(bot)
    # a replica claimed the upload, then died
    crashed_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11)
    remote_file(database_url, backend="openai", claim="dead", file_id=None, at=crashed_at)
    assert bot.click(ids.DATASET_UPLOAD, file["id"]) == 200
    wait_for(lambda: notes(bot, "uploaded `drone.jsonl`"), what="upload note")
    assert len(openai.files) == 1


def test_uploads_to_other_backends_neither_hold_up_nor_stand_in(
    bot: Bot, openai: FakeOpenAI, database_url: str
) -> None:
    file = ready(bot)
    now = dt.datetime.now(dt.UTC)
    remote_file(database_url, backend="together", claim=None, file_id="file-tg-1", at=now)
    remote_file(database_url, backend="azure", claim="busy", file_id=None, at=now)
    assert bot.click(ids.DATASET_UPLOAD, file["id"]) == 200
    (note,) = wait_for(lambda: notes(bot, "uploaded `drone.jsonl`"), what="upload note")
    (file_id,) = openai.files
    assert f"`{file_id}`" in note and "file-tg-1" not in note
