"""Engine construction for SQLite (embedded default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc, text


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=True
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any failure means "not healthy"; /healthz reports it
        return False
    return True


_SQLITE_OUTAGES = ("unable to open", "database is locked", "disk i/o error")


def unreachable(error: BaseException) -> bool:
    """True when `error` means the database cannot be reached (down, refusing, connection lost)."""
    if isinstance(error, exc.TimeoutError):  # no pooled connection came free
        return True
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if not isinstance(error, exc.OperationalError | exc.InterfaceError):
        return False
    if isinstance(error.orig, sqlite3.Error):  # SQLite says OperationalError for bugs too
        return any(text in str(error.orig).lower() for text in _SQLITE_OUTAGES)
    return True


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """A datetime read back from the database, as an aware UTC datetime (SQLite drops the zone)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)
