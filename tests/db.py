"""Test databases: a fresh SQLite file, or a fresh PostgreSQL database when
FTBOT_TEST_DATABASE_URL points at a server (CI runs the `db` tests both ways)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

ENV = "FTBOT_TEST_DATABASE_URL"


def backend() -> str:
    """'postgresql' when the db tests run against a server, else 'sqlite'."""
    return "postgresql" if os.environ.get(ENV) else "sqlite"


@contextmanager
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database that is dropped afterwards."""
    server = os.environ.get(ENV)
    if not server:
        yield f"sqlite:///{tmp_path / 'bot.db'}"
        return
    url = make_url(server.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"ftbot_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
