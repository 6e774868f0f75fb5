"""Storage: SQLAlchemy 2 (async, Core) tables, queries, the unit of work, engine setup, migrations."""
