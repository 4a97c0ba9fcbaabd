"""Catch-up marks: the first run is recorded once, the mark only moves forward, known files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from storage.catchup import CatchupRepository
from storage.db import unreachable
from storage.repositories import DatasetRepository

pytestmark = pytest.mark.db

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def test_the_first_run_is_recorded_once(engine: Engine) -> None:
    marks = CatchupRepository(engine=engine)
    assert "catchup_marks" in inspect(engine).get_table_names()
    assert marks.first_run(now=NOW) == NOW
    assert marks.first_run(now=NOW + dt.timedelta(days=2)) == NOW


def test_the_mark_only_moves_forward(engine: Engine) -> None:
    marks = CatchupRepository(engine=engine)
    assert marks.caught_up_to() is None
    marks.advance(to=NOW, now=NOW)
    marks.advance(to=NOW - dt.timedelta(minutes=5), now=NOW)  # a slower replica's older pass
    assert marks.caught_up_to() == NOW
    later = NOW + dt.timedelta(minutes=1)
    marks.advance(to=later, now=later)
    assert marks.caught_up_to() == later


def test_known_files(engine: Engine) -> None:
    DatasetRepository(engine=engine).claim(
        slack_file_id="F1", channel_id="C1", uploader_id="U1", thread_ts=None, now=NOW,
        lease=dt.timedelta(minutes=10),
    )  # fmt: skip
    marks = CatchupRepository(engine=engine)
    assert marks.known(slack_file_ids=["F1", "F2", "F1"]) == {"F1"}
    assert marks.known(slack_file_ids=[]) == set()


def test_unreachable_tells_an_outage_from_a_bug(engine: Engine, tmp_path: Path) -> None:
    gone = create_engine(f"sqlite:///{tmp_path}/missing-dir/x.db")
    with pytest.raises(Exception) as outage:
        gone.connect()
    assert unreachable(outage.value)
    refused = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/x")
    with pytest.raises(Exception) as outage:
        refused.connect()
    assert unreachable(outage.value)
    with engine.connect() as connection, pytest.raises(Exception) as bug:
        connection.execute(text("SELECT * FROM no_such_table"))
    assert not unreachable(bug.value)
    assert not unreachable(ValueError("nope"))
