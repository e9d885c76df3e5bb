"""CodeLens above each function: "⚡ Optimize (exec time) · Fix · Generate", each naming the
model the Memory ranks first for that stage, the function's language and its categories. The
lenses are listed from the document's parsed functions (cached per version) and resolved one
at a time as the editor shows them, so a large file costs one parse and no Memory query until
a lens is on screen."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from perforch_core.errors import StorageError
from perforch_core.llm import settings as model_settings
from perforch_core.memory.store import Memory
from perforch_core.models import Action, Language, Metric, Stage
from perforch_core.source import Function
from perforch_core.tagging import keyword_categories

from . import convert

STAGE_OF = {Action.OPTIMIZE: Stage.REFINE, Action.FIX: Stage.FIX, Action.GENERATE: Stage.GENERATE}
ORDER = (Action.OPTIMIZE, Action.FIX, Action.GENERATE)
log = logging.getLogger("perforch.lsp")


_memories: dict[Path, Memory] = {}  # one connection per Memory file, for every lens
SEEDS_ONLY = Path(":memory:")  # before the first job creates the Memory file: what it will hold
_opening: asyncio.Lock | None = None  # made on first use, in the server's loop


async def _memory(path: Path) -> Memory:
    """The Memory at ``path``; where there is none yet, what a new one holds (the shipped
    study and notes, seeded into an in-memory database: a lens never creates the user's file).
    Opened and seeded under a lock: the editor resolves the lenses on screen concurrently,
    and none may rank from a half-seeded database."""
    global _opening
    key = path if path.exists() else SEEDS_ONLY
    if key in _memories:
        return _memories[key]
    if _opening is None:
        _opening = asyncio.Lock()
    async with _opening:
        if key not in _memories:
            memory = Memory(key)
            if key == SEEDS_ONLY:
                try:
                    await memory.seed()
                except BaseException:
                    await memory.aclose()
                    raise
            _memories[key] = memory
    return _memories[key]


async def aclose() -> None:
    """Close the lenses' Memory connections (the server is stopping)."""
    global _opening
    for memory in _memories.values():
        await memory.aclose()
    _memories.clear()
    _opening = None


def lenses(uri: str, functions: list[Function]) -> list[lsp.CodeLens]:
    """Three unresolved lenses on each function's first line."""
    return [
        lsp.CodeLens(
            range=convert.lines_range(f.start, f.start + 1),
            data={"uri": uri, "function": f.name, "action": action.value},
        )
        for f in functions
        for action in ORDER
    ]


def title(action: Action, metric: Metric, top: str | None) -> str:
    what = {
        Action.OPTIMIZE: f"⚡ Optimize ({metric.label})",
        Action.FIX: "Fix",
        Action.GENERATE: "Generate",
    }[action]
    return f"{what} · {top.removeprefix('local/')}" if top else what


async def resolve(
    lens: lsp.CodeLens,
    language: Language,
    metric: Metric,
    memory_path: Path,
    models: list[str],
    doc: str,
) -> lsp.CodeLens:
    """The lens's command: the action on its function, titled with the model the Memory ranks
    first for the function's categories (read from ``doc``, its docstring or comment: the
    listed lenses carry only names, so a 2,000-line file's list stays small)."""
    data: dict[str, Any] = lens.data if isinstance(lens.data, dict) else {}
    action = Action(data.get("action", Action.OPTIMIZE.value))
    pool = models or model_settings.default_pool(model_settings.load())
    top: str | None = None
    if pool:
        try:
            ranked = await (await _memory(memory_path)).rank(
                STAGE_OF[action],
                language,
                keyword_categories(doc),
                metric if action is Action.OPTIMIZE else None,
                pool,
            )
            top = ranked[0].model if ranked else None
        except StorageError as exc:  # a Memory that cannot be read: the lens without a model
            log.info("CodeLens without a model: %s", exc)
            top = None
    name = title(action, metric, top)
    args = [
        data.get("uri"),
        data.get("function"),
        metric.value if action is Action.OPTIMIZE else None,
        False,
    ]
    command = lsp.Command(title=name, command=convert.COMMANDS[action], arguments=args)
    return lsp.CodeLens(range=lens.range, command=command, data=lens.data)
