"""The editor's jobs kept across a restart of the server (a window reload restarts it with the
editor's extension host): each job's request, state, events and result in a small SQLite file
beside Memory (``editor-jobs.sqlite``), so that a new server resumes the jobs that were queued or
running, offers again a result that was never reviewed, and a client that starts again can
re-attach: ``perforch/jobs`` lists every kept job with its events, for the client to replay.

States: ``queued`` → ``running`` → ``offered`` (a result waiting for review) → ``ended``. A job
interrupted longer than ``RESUME_WITHIN_S`` ago is not resumed (the user has moved on): it ends
as "interrupted". A damaged file is set aside (``.corrupt-<time>``) and a new one started; the
store never stops a job from running: its failures are logged."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger("perforch.lsp.jobs")
FILE_NAME = "editor-jobs.sqlite"
RESUME_WITHIN_S = 15 * 60  # older interrupted jobs are listed as interrupted, not run again
KEEP_ENDED = 20  # ended jobs listed (the client's history is as long)
MAX_EVENTS = 2000  # per job: a long comparison's samples beyond this are not kept

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    token TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    result TEXT,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    token TEXT NOT NULL,
    n INTEGER NOT NULL,
    params TEXT NOT NULL,
    PRIMARY KEY (token, n)
);
"""


@dataclass(frozen=True)
class KeptJob:
    token: str
    request: dict[str, Any]  # action, uri, function, metric, choose, original
    state: str
    message: str
    result: str | None  # a JobResult's JSON while it waits for review
    updated: float


class JobStore:
    """One connection to the kept jobs; every method logs and swallows a storage failure."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None
        self._seq = 0
        self._events: dict[str, int] = {}
        self._closed = False  # once closed, never opened again (its thread would hold the exit)

    async def _conn(self) -> aiosqlite.Connection:
        if self._closed:
            raise sqlite3.ProgrammingError("the editor jobs file is closed (the server stops)")
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._db = await self._connect()
            except sqlite3.DatabaseError as exc:
                aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
                log.warning(
                    "editor jobs file %s is unreadable (%s): set aside as %s", self.path, exc, aside
                )
                self.path.rename(aside)
                self._db = await self._connect()
        return self._db

    async def _connect(self) -> aiosqlite.Connection:
        db = await aiosqlite.connect(self.path)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.executescript(SCHEMA)
            async with db.execute("SELECT COALESCE(MAX(seq), 0) FROM jobs") as cur:
                row = await cur.fetchone()
            self._seq = int(row[0]) if row else 0
            await db.commit()
        except BaseException:
            await db.close()
            raise
        return db

    async def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        try:
            db = await self._conn()
            await db.execute(sql, params)
            await db.commit()
        except (sqlite3.Error, OSError) as exc:
            log.warning("editor jobs file %s: %s (the job goes on)", self.path, exc)

    async def add(self, token: str, request: dict[str, Any], state: str = "queued") -> None:
        self._seq += 1
        self._events[token] = 0
        await self._write(
            "INSERT OR REPLACE INTO jobs (token, seq, request, state, updated) "
            "VALUES (?, ?, ?, ?, ?)",
            (token, self._seq, json.dumps(request), state, time.time()),
        )

    async def set_state(
        self, token: str, state: str, message: str = "", result: str | None = None
    ) -> None:
        await self._write(
            "UPDATE jobs SET state = ?, message = ?, result = ?, updated = ? WHERE token = ?",
            (state, message, result, time.time(), token),
        )
        if state == "ended":
            await self._trim()

    async def restart(self, token: str, message: str) -> None:
        """The job runs again from its start: its old events go."""
        self._events[token] = 0
        await self._write("DELETE FROM events WHERE token = ?", (token,))
        await self.set_state(token, "running", message)

    async def event(self, token: str, params: dict[str, Any]) -> None:
        n = self._events.get(token, 0)
        if n >= MAX_EVENTS:
            return
        self._events[token] = n + 1
        await self._write(
            "INSERT OR REPLACE INTO events (token, n, params) VALUES (?, ?, ?)",
            (token, n, json.dumps(params)),
        )

    async def _trim(self) -> None:
        """Only the newest ``KEEP_ENDED`` ended jobs stay, with their events."""
        old = "SELECT token FROM jobs WHERE state = 'ended' ORDER BY seq DESC LIMIT -1 OFFSET ?"
        await self._write(f"DELETE FROM events WHERE token IN ({old})", (KEEP_ENDED,))
        await self._write(f"DELETE FROM jobs WHERE token IN ({old})", (KEEP_ENDED,))

    async def jobs(self) -> list[KeptJob]:
        """Every kept job, oldest first."""
        try:
            db = await self._conn()
            async with db.execute(
                "SELECT token, request, state, message, result, updated FROM jobs ORDER BY seq"
            ) as cur:
                rows = list(await cur.fetchall())
        except (sqlite3.Error, OSError) as exc:
            log.warning("editor jobs file %s: %s", self.path, exc)
            return []
        return [KeptJob(r[0], json.loads(r[1]), r[2], r[3], r[4], float(r[5])) for r in rows]

    async def events(self, token: str) -> list[dict[str, Any]]:
        try:
            db = await self._conn()
            async with db.execute(
                "SELECT params FROM events WHERE token = ? ORDER BY n", (token,)
            ) as cur:
                rows = list(await cur.fetchall())
        except (sqlite3.Error, OSError) as exc:
            log.warning("editor jobs file %s: %s", self.path, exc)
            return []
        self._events[token] = len(rows)
        return [json.loads(r[0]) for r in rows]

    async def aclose(self) -> None:
        self._closed = True
        if self._db is not None:
            await self._db.close()
            self._db = None
