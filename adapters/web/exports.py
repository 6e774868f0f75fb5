"""Exports, streamed: CSV (UTF-8 with a byte-order mark, so Excel reads it right) and JSON.

Rows are written as they come from the database, in batches, so a 100,000-row export keeps memory
flat. A cell that starts like a formula is prefixed with an apostrophe: a concern's text must never
run as a spreadsheet formula on a leader's computer.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from adapters.web.security import HEADERS
from bot.dashboard import Dashboard
from bot.read_side import RunLine

BOM = "\ufeff"
FLUSH_EVERY = 500
RUN_FIELDS = [
    "id",
    "unit_id",
    "unit",
    "scheduled_for",
    "status",
    "clear",
    "concern",
    "goodcatch",
    "comment",
    "people",
]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def run_row(dash: Dashboard, run: RunLine) -> dict[str, Any]:
    """A huddle run as an export row."""
    label = dash.run_label(run)
    return {
        "id": run.id,
        "unit_id": run.unit_id,
        "unit": label["unit"],
        "scheduled_for": run.scheduled_for.isoformat(),
        "status": run.status,
        "clear": run.clear,
        "concern": run.concern,
        "goodcatch": run.goodcatch,
        "comment": run.comment,
        "people": run.people,
    }


def _as_dict(row: Any, fields: list[str]) -> dict[str, Any]:
    # Not ``dataclasses.asdict``: it deep-copies every value, which was most of an export's time.
    return {name: getattr(row, name) for name in fields} if dataclasses.is_dataclass(row) else dict(row)


async def stream(
    request: web.Request, rows: AsyncIterator[Any], *, form: str, filename: str, fields: list[str]
) -> web.StreamResponse:
    """Send ``rows`` (records or mappings, one at a time) as a ``form`` ("csv" or "json") attachment."""

    async def batches() -> AsyncIterator[list[tuple[Any, ...]]]:
        batch: list[tuple[Any, ...]] = []
        async for row in rows:
            data = _as_dict(row, fields)
            batch.append(tuple(data[name] for name in fields))
            if len(batch) >= FLUSH_EVERY:
                yield batch
                batch = []
        if batch:
            yield batch

    return await stream_batches(request, batches(), form=form, filename=filename, fields=fields)


async def stream_batches(
    request: web.Request,
    batches: AsyncIterator[list[tuple[Any, ...]]],
    *,
    form: str,
    filename: str,
    fields: list[str],
) -> web.StreamResponse:
    """Send ``batches`` of rows (tuples in ``fields`` order) as a ``form`` attachment, a batch at a time."""
    first = await anext(batches, None)  # runs the export's audit before the first byte goes out
    response = web.StreamResponse(
        headers={
            **HEADERS,
            "Content-Type": "text/csv; charset=utf-8" if form == "csv" else "application/json; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}.{form}"',
        }
    )
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if form == "csv":
        buffer.write(BOM)
        writer.writerow(fields)
    else:
        buffer.write("[")
    count = 0
    batch = first
    while batch is not None:
        if form == "csv":
            writer.writerows(
                [
                    [("'" + v) if v.__class__ is str and v.startswith(_FORMULA) else v for v in row]
                    for row in batch
                ]
            )
        else:
            for row in batch:
                data = dict(zip(fields, row, strict=True))
                text = json.dumps(data, ensure_ascii=False, default=str)
                buffer.write(("," if count else "") + "\n" + text)
                count += 1
        await response.write(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()
        batch = await anext(batches, None)
    if form == "json":
        buffer.write("\n]\n")
    await response.write(buffer.getvalue().encode("utf-8"))
    await response.write_eof()
    return response
