"""``perforch lsp``: the pygls language server. Handlers are thin adapters: convert the request,
call the core once (through ``server.app`` and ``lsp.jobs``), convert back.

State kept here: the settings, the running jobs by progress token, the diagnostics per document,
and the composition root (profiler daemon, local model server, Memory), started by the first
job that needs it and stopped on shutdown.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from perforch_core import changes, source
from perforch_core.errors import PerfOrchError
from perforch_core.models import Action, Language, Metric, Task

from ..app import App, AppConfig
from ..background import Background
from . import convert, job_store, jobs, lenses, tests_feature, workload_feature
from .job_store import JobStore
from .settings import Settings, parse

log = logging.getLogger("perforch.lsp")
VERSION = "0.1.0"
MAX_DOCUMENT_CHARS = 4_000_000  # larger documents get no actions (a parse would stall the server)


class Protocol(LanguageServerProtocol):
    """pygls's protocol, also taking a message without ``params``: JSON-RPC lets a client omit
    them, and vscode-languageclient does for a request sent without arguments (the client's
    ``perforch/jobs`` after a window reload); pygls would answer it "Internal Error", shown as
    an error in VS Code at every start."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "method" in data and "params" not in data:
            data = {**data, "params": None}
        return super().structure_message(data)


class PerforchServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("perforch", VERSION, protocol_cls=Protocol)
        self.settings = Settings()
        self.background = Background()
        self.running: dict[str, jobs.EditorJob] = {}
        self.diagnostics: dict[str, dict[str, lsp.Diagnostic]] = {}
        self._app: App | None = None
        self._app_settings: Settings | None = None
        self._app_lock = asyncio.Lock()
        self._functions: dict[str, tuple[int, list[source.Function]]] = {}
        self._stores: dict[Path, JobStore] = {}  # by path: a job keeps the one it started with
        self.stopping = False  # set by shutdown: the jobs it cancels stay kept, to resume

    async def job_store(self) -> JobStore:
        """The kept jobs, beside the Memory the settings name."""
        path = self.settings.memory_path.parent / job_store.FILE_NAME
        if path not in self._stores:
            self._stores[path] = JobStore(path)
        return self._stores[path]

    def functions_of(
        self, uri: str, language: Language, text: str, version: int | None
    ) -> list[source.Function]:
        """The document's functions, parsed once per version; none for a document too large
        to parse on the editor's every keystroke (said once in the log)."""
        cached = self._functions.get(uri)
        if version is not None and cached is not None and cached[0] == version:
            return cached[1]
        if len(text) > MAX_DOCUMENT_CHARS:
            if cached is None or cached[1]:
                log.warning("%s has %d characters: no PerfOrch actions there", uri, len(text))
            self._functions[uri] = (version if version is not None else -1, [])
            return []
        functions = source.functions(language, text)
        if version is not None:
            self._functions[uri] = (version, functions)
        return functions

    def function_at(
        self, uri: str, language: Language, text: str, version: int | None, line: int
    ) -> source.Function | None:
        """The function at ``line``."""
        return source.innermost(self.functions_of(uri, language, text, version), line)

    def forget(self, uri: str) -> None:
        self._functions.pop(uri, None)
        self.diagnostics.pop(uri, None)

    def use_settings(self, raw: object) -> None:
        settings, problem = parse(raw)
        self.settings = settings
        if problem:
            self.window_show_message(
                lsp.ShowMessageParams(type=lsp.MessageType.Warning, message=problem)
            )

    async def app(self) -> App:
        """The composition root for the current settings (restarted when they changed and no
        job is using the old one)."""
        async with self._app_lock:
            # The calling job is in self.running: restart only when no other job uses it.
            stale = self._app is not None and self._app_settings != self.settings
            if stale and self._app is not None and len(self.running) <= 1:
                await self._app.aclose()
                self._app = None
            if self._app is None:
                config = AppConfig(
                    memory_path=self.settings.memory_path,
                    models=self.settings.models,
                    interpreter=self.settings.python,
                )
                self._app, self._app_settings = await App.open(config), self.settings
            return self._app

    async def stop(self) -> None:
        """Cancel the jobs (kept in the job store, to resume), stop the services."""
        self.stopping = True
        for job in self.running.values():
            job.cancelled = True
            if job.job is not None:
                job.job.cancel()
        await self.background.cancel_all()
        await lenses.aclose()
        if self._app is not None:
            await self._app.aclose()
            self._app = None
        for store in self._stores.values():  # an open connection's thread would hold the exit
            await store.aclose()


server = PerforchServer()


@server.feature(lsp.INITIALIZE)
def initialize(ls: PerforchServer, params: lsp.InitializeParams) -> None:
    ls.use_settings(params.initialization_options)


@server.feature(lsp.INITIALIZED)
async def initialized(ls: PerforchServer, params: lsp.InitializedParams) -> None:
    await _pull_configuration(ls)
    ls.background.spawn(jobs.resume(ls), name="perforch-resume")


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def configuration_changed(
    ls: PerforchServer, params: lsp.DidChangeConfigurationParams
) -> None:
    if params.settings:
        ls.use_settings(params.settings)
    else:
        await _pull_configuration(ls)


async def _pull_configuration(ls: PerforchServer) -> None:
    caps = ls.client_capabilities.workspace
    if caps is None or not caps.configuration:
        return
    try:
        values = await ls.workspace_configuration_async(
            lsp.ConfigurationParams(items=[lsp.ConfigurationItem(section="perforch")])
        )
    except Exception as exc:
        log.info("workspace/configuration failed: %s", exc)
        return
    if values and values[0] is not None:
        ls.use_settings(values[0])


@server.feature(
    lsp.TEXT_DOCUMENT_CODE_ACTION,
    lsp.CodeActionOptions(code_action_kinds=[convert.KIND], resolve_provider=False),
)
def code_action(ls: PerforchServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    language = source.language_of(doc.path)
    if language is None:
        return []
    try:
        text = doc.source
    except OSError:  # never opened and not on disk
        return []
    function = ls.function_at(doc.uri, language, text, doc.version, params.range.start.line)
    return convert.code_actions(doc.uri, function) if function else []


@server.feature(lsp.TEXT_DOCUMENT_CODE_LENS, lsp.CodeLensOptions(resolve_provider=True))
def code_lens(ls: PerforchServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens]:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    language = source.language_of(doc.path)
    if language is None:
        return []
    try:
        found = lenses.lenses(doc.uri, ls.functions_of(doc.uri, language, doc.source, doc.version))
    except OSError:
        found = []
    log.debug("codeLens: %d lenses on %s (version %s)", len(found), doc.uri, doc.version)
    return found


@server.feature(lsp.CODE_LENS_RESOLVE)
async def code_lens_resolve(ls: PerforchServer, lens: lsp.CodeLens) -> lsp.CodeLens:
    data = lens.data if isinstance(lens.data, dict) else {}
    doc = ls.workspace.get_text_document(str(data.get("uri", "")))
    language = source.language_of(Path(doc.path))
    if language is None:
        return lens
    try:
        found = ls.functions_of(doc.uri, language, doc.source, doc.version)
    except OSError:
        found = []
    words = next((f.doc for f in found if f.name == data.get("function")), "")
    s = ls.settings
    return await lenses.resolve(lens, language, s.metric, s.memory_path, s.models, words)


def _command(action: Action) -> Any:
    async def start(
        ls: PerforchServer,
        # Any: pygls structures command arguments by these annotations; checked below.
        uri: Any = None,
        function: Any = None,
        metric: Any = None,
        choose: Any = False,
    ) -> dict[str, str]:
        if not isinstance(uri, str) or not isinstance(function, str):
            raise JsonRpcInvalidParams(
                f"{convert.COMMANDS[action]} takes (uri, function name, metric or null, "
                "choose model: bool)"
            )
        try:
            metric_value = Metric(str(metric)) if metric else ls.settings.metric
        except ValueError:
            raise JsonRpcInvalidParams(
                f"unknown metric {metric!r}; one of {', '.join(m.value for m in Metric)}"
            ) from None
        doc = ls.workspace.get_text_document(uri)
        try:
            ls.settings.policy_for()  # a policy that cannot run is said before any work
            task = source.task_from_text(Path(doc.path), doc.source, function, metric=metric_value)
        except PerfOrchError as exc:
            message = str(exc)  # the hint is part of it
            ls.window_show_message(
                lsp.ShowMessageParams(type=lsp.MessageType.Error, message=f"PerfOrch: {message}")
            )
            return {"error": message}
        job = await _editor_job(ls, action, uri, task, metric_value, bool(choose))
        ls.background.spawn(jobs.run(ls, job, task), name=job.token)
        return {"token": job.token}

    return start


async def _editor_job(
    ls: PerforchServer, action: Action, uri: str, task: Task, metric: Metric, choose: bool
) -> jobs.EditorJob:
    """A job for ``task``, registered as running (cancellable) under a fresh token and kept
    in the job store as queued."""
    job = jobs.EditorJob(
        token=f"perforch-{uuid.uuid4().hex[:12]}",
        action=action,
        uri=uri,
        function=task.entry_point,
        metric=metric if action is Action.OPTIMIZE else None,
        choose=choose,
        original=task.current_code or "",  # what an edit may replace: the stub, for generate
    )
    ls.running[job.token] = job
    await (await ls.job_store()).add(job.token, job.request())
    return job


OPTIMIZE_CHANGED = "perforch.optimizeChanged"


@server.command(OPTIMIZE_CHANGED)
async def optimize_changed(
    ls: PerforchServer, where: Any = None, ref: Any = None, metric: Any = None
) -> dict[str, Any]:
    """Optimize every function the working tree's changes since ``ref`` (HEAD) touch, in the
    repository around ``where`` (a folder's or file's URI), one job after another."""
    if not isinstance(where, str):
        raise JsonRpcInvalidParams(f"{OPTIMIZE_CHANGED} takes (folder or file URI, ref, metric)")
    try:
        metric_value = Metric(str(metric)) if metric else ls.settings.metric
        ls.settings.policy_for()
        root = Path(ls.workspace.get_text_document(where).path)
        where_dir = root if root.is_dir() else root.parent
        found = await asyncio.to_thread(changes.changed_functions, where_dir, ref or "HEAD")
    except (PerfOrchError, ValueError) as exc:
        ls.window_show_message(
            lsp.ShowMessageParams(type=lsp.MessageType.Error, message=f"PerfOrch: {exc}")
        )
        return {"error": str(exc)}
    queued: list[tuple[jobs.EditorJob, Task]] = []
    listed: list[dict[str, Any]] = []
    for changed in found:
        uri = changed.path.as_uri()
        try:
            text = ls.workspace.get_text_document(uri).source
            task = source.task_from_text(changed.path, text, changed.function, metric=metric_value)
        except (PerfOrchError, OSError) as exc:
            listed.append({"uri": uri, "function": changed.function, "error": str(exc)})
            continue
        job = await _editor_job(ls, Action.OPTIMIZE, uri, task, metric_value, False)
        queued.append((job, task))
        listed.append({"uri": uri, "function": changed.function, "token": job.token})

    async def one_after_another() -> None:
        for job, task in queued:
            if not job.cancelled:
                await jobs.run(ls, job, task)
            else:
                ls.running.pop(job.token, None)
                await (await ls.job_store()).set_state(job.token, "ended", "cancelled")

    if queued:
        ls.background.spawn(one_after_another(), name=f"{OPTIMIZE_CHANGED}-{queued[0][0].token}")
    return {"jobs": listed}


for _action, _name in convert.COMMANDS.items():
    server.command(_name)(_command(_action))


@server.command(tests_feature.COMMAND)
async def show_tests_command(
    ls: PerforchServer, uri: Any = None, function: Any = None, run: Any = False
) -> dict[str, Any]:
    return await tests_feature.show_tests(ls, uri, function, bool(run))


@server.command(workload_feature.COMMAND)
async def save_workload_command(
    ls: PerforchServer, token: Any = None, target: Any = None
) -> dict[str, Any]:
    return await workload_feature.save_workload(ls, token, target)


@server.feature(jobs.LIST_JOBS)
async def list_jobs(ls: PerforchServer, params: Any = None) -> dict[str, Any]:
    """Every kept job with its events, for a client that starts again to re-attach."""
    return {"jobs": await jobs.kept(ls)}


@server.command("perforch.cancel")
def cancel_command(ls: PerforchServer, token: Any = None) -> bool:
    return _cancel(ls, str(token))


@server.feature(lsp.WINDOW_WORK_DONE_PROGRESS_CANCEL)
def progress_cancelled(ls: PerforchServer, params: lsp.WorkDoneProgressCancelParams) -> None:
    _cancel(ls, str(params.token))


def _cancel(ls: PerforchServer, token: str) -> bool:
    job = ls.running.get(token)
    if job is None:
        return False
    job.cancelled = True
    if job.job is not None:
        job.job.cancel()  # kills the profiler's processes for it, ends the progress
    return True


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: PerforchServer, params: lsp.DidCloseTextDocumentParams) -> None:
    # A job on a closed document keeps running; its edit then checks the file on disk.
    ls.forget(params.text_document.uri)


@server.feature(lsp.SHUTDOWN)
async def shutdown(ls: PerforchServer, params: None) -> None:
    await ls.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="perforch lsp", description=__doc__)
    parser.add_argument("--tcp", type=int, metavar="PORT", help="serve on 127.0.0.1:PORT")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("PERFORCH_LOG_LEVEL", "WARNING"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="stderr log level (DEBUG includes every LSP message; env PERFORCH_LOG_LEVEL)",
    )
    args = parser.parse_args(argv)
    # force: `perforch lsp` comes through the CLI, whose own configuration would win otherwise
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="perforch %(message)s", force=True
    )
    # Everything imported so far lives as long as the server: out of the collector's sight, so
    # that a full collection no longer walks it (a Python code action after an edit had p95
    # 101 ms from those pauses, 20 ms without: `perforch bench lsp`).
    gc.freeze()
    if args.tcp:
        server.start_tcp("127.0.0.1", args.tcp)
    else:
        server.start_io()
