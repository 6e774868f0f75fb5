"""Reading the database the way an auditor would: plain SQL on the app's own engine, every table."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from storage.tables import metadata
from tests.conftest import Harness


async def rows(harness: Harness, sql: str, **params: Any) -> list[dict[str, Any]]:
    """The rows ``sql`` returns, as dicts."""
    engine = harness.core.uow.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        result = await conn.execute(sa.text(sql), params)
        return [dict(row._mapping) for row in result]


async def scalar(harness: Harness, sql: str, **params: Any) -> Any:
    """The first column of the first row ``sql`` returns."""
    found = await rows(harness, sql, **params)
    return next(iter(found[0].values())) if found else None


async def row_counts(harness: Harness) -> dict[str, int]:
    """How many rows every table holds."""
    return {
        table.name: await scalar(harness, f"SELECT COUNT(*) FROM {table.name}")
        for table in metadata.sorted_tables
    }


async def dump(harness: Harness) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (``SELECT *``), as a database dump would hold them."""
    return {
        table.name: await rows(harness, f"SELECT * FROM {table.name}") for table in metadata.sorted_tables
    }


def as_text(dumped: dict[str, list[dict[str, Any]]]) -> str:
    """A dump as one searchable text, every value written out."""
    return "\n".join(f"{name}: {row!r}" for name, table in dumped.items() for row in table)
