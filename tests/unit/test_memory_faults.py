"""Memory under faults: a process killed with SIGKILL in the middle of its writes loses no
committed row (WAL; 20 rounds, the kill at a random point), and a database whose pages are
damaged is reported and set aside, byte for byte, while a new Memory starts in its place."""

from __future__ import annotations

import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from perforch_core.memory.store import Memory
from perforch_core.models import Language, Stage
from perforch_core.ports import Observation

WRITER = """
import asyncio, sys
from perforch_core.memory.store import Memory
from perforch_core.models import Language, Stage
from perforch_core.ports import Observation

async def main(path):
    memory = Memory(path)
    await memory.upsert_model("m", "M", "openai")
    done = await memory.observation_count("kill")
    while True:
        batch = [
            Observation(model="m", stage=Stage.FIX, language=Language.PYTHON,
                        problem_id=f"p{done + i}", success=True, source="kill")
            for i in range(7)
        ]
        await memory.record(batch)
        done += len(batch)
        print(done, flush=True)  # committed: record() returns after the commit

asyncio.run(main(sys.argv[1]))
"""


def _count(path: Path) -> int:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        n: int = db.execute("SELECT COUNT(*) FROM observations WHERE source='kill'").fetchone()[0]
        return n


def test_a_writer_killed_mid_write_loses_no_committed_row(tmp_path: Path):
    path = tmp_path / "memory.sqlite"
    rng = random.Random(7)
    root = Path(__file__).resolve().parents[2]
    for _ in range(20):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        assert writer.stdout is not None
        committed = 0
        for _ in range(rng.randint(1, 40)):
            line = writer.stdout.readline()
            assert line, "the writer stopped"
            committed = int(line)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        assert _count(path) >= committed
    assert _count(path) > 20


async def test_a_damaged_database_is_reported_and_set_aside_not_written_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    path = tmp_path / "memory.sqlite"
    memory = Memory(path)
    await memory.upsert_model("m", "M", "openai")
    await memory.record(
        [
            Observation(
                model="m",
                stage=Stage.FIX,
                language=Language.PYTHON,
                problem_id=f"p{i}",
                success=True,
            )
            for i in range(2000)
        ]
    )
    await memory.aclose()
    data = bytearray(path.read_bytes())
    assert len(data) > 8 * 4096
    data[3 * 4096 : 5 * 4096] = os.urandom(2 * 4096)  # two pages of the table: garbage
    path.write_bytes(bytes(data))
    damaged = path.read_bytes()

    fresh = Memory(path)
    with caplog.at_level(logging.WARNING, logger="perforch.memory"):
        assert await fresh.observation_count() == 0  # a new Memory, working
    await fresh.aclose()
    assert fresh.set_aside is not None and fresh.set_aside.name.startswith("memory.sqlite.corrupt-")
    assert fresh.set_aside.read_bytes() == damaged  # kept as it was, for the person to look at
    assert any("damaged" in r.message and str(fresh.set_aside) in r.message for r in caplog.records)


def test_a_busy_database_is_never_set_aside():
    """Only SQLite's own "damaged" answers (or a failed integrity check) set a file aside: a
    database locked by another PerfOrch process is a plain error, the file left where it is."""
    from perforch_core.memory.store import _damaged

    def error(kind: type[sqlite3.DatabaseError], message: str, code: int) -> sqlite3.DatabaseError:
        exc = kind(message)
        exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        return exc

    assert not _damaged(error(sqlite3.OperationalError, "database is locked", 5))
    assert not _damaged(error(sqlite3.OperationalError, "attempt to write a readonly database", 8))
    assert _damaged(error(sqlite3.DatabaseError, "database disk image is malformed", 11))
    assert _damaged(error(sqlite3.DatabaseError, "file is not a database", 26))


async def test_connections_opening_a_new_memory_at_once_all_succeed(tmp_path: Path):
    """The first job creates the Memory file while the editor's CodeLens opens it to rank (and
    the CLI may start beside the editor): each connection migrates and seeds under SQLite's
    write lock, re-reading what is done, so none fails with "table models already exists"
    (seen: the code-server e2e's job ended in an internal error) and the seeds land once."""
    import asyncio

    pool = ["local/qwen2.5-coder-0.5b", "local/qwen2.5-coder-1.5b"]
    async with Memory(tmp_path / "alone.sqlite") as alone:
        await alone.seed()
    with sqlite3.connect(tmp_path / "alone.sqlite") as db:
        (expected,) = db.execute("SELECT COUNT(*) FROM observations").fetchone()
    for round_ in range(15):
        path = tmp_path / f"memory-{round_}.sqlite"
        memories = [Memory(path) for _ in range(4)]
        try:
            results = await asyncio.gather(
                memories[0].seed(),
                memories[1].seed(),
                memories[2].rank(Stage.FIX, Language.PYTHON, [], None, pool),
                memories[3].seed(),
                return_exceptions=True,
            )
        finally:
            for memory in memories:
                await memory.aclose()
        assert not [r for r in results if isinstance(r, BaseException)], results
        seeded = sorted(r for r in results if isinstance(r, int))
        assert seeded[:2] == [0, 0] and seeded[2] > 0  # one connection seeded, two found it done
        with sqlite3.connect(path) as db:
            (rows,) = db.execute("SELECT COUNT(*) FROM observations").fetchone()
        assert rows > 0 and rows == expected
