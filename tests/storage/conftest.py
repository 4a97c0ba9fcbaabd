"""Storage tests: a freshly migrated database (SQLite, or PostgreSQL in the `db` CI run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from storage import migrate
from storage.db import make_engine
from tests.db import fresh_database_url


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty database at the newest schema, disposed of afterwards."""
    with fresh_database_url(tmp_path) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        yield engine
        engine.dispose()
