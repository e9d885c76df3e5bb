"""A CodeLens names the model the Memory ranks first, also before the first job has created the
user's Memory file (seen on a fresh editor on toolz: the lens said no model): the ranking then
comes from what a new Memory holds, and the lens does not create the file."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types as lsp

from perforch_core.models import Language, Metric
from server.lsp import lenses

POOL = ["local/qwen2.5-coder-0.5b", "local/qwen2.5-coder-1.5b"]


async def test_a_lens_names_the_seeded_top_model_without_creating_the_memory(tmp_path: Path):
    missing = tmp_path / "memory.sqlite"
    lens = lsp.CodeLens(
        range=lsp.Range(
            start=lsp.Position(line=0, character=0), end=lsp.Position(line=1, character=0)
        ),
        data={"uri": "file:///m.py", "function": "f", "action": "fix"},
    )
    try:
        fix = await lenses.resolve(lens, Language.PYTHON, Metric.EXEC_TIME, missing, POOL, "")
    finally:
        await lenses.aclose()
    assert fix.command is not None
    # The shipped study: the 1.5B fixes 11/20 Python bugs, the 0.5B 1/20.
    assert fix.command.title == "Fix · qwen2.5-coder-1.5b"
    assert not missing.exists()


async def test_concurrent_lenses_all_rank_from_a_fully_seeded_memory(tmp_path: Path):
    """The editor resolves every lens on screen at once: each names the same top model (none
    ranks from a half-seeded database, none fails), and the seeding happens once."""
    import asyncio

    missing = tmp_path / "memory.sqlite"
    shown = [
        lsp.CodeLens(
            range=lsp.Range(
                start=lsp.Position(line=i, character=0), end=lsp.Position(line=i + 1, character=0)
            ),
            data={"uri": "file:///m.py", "function": f"f{i}", "action": "fix"},
        )
        for i in range(40)
    ]
    try:
        resolved = await asyncio.gather(
            *(
                lenses.resolve(lens, Language.PYTHON, Metric.EXEC_TIME, missing, POOL, "")
                for lens in shown
            )
        )
        assert len(lenses._memories) == 1
    finally:
        await lenses.aclose()
    assert {lens.command.title for lens in resolved if lens.command} == {"Fix · qwen2.5-coder-1.5b"}
    assert not missing.exists()
