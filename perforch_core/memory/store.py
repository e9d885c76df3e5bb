"""Memory: the SQLite file of what each model is measured to be good at (DESIGN §4.2).

One object owns one connection: lazy connect, WAL, numbered migrations (``migrations/NNNN_*.sql``,
each applied once, in a transaction), typed async queries, ``aclose()`` / ``async with``. A file
that is not a SQLite database is reported as a ``StorageError`` and left untouched (it may be
someone else's file); a SQLite database that fails its integrity check is reported (a warning
naming both files) and set aside as ``<name>.corrupt-<time>`` with its WAL, and a new Memory
starts in its place — never written over.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from ..errors import StorageError
from ..events import RankedModel
from ..models import Category, Language, Metric, Stage, Workload
from ..ports import ModelChoice, Observation
from . import ranking, seed

log = logging.getLogger("perforch.memory")
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26
BUSY_TIMEOUT_S = 30.0  # how long a connection waits for another's write transaction


class _Damaged(sqlite3.DatabaseError):
    """The database's own integrity check failed."""


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    """Whether ``exc`` says the file itself is damaged — not that it is busy, locked or
    read-only, which would pass: only a damaged database is set aside."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, _Damaged) or (
        code is not None
        and code & 0xFF
        in (
            _SQLITE_CORRUPT,
            _SQLITE_NOTADB,
        )
    )


async def _use_wal(db: aiosqlite.Connection) -> None:
    """Switch to WAL. On a new file another connection may be switching it at the same moment,
    and SQLite answers that with "database is locked" at once, without waiting: ask again,
    until the busy timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUSY_TIMEOUT_S
    while True:
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Scope:
    """Which evidence a ranking may use: observations from ``sources`` only (None: all),
    none about ``exclude_problems``, and the paper's priors or not."""

    exclude_problems: frozenset[str] = frozenset()
    sources: frozenset[str] | None = None
    priors: bool = True


def default_path() -> Path:
    import os

    base = os.environ.get("PERFORCH_DATA") or Path.home() / ".local" / "share" / "perforch"
    return Path(base) / "memory.sqlite"


def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files(__package__).joinpath("migrations")
    out = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            out.append((int(entry.name.split("_", 1)[0]), entry.name, entry.read_text()))
    return sorted(out)


