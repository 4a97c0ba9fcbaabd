"""SQL storage: SQLAlchemy models, repositories and migrations."""
