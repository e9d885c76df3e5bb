"""CodeLens above each function: "⚡ Optimize (exec time) · Fix · Generate", each naming the
model the Memory ranks first for that stage, the function's language and its categories. The
lenses are listed from the document's parsed functions (cached per version) and resolved one
at a time as the editor shows them, so a large file costs one parse and no Memory query until
a lens is on screen."""

from __future__ import annotations

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


_memories: dict[Path, Memory] = {}  # one connection per Memory file, for every lens


def _memory(path: Path) -> Memory:
    if path not in _memories:
        _memories[path] = Memory(path)
    return _memories[path]


async def aclose() -> None:
    """Close the lenses' Memory connections (the server is stopping)."""
    for memory in _memories.values():
        await memory.aclose()
    _memories.clear()


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
    if pool and memory_path.exists():
        try:
            ranked = await _memory(memory_path).rank(
                STAGE_OF[action],
                language,
                keyword_categories(doc),
                metric if action is Action.OPTIMIZE else None,
                pool,
            )
            top = ranked[0].model if ranked else None
        except StorageError:  # a Memory that cannot be read: the lens without a model
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