class Memory:
    """The Memory store. Implements the core's ``MemoryPort``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.set_aside: Path | None = None  # where a damaged database was moved, if it was
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    # -- connection ------------------------------------------------------------------------
    async def _conn(self) -> aiosqlite.Connection:
        if self._db is not None:
            return self._db
        async with self._lock:
            if self._db is None:
                self._db = await self._open()
        return self._db

    async def _open(self) -> aiosqlite.Connection:
        if self.path.exists() and self.path.is_file():
            with self.path.open("rb") as fh:
                head = fh.read(16)
            if head and head != b"SQLite format 3\x00":
                raise StorageError(
                    f"{self.path} is not a PerfOrch Memory database (not SQLite)",
                    hint="it was left untouched; move it away or point --memory elsewhere",
                )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return await self._connect(check=self.path.exists())
        except sqlite3.DatabaseError as exc:
            if not (self.path.exists() and _damaged(exc)):  # e.g. locked by another process
                raise StorageError(f"cannot open Memory at {self.path}: {exc}") from exc
            self.set_aside = self._set_aside(str(exc))
        try:
            return await self._connect(check=False)
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"cannot open Memory at {self.path}: {exc}") from exc

    async def _connect(self, check: bool) -> aiosqlite.Connection:
        # A writer (another connection seeding a new Memory) may hold the lock for seconds.
        db = await aiosqlite.connect(self.path, timeout=BUSY_TIMEOUT_S)
        try:
            if check:  # an existing file: its pages must be sound before anything is written
                found = await (await db.execute("PRAGMA quick_check(1)")).fetchone()
                if found is None or found[0] != "ok":
                    raise _Damaged(f"integrity check: {found[0] if found else '?'}")
            await _use_wal(db)
            await db.execute("PRAGMA foreign_keys=ON")
            db.row_factory = aiosqlite.Row
            await self._migrate(db)
        except BaseException:
            await db.close()
            raise
        return db

    def _set_aside(self, why: str) -> Path:
        """Move the damaged database (and its WAL and shared-memory files) out of the way."""
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{self.path}{suffix}")
            if part.exists():
                part.rename(Path(f"{aside}{suffix}"))
        log.warning(
            "Memory at %s is damaged (%s): set aside as %s, a new Memory starts there",
            self.path,
            why,
            aside,
        )
        return aside

    async def _migrate(self, db: aiosqlite.Connection) -> None:
        found = (await (await db.execute("PRAGMA user_version")).fetchone())[0]  # type: ignore[index]
        for number, name, sql in _migrations():
            if number <= found:  # done: nothing written (a read-only Memory still opens)
                continue
            try:
                # IMMEDIATE, then the version read inside: another connection (a CodeLens
                # beside the first job, the CLI beside the editor) may be migrating the same
                # new file right now; this one waits for it and then finds the step done.
                await db.execute("BEGIN IMMEDIATE")
                version = (await (await db.execute("PRAGMA user_version")).fetchone())[0]  # type: ignore[index]
                if number <= version:
                    await db.rollback()
                    continue
                for statement in sql.split(";\n"):
                    if statement.strip():
                        await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {number}")
                await db.commit()
            except sqlite3.Error as exc:
                await db.rollback()
                raise StorageError(f"Memory migration {name} failed: {exc}") from exc

    async def aclose(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def __aenter__(self) -> Memory:
        await self._conn()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _execute(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        db = await self._conn()
        try:
            cursor = await db.execute(sql, tuple(params))
            rows = await cursor.fetchall()
            await db.commit()
            return list(rows)
        except sqlite3.Error as exc:
            raise StorageError(f"Memory query failed: {exc}") from exc

    # -- models and seeding ----------------------------------------------------------------
    async def upsert_model(
        self,
        name: str,
        display_name: str,
        provider: str,
        paper_name: str | None = None,
        enabled: bool = True,
    ) -> None:
        await self._execute(
            "INSERT INTO models (name, display_name, provider, paper_name, added_at, enabled) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
            "display_name=excluded.display_name, provider=excluded.provider, "
            "paper_name=excluded.paper_name",
            (name, display_name, provider, paper_name, _now(), int(enabled)),
        )

    async def seed(self) -> int:
        """Load the paper's tables, the shipped local-model notes and the committed study once
        per seed version."""
        rows = await self._execute("SELECT value FROM meta WHERE key = 'seed_version'")
        if rows and rows[0]["value"] == seed.SEED_VERSION:
            return 0
        db = await self._conn()
        priors = seed.paper_priors()
        notes = seed.notes_observations() + seed.study_observations()
        try:
            await db.execute("BEGIN IMMEDIATE")  # then look again: another may have seeded
            cursor = await db.execute("SELECT value FROM meta WHERE key = 'seed_version'")
            found = await cursor.fetchone()
            if found is not None and found[0] == seed.SEED_VERSION:
                await db.rollback()
                return 0
            await db.execute("DELETE FROM priors WHERE source = 'paper'")
            await db.executemany(
                "INSERT OR REPLACE INTO priors (model, stage, language, category, metric, "
                "trials, successes, median_improvement, source) VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (
                        p.model,
                        p.stage,
                        p.language,
                        p.category,
                        p.metric,
                        p.trials,
                        p.successes,
                        p.median_improvement,
                        "paper",
                    )
                    for p in priors
                ],
            )
            marks = ",".join("?" * len(seed.SEEDED_SOURCES))
            await db.execute(
                f"DELETE FROM observations WHERE source IN ({marks})", seed.SEEDED_SOURCES
            )
            await self._insert_observations(db, notes)
            await db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('seed_version', ?)",
                (seed.SEED_VERSION,),
            )
            await db.commit()
        except sqlite3.Error as exc:
            await db.rollback()
            raise StorageError(f"seeding Memory failed: {exc}") from exc
        return len(priors) + len(notes)

    async def _insert_observations(
        self, db: aiosqlite.Connection, observations: Sequence[Observation]
    ) -> None:
        await db.executemany(
            "INSERT INTO observations (model, stage, language, categories, metric, problem_id, "
            "success, improvement, source, timestamp) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    o.model,
                    o.stage.value,
                    o.language.value,
                    ",".join(c.value for c in o.categories),
                    o.metric.value if o.metric else None,
                    o.problem_id,
                    int(o.success),
                    o.improvement_pct,
                    o.source,
                    _now(),
                )
                for o in observations
            ],
        )

    # -- MemoryPort ------------------------------------------------------------------------
    async def record(self, observations: Sequence[Observation]) -> None:
        if not observations:
            return
        db = await self._conn()
        try:
            await self._insert_observations(db, observations)
            await db.commit()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot record outcomes in Memory: {exc}") from exc

    async def record_choice(self, choice: ModelChoice) -> None:
        """A model picked by hand for a stage (kept apart from measured outcomes)."""
        db = await self._conn()
        try:
            await db.execute(
                "INSERT INTO choices (stage, language, categories, metric, offered_first, picked,"
                " problem_id, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    choice.stage.value,
                    choice.language.value,
                    ",".join(c.value for c in choice.categories),
                    choice.metric.value if choice.metric else None,
                    choice.offered_first,
                    choice.picked,
                    choice.problem_id,
                    _now(),
                ),
            )
            await db.commit()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot record the model choice in Memory: {exc}") from exc

    async def observed_keys(self, source: str) -> set[tuple[str, str, str, str, str]]:
        """(model, stage, language, metric or "", problem) of every observation from
        ``source``: what a study has already done."""
        rows = await self._execute(
            "SELECT DISTINCT model, stage, language, COALESCE(metric, '') AS metric, problem_id"
            " FROM observations WHERE source=?",
            (source,),
        )
        return {(r["model"], r["stage"], r["language"], r["metric"], r["problem_id"]) for r in rows}

    async def observations(self, source: str) -> list[Observation]:
        """Every observation from ``source`` (for export)."""
        rows = await self._execute(
            "SELECT * FROM observations WHERE source=? ORDER BY id", (source,)
        )
        return [
            Observation(
                model=r["model"],
                stage=Stage(r["stage"]),
                language=Language(r["language"]),
                categories=tuple(
                    Category(c)
                    for c in (r["categories"] or "").split(",")
                    if c in Category._value2member_map_
                ),
                metric=Metric(r["metric"]) if r["metric"] else None,
                problem_id=r["problem_id"],
                success=bool(r["success"]),
                improvement_pct=r["improvement"],
                source=r["source"],
            )
            for r in rows
        ]

    async def cached_categories(self, problem_id: str, tagger: str) -> tuple[Category, ...] | None:
        rows = await self._execute(
            "SELECT categories FROM categories_cache WHERE problem_id=? AND tagger=?",
            (problem_id, tagger),
        )
        if not rows:
            return None
        names = [c for c in str(rows[0]["categories"]).split(",") if c]
        return tuple(Category(c) for c in names if c in Category._value2member_map_)

    async def cache_categories(
        self, problem_id: str, tagger: str, categories: Sequence[Category]
    ) -> None:
        db = await self._conn()
        try:
            await db.execute(
                "INSERT OR REPLACE INTO categories_cache (problem_id, tagger, categories)"
                " VALUES (?, ?, ?)",
                (problem_id, tagger, ",".join(c.value for c in categories)),
            )
            await db.commit()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot cache categories in Memory: {exc}") from exc

    async def cached_workload(self, key: str) -> Workload | None:
        rows = await self._execute("SELECT workload FROM workloads WHERE key=?", (key,))
        if not rows:
            return None
        try:
            return Workload.model_validate_json(str(rows[0]["workload"]))
        except ValueError:
            return None  # written by another version: generate it again

    async def cache_workload(self, key: str, workload: Workload) -> None:
        db = await self._conn()
        try:
            await db.execute(
                "INSERT OR REPLACE INTO workloads (key, workload) VALUES (?, ?)",
                (key, workload.model_dump_json()),
            )
            await db.commit()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot cache a workload in Memory: {exc}") from exc

    async def choices(self, stage: Stage | None = None) -> list[dict[str, Any]]:
        """Hand-picked models, newest first."""
        where, params = ("WHERE stage=?", (stage.value,)) if stage else ("", ())
        rows = await self._execute(f"SELECT * FROM choices {where} ORDER BY id DESC", params)
        return [dict(r) for r in rows]

    async def _paper_names(self, models: Sequence[str]) -> dict[str, str]:
        if not models:
            return {}
        marks = ",".join("?" * len(models))
        rows = await self._execute(
            f"SELECT name, paper_name FROM models WHERE name IN ({marks}) "
            "AND paper_name IS NOT NULL",
            models,
        )
        return {r["name"]: r["paper_name"] for r in rows}

    async def evidence(
        self,
        stage: Stage,
        language: Language,
        metric: Metric | None,
        models: Sequence[str],
        scope: Scope | None = None,
    ) -> dict[str, ranking.ModelEvidence]:
        refine = stage is Stage.REFINE
        metric_key = metric.value if (refine and metric) else ""
        out = {m: ranking.ModelEvidence() for m in models}
        scope = scope or Scope()
        paper = await self._paper_names(models) if scope.priors else {}
        by_paper = {v: k for k, v in paper.items()}
        if by_paper:
            marks = ",".join("?" * len(by_paper))
            rows = await self._execute(
                f"SELECT * FROM priors WHERE stage=? AND language=? AND metric=? "
                f"AND model IN ({marks})",
                (stage.value, language.value, metric_key, *by_paper),
            )
            for r in rows:
                ev = out[by_paper[r["model"]]]
                mean_gain = min(r["median_improvement"] or 0.0, 100.0) / 100.0
                value = r["successes"] * (mean_gain if refine else 1.0)
                target = ev.category(r["category"]) if r["category"] else ev.language
                target.add_prior(r["trials"], value)
        marks = ",".join("?" * len(models))
        sql = (
            f"SELECT model, categories, success, improvement FROM observations "
            f"WHERE stage=? AND language=? AND model IN ({marks})"
        )
        params: list[Any] = [stage.value, language.value, *models]
        if refine and metric:
            sql += " AND metric=?"
            params.append(metric.value)
        if scope.sources is not None:
            sql += f" AND source IN ({','.join('?' * len(scope.sources))})"
            params.extend(sorted(scope.sources))
        if scope.exclude_problems:
            sql += f" AND problem_id NOT IN ({','.join('?' * len(scope.exclude_problems))})"
            params.extend(sorted(scope.exclude_problems))
        for r in await self._execute(sql, params):
            value = float(bool(r["success"]))
            if refine:
                value = (
                    min(max(r["improvement"] or 0.0, 0.0), 100.0) / 100.0 if r["success"] else 0.0
                )
            ev = out[r["model"]]
            ev.language.add_observation(value)
            for c in filter(None, (r["categories"] or "").split(",")):
                ev.category(c).add_observation(value)
        return out

    async def rank(
        self,
        stage: Stage,
        language: Language,
        categories: Sequence[Category],
        metric: Metric | None,
        candidates: Sequence[str],
        scope: Scope | None = None,
    ) -> list[RankedModel]:
        """``candidates`` best first for this context; ``scope`` limits the evidence (an
        evaluation must not rank with what was measured on the problems it is scored on)."""
        evidence = await self.evidence(stage, language, metric, candidates, scope)
        note = ""
        if stage is not Stage.GENERATE and not any(e.language.trials for e in evidence.values()):
            # No model has data for this stage yet: generation skill is the best proxy we have.
            evidence = await self.evidence(Stage.GENERATE, language, None, candidates, scope)
            note = f"no {stage.value} data yet, ranked by generation: "
            stage_for_rank = Stage.GENERATE
        else:
            stage_for_rank = stage
        overall = await self.overall_record(stage_for_rank, metric, candidates, scope)
        scores = ranking.rank(
            evidence,
            [c.value for c in categories],
            refine=stage_for_rank is Stage.REFINE,
            overall=overall,
        )
        return [
            RankedModel(
                model=s.model,
                score=round(s.score, 4),
                why=note + s.why,
                observations=s.observations,
            )
            for s in scores
        ]

    async def overall_record(
        self,
        stage: Stage,
        metric: Metric | None,
        models: Sequence[str],
        scope: Scope | None = None,
    ) -> dict[str, float]:
        """Each model's mean value for ``stage`` over every language (what breaks a tie)."""
        totals = {m: ranking.Evidence() for m in models}
        for language in Language:
            for model, ev in (await self.evidence(stage, language, metric, models, scope)).items():
                totals[model].prior_trials += ev.language.trials
                totals[model].prior_value += ev.language.value
        return {m: e.value / e.trials for m, e in totals.items() if e.trials > 0}

    async def observation_count(self, source: str | None = None) -> int:
        if source:
            rows = await self._execute(
                "SELECT COUNT(*) AS n FROM observations WHERE source=?", (source,)
            )
        else:
            rows = await self._execute("SELECT COUNT(*) AS n FROM observations")
        return int(rows[0]["n"])
