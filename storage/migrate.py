"""Apply Alembic migrations at start (`upgrade head`), safely when replicas start together."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x46_54_42_4F_54  # "FTBOT": one migrating replica at a time


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at storage/migrations, bound to `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; concurrent callers wait for each other."""
    with _exclusive(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Released at commit; the second replica then finds the schema at head.
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        command.upgrade(alembic_config(connection), "head")


@contextmanager
def _exclusive(engine: Engine) -> Iterator[None]:
    """On SQLite, a file lock beside the database serialises migrations across processes."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate-lock")
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
