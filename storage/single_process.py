"""SQLite takes one serving process: a second one would double every scheduled job's work."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url


class AlreadyServing(Exception):
    """Another huddlebot process already serves this SQLite file."""


def sqlite_file(url: str) -> Path | None:
    """The database file behind a SQLite URL (None for another backend or an in-memory database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).resolve()


def hold_serving_lock(url: str) -> IO[str] | None:
    """Take the serving lock of a SQLite database (kept while the returned file stays open).

    The kernel releases a ``flock`` when the process dies, even by ``kill -9``, so a crash never
    leaves a stale lock behind.
    """
    path = sqlite_file(url)
    if path is None:
        return None
    handle = open(f"{path}.serving.lock", "a+", encoding="utf-8")  # noqa: SIM115 - held for the process's life
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyServing(
            f"another huddlebot process is already serving {path}. SQLite takes one process; "
            "use PostgreSQL (DATABASE_URL) to run several replicas."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle
