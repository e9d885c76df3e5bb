"""Whole jobs through the real ``perforch lsp``: real local models (served by the project's
llama.cpp server, started by the language server), the real profiler daemon."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import local_models_installed
from tests.text_checks import same_but_added_imports

pytestmark = [pytest.mark.llm, pytest.mark.slow]

BIG = "local/qwen2.5-coder-1.5b"
TINY = "local/smollm2-135m"

# The demo's function: Qwen2.5-Coder 1.5B reliably replaces its O(n²) loop.
SLOW = (Path(__file__).parents[2] / "examples" / "slow_functions.py").read_text()

BROKEN = '''def add(a, b):
    """
    >>> add(2, 3)
    5
    """
    return a - b
'''


@pytest.fixture(autouse=True)
def _models_present():
    assert local_models_installed("qwen2.5-coder-1.5b", "smollm2-135m"), (
        "local models missing: run scripts/setup.sh"
    )


class Recorder:
    """What the client received, and its answers to the server's questions."""

    def __init__(self, client: LanguageClient, pick: str | None) -> None:
        self.events: list[dict[str, Any]] = []
        self.questions: list[types.ShowMessageRequestParams] = []
        self.edits: list[types.ApplyWorkspaceEditParams] = []
        self.pick = pick

        self.arrived = asyncio.Event()

        @client.feature("perforch/jobEvent")
        def job_event(params: Any) -> None:
            self.events.append(_plain(params)["event"])
            self.arrived.set()

        self.ended: list[dict[str, Any]] = []

        @client.feature("perforch/jobEnded")
        def job_ended(params: Any) -> None:
            self.ended.append(_plain(params))
            self.arrived.set()

        @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def question(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
            self.questions.append(params)
            for action in params.actions or []:
                if self.pick and action.title.startswith(self.pick + " "):
                    return action
            return None

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            self.edits.append(params)
            return types.ApplyWorkspaceEditResult(applied=True)

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.events]

    async def wait_for(self, kind: str) -> None:
        async with asyncio.timeout(300):
            while True:
                self.arrived.clear()
                if kind in self.kinds():
                    return
                await self.arrived.wait()

    async def end_of(self, token: str) -> dict[str, Any]:
        """The job's ``perforch/jobEnded`` notification (its last word, after the progress)."""
        async with asyncio.timeout(60):
            while True:
                self.arrived.clear()
                for ended in self.ended:
                    if ended["token"] == token:
                        return ended
                await self.arrived.wait()


def _plain(value: Any) -> Any:
    """pygls hands custom notifications over as named tuples: back to JSON-like values."""
    if hasattr(value, "_asdict"):
        value = value._asdict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _kind(value: Any) -> str:
    return getattr(value, "kind", None) or value.get("kind")


async def _until_ended(client: LanguageClient, token: str) -> list[Any]:
    """The token's progress reports once its end has arrived (within 10 minutes)."""
    async with asyncio.timeout(600):
        while True:
            reports = client.progress_reports.get(token, [])
            if reports and _kind(reports[-1]) == "end":
                return reports
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(client.wait_for_notification(types.PROGRESS), 1)


def _descendants(pid: int) -> list[int]:
    """Live descendants of ``pid`` (from /proc), zombies excluded."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _open(client: LanguageClient, path: Path, text: str) -> str:
    path.write_text(text)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=path.as_uri(), language_id="python", version=1, text=text
            )
        )
    )
    return path.as_uri()


def _apply(text: str, edit: types.WorkspaceEdit) -> str:
    change = edit.document_changes[0]  # type: ignore[index]
    lines = text.splitlines(keepends=True)
    # Hunks are ranges of the original: applied from the last, earlier ones keep their lines.
    for e in sorted(change.edits, key=lambda e: e.range.start.line, reverse=True):  # type: ignore[union-attr]
        start, end = e.range.start.line, e.range.end.line
        lines[start:end] = [e.new_text]
    return "".join(lines)


async def test_optimize_with_a_chosen_model_ends_in_an_annotated_reviewed_edit(
    client: LanguageClient, tmp_path: Path
):
    rec = Recorder(client, pick=BIG)
    path = tmp_path / "slow_functions.py"
    uri = _open(client, path, SLOW)
    started = time.monotonic()
    reply = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="perforch.optimize", arguments=[uri, "has_duplicates", "exec_time", True]
        )
    )
    token = reply["token"]
    reports = await _until_ended(client, token)
    assert _kind(reports[0]) == "begin" and reports[0].cancellable
    assert any("asking " + BIG in (getattr(r, "message", "") or "") for r in reports)
    # The question listed the Memory's ranking with scores; the pick was honoured.
    assert rec.questions, "no model question"
    titles = [a.title for a in rec.questions[0].actions or []]
    assert any(t.startswith(BIG + " (") and "score" in t for t in titles), titles
    chosen = [e for e in rec.events if e["kind"] == "model_chosen"]
    assert chosen and all(e["model"] == BIG for e in chosen)
    assert chosen[0]["why"].startswith("chosen by you")
    kinds = rec.kinds()
    assert kinds[0] == "job_started" and kinds[-1] in ("job_finished", "job_failed"), kinds
    assert "measurement_sample" in kinds, kinds
    ended = await rec.end_of(token)
    assert ended["status"] == "succeeded" and ended["message"].startswith("exec time")
    # The reviewed edit: annotated with what was measured, confirmation required.
    assert len(rec.edits) == 1, (kinds, client.messages)
    edit = rec.edits[0].edit
    # One annotated edit per hunk, each labelled with its lines and what was measured.
    annotations = edit.change_annotations or {}
    hunks = edit.document_changes[0].edits  # type: ignore[index,union-attr]
    assert [h.annotation_id for h in hunks] == [
        f"perforch.result.{n}" for n in range(1, len(hunks) + 1)
    ]
    assert set(annotations) == {h.annotation_id for h in hunks}
    for n, annotation in enumerate(annotations.values(), start=1):
        assert annotation.needs_confirmation is True
        assert annotation.label.startswith(f"change {n} of {len(hunks)} (")
        assert "exec time −" in annotation.label and "95 % CI" in annotation.label
        assert annotation.label.endswith(BIG)
    change = edit.document_changes[0]  # type: ignore[index]
    assert change.text_document.version == 1  # type: ignore[union-attr]
    new_text = _apply(SLOW, edit)
    head, tail = SLOW.split("def has_duplicates")[0], SLOW.split("def count_primes")[1]
    # The rest byte for byte (a new import the result needs goes into the import block).
    assert same_but_added_imports(new_text.split("def has_duplicates")[0], head)
    assert new_text.endswith(tail)
    assert new_text != SLOW
    namespace: dict[str, Any] = {}
    exec(compile(new_text, "slow_functions.py", "exec"), namespace)
    assert namespace["has_duplicates"]([3, 1, 4, 1]) is True
    assert namespace["has_duplicates"](list(range(50))) is False
    # The pick is in Memory.
    with sqlite3.connect(tmp_path / "memory.sqlite") as db:
        rows = db.execute("SELECT stage, picked FROM choices").fetchall()
    assert ("refine", BIG) in rows
    assert time.monotonic() - started < 600
    # Shutdown stops the services the job started (the llama.cpp server, the profiler daemon).
    server = client._server
    assert server is not None
    services = _descendants(server.pid)
    assert len(services) >= 2, services
    await client.shutdown_async(None)
    client.exit(None)
    await asyncio.wait_for(server.wait(), 30)
    client.capabilities = None  # the fixture's own shutdown has nothing left to do
    for _ in range(150):  # polling /proc: there is nothing to wait on
        left = [pid for pid in services if Path(f"/proc/{pid}").exists()]
        if not left:
            break
        await asyncio.sleep(0.2)
    assert not left, f"still running after shutdown: {left}"


async def test_cancelling_the_progress_cancels_the_job_and_ends_the_progress(
    client: LanguageClient, tmp_path: Path
):
    rec = Recorder(client, pick=None)
    uri = _open(client, tmp_path / "slow_functions.py", SLOW)
    reply = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="perforch.optimize", arguments=[uri, "has_duplicates", None, False]
        )
    )
    token = reply["token"]
    await rec.wait_for("model_chosen")
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    reports = await _until_ended(client, token)
    assert reports[-1].message == "cancelled"
    assert rec.kinds()[-1] == "job_cancelled"
    ended = await rec.end_of(token)
    assert ended["status"] == "cancelled"
    assert (ended["function"], ended["uri"]) == ("has_duplicates", uri)
    assert rec.edits == []
    # Still serving.
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(18, 4), end=types.Position(18, 4)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert result


async def test_failing_tests_show_as_diagnostics_and_closing_mid_job_is_survived(
    client: LanguageClient, tmp_path: Path
):
    # A richer client: it answers perforch/chooseModel itself, and wants results applied.
    settings = {
        "models": [TINY],
        "modelPicker": "custom",
        "autoApply": True,
        "memoryPath": str(tmp_path / "memory.sqlite"),  # a new configuration replaces it all
    }
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"perforch": settings})
    )
    rec = Recorder(client, pick=None)
    asked: list[Any] = []

    @client.feature("perforch/chooseModel")
    def choose(params: Any) -> dict[str, str]:
        asked.append(_plain(params))
        return {"model": TINY}

    path = tmp_path / "calc.py"
    uri = _open(client, path, BROKEN)
    reply = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="perforch.fix", arguments=[uri, "add", None, True])
    )
    token = reply["token"]
    await rec.wait_for("model_chosen")  # after the original's tests ran (and were published)
    diagnostics = client.diagnostics.get(uri, [])
    assert diagnostics and diagnostics[0].source == "perforch", client.diagnostics
    assert diagnostics[0].range.start.line == 0 and "tests fail" in diagnostics[0].message
    # The user closes the file while the model works: the job goes on, nothing breaks.
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    reports = await _until_ended(client, token)
    assert _kind(reports[-1]) == "end"
    assert rec.kinds()[-1] in ("job_finished", "job_failed")
    assert asked and asked[0]["stage"] == "fix" and asked[0]["function"] == "add"
    assert [r["model"] for r in asked[0]["ranking"]] == [TINY]
    assert rec.questions == []  # the custom request replaced the message question
    assert [e["model"] for e in rec.events if e["kind"] == "model_chosen"] == [TINY]
    if rec.edits:  # SmolLM2 fixed it: the edit targets the file on disk, unversioned
        edit = rec.edits[0].edit
        change = edit.document_changes[0]  # type: ignore[index]
        assert change.text_document.version is None  # type: ignore[union-attr]
        annotations = (edit.change_annotations or {}).values()
        assert annotations and not any(a.needs_confirmation for a in annotations)  # autoApply
    assert path.read_text() == BROKEN  # the server never writes files itself


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "projects"


async def test_optimize_in_a_go_module_is_judged_by_its_tests_and_the_edit_adds_the_import(
    client: LanguageClient, tmp_path: Path
):
    """A function of a Go module (a package of several files, testify from the module cache):
    the job runs the package's tests that exercise it, and a result that needs a new import
    arrives as one reviewed edit that puts the import into the file's import block."""
    import shutil

    project = tmp_path / "textstats"
    shutil.copytree(FIXTURES / "go" / "textstats", project)
    path = project / "words.go"
    text = path.read_text()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=path.as_uri(), language_id="go", version=1, text=text
            )
        )
    )
    rec = Recorder(client, pick=BIG)
    reply = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="perforch.optimize", arguments=[path.as_uri(), "TopWords", "exec_time", True]
        )
    )
    token = reply["token"]
    await _until_ended(client, token)
    ended = await rec.end_of(token)
    runs = [e for e in rec.events if e["kind"] == "tests_run"]
    assert runs and runs[0]["model"] is None, rec.kinds()
    first = runs[0]["outcome"]
    assert first["passed"] and first["total"] == 2, first  # TestTopWords, TestTopWordsLong
    assert ended["status"] == "succeeded", ended
    if not rec.edits:  # no significant gain: said, nothing offered
        assert "no significant improvement" in ended["message"] or "unchanged" in ended["message"]
        return
    new_text = _apply(text, rec.edits[0].edit)
    assert new_text.startswith("// Package textstats")
    head = new_text.split("func Frequencies")[0]
    if "sort." in new_text:  # the reply needed "sort": it is in the import block, once
        assert head.count('"sort"') == 1 and new_text.count('"sort"') == 1, head
    assert new_text.split("// Unique returns")[1] == text.split("// Unique returns")[1]
    assert path.read_text() == text  # the client applied nothing to disk
