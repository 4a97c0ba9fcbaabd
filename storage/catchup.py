"""Catch-up marks: when this database first saw the bot run, and how far the upload catch-up got."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.db import utc
from storage.models import CatchupMark, Dataset
from storage.repositories import insert_for

FIRST_RUN = "first_run"
FILES = "files"


class CatchupRepository:
    """Marks bounding the catch-up, and which Slack files already have a dataset row."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self._sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    def first_run(self, *, now: dt.datetime) -> dt.datetime:
        """When the bot first ran on this database (recorded as `now` the first time it is asked)."""
        stmt = (
            insert_for(self._engine, CatchupMark)
            .values(name=FIRST_RUN, mark=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        with self._sessions.begin() as session:
            session.execute(stmt)
            mark = session.scalar(select(CatchupMark.mark).where(CatchupMark.name == FIRST_RUN))
        assert mark is not None
        return utc(mark) or mark

    def caught_up_to(self) -> dt.datetime | None:
        """The start of the last complete catch-up pass (files shared before it were seen)."""
        with self._sessions() as session:
            mark = session.scalar(select(CatchupMark.mark).where(CatchupMark.name == FILES))
        return utc(mark)

    def advance(self, *, to: dt.datetime, now: dt.datetime) -> None:
        """Record a complete pass that started at `to`; the mark never moves back (replicas race)."""
        insert = (
            insert_for(self._engine, CatchupMark)
            .values(name=FILES, mark=to, updated_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(CatchupMark.name)
        )
        forward = (
            update(CatchupMark)
            .where(CatchupMark.name == FILES, CatchupMark.mark < to)
            .values(mark=to, updated_at=now)
        )
        with self._sessions.begin() as session:
            if session.execute(insert).first() is None:
                session.execute(forward)

    def known(self, *, slack_file_ids: Iterable[str]) -> set[str]:
        """The Slack file ids among these that already have a dataset row (claimed or reported)."""
        ids = sorted(set(slack_file_ids))
        if not ids:
            return set()
        with self._sessions() as session:
            return set(
                session.scalars(select(Dataset.slack_file_id).where(Dataset.slack_file_id.in_(ids)))
            )
