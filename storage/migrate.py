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


def upgrade(engine: Engine, *, revision: str = "head") -> None:
    """Bring the schema to `revision` (the newest); concurrent callers wait for each other."""
    with _migrating(engine) as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, *, revision: str) -> None:
    """Take the schema back to `revision` (tests and operators; the bot only upgrades)."""
    with _migrating(engine) as connection:
        command.downgrade(alembic_config(connection), revision)


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for all the migrations, with no other migrator running.

    SQLite: its driver runs DDL outside any transaction, so a failed migration would leave half
    a schema; an explicit BEGIN makes it all or nothing. Batch mode rebuilds a table to change
    its constraints, and dropping the old table breaks the rows that refer to it: foreign keys
    are off meanwhile (SQLite ignores that pragma inside a transaction, hence before it) and
    every reference is checked before commit.
    """
    with _exclusive(engine), engine.connect() as connection:
        if engine.dialect.name != "sqlite":
            with connection.begin():
                # Released at commit; the second replica then finds the schema at head.
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                yield connection
            return
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            with connection.begin():
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                yield connection
                if connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError(
                        "the database has rows referring to rows that do not exist"
                        " (PRAGMA foreign_key_check); nothing was migrated"
                    )
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


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
