"""One editor job from start to reviewed edit: work-done progress (always ended), every
``JobEvent`` as a ``perforch/jobEvent`` notification, the model question, test failures as
diagnostics, and the result as an annotated ``WorkspaceEdit`` that only lands on the function
the job started from."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from lsprotocol import types as lsp
from pygls.workspace import TextDocument

from perforch_core import describe, source
from perforch_core import events as ev
from perforch_core.errors import PerfOrchError
from perforch_core.job import Job
from perforch_core.models import Action, Metric, Stage, Task, TestOutcome
from perforch_core.result import JobResult

from . import convert
from .job_store import RESUME_WITHIN_S

if TYPE_CHECKING:
    from .server import PerforchServer

log = logging.getLogger("perforch.lsp.jobs")
JOB_EVENT = "perforch/jobEvent"
JOB_ENDED = "perforch/jobEnded"  # {token, uri, function, status, message}: every job's last word
CHOOSE_MODEL = "perforch/chooseModel"
LET_PERFORCH_CHOOSE = "Let PerfOrch choose"
QUESTION_MODELS = 5  # models offered in a showMessageRequest (clients show a few buttons)


@dataclass
class EditorJob:
    token: str
    action: Action
    uri: str
    function: str
    metric: Metric | None
    choose: bool
    original: str  # the function's text when the job started: the edit lands only on it
    job: Job | None = None
    cancelled: bool = False
    original_tests_failed: list[str] = field(default_factory=list)
    resumed: str = ""  # why it runs again in a new server ("the editor reloaded"), else ""

    def request(self) -> dict[str, Any]:
        """What the job store keeps to run it again."""
        return {
            "action": self.action.value,
            "uri": self.uri,
            "function": self.function,
            "metric": self.metric.value if self.metric else None,
            "choose": self.choose,
            "original": self.original,
        }

    @classmethod
    def from_request(cls, token: str, request: dict[str, Any]) -> EditorJob:
        metric = request.get("metric")
        return cls(
            token=token,
            action=Action(request["action"]),
            uri=str(request["uri"]),
            function=str(request["function"]),
            metric=Metric(metric) if metric else None,
            choose=bool(request.get("choose")),
            original=str(request.get("original", "")),
        )


async def ask_for_model(
    ls: PerforchServer, job: EditorJob, stage: Stage, ranking: Sequence[ev.RankedModel]
) -> str | None:
    """The person's pick for ``stage`` from the Memory's ranking, or None (let the policy)."""
    if ls.settings.model_picker == "custom":
        try:
            reply: Any = await ls.protocol.send_request_async(
                CHOOSE_MODEL,
                {
                    "token": job.token,
                    "uri": job.uri,
                    "function": job.function,
                    "stage": stage.value,
                    "ranking": convert.json_safe([r.model_dump(mode="json") for r in ranking]),
                },
            )
        except Exception as exc:  # the client may not implement it: fall back to the question
            log.info("perforch/chooseModel failed (%s); asking with showMessageRequest", exc)
        else:
            model = reply.get("model") if isinstance(reply, dict) else getattr(reply, "model", None)
            return str(model) if model else None
    titles: dict[str, str] = {}
    for r in ranking[:QUESTION_MODELS]:
        score = "no data" if math.isnan(r.score) else f"score {r.score:.2f}"
        titles[f"{r.model} ({score})"] = r.model
    answer = await ls.window_show_message_request_async(
        lsp.ShowMessageRequestParams(
            type=lsp.MessageType.Info,
            message=f"PerfOrch: which model should {stage.value} {job.function}()? "
            "Ranked by Memory (lower 95 % bound of the measured success rate).",
            actions=[
                *(lsp.MessageActionItem(title=t) for t in titles),
                lsp.MessageActionItem(title=LET_PERFORCH_CHOOSE),
            ],
        )
    )
    return titles.get(answer.title) if answer is not None else None


def open_document(ls: PerforchServer, uri: str) -> TextDocument | None:
    """The editor's buffer for ``uri`` if it is open. pygls keys its documents by the
    unquoted URI: ``file:///w/pytoolz%2Btoolz/x.py`` (as editors send a ``+``, a space, any
    non-ASCII) is ``file:///w/pytoolz+toolz/x.py`` there."""
    found: TextDocument | None = ls.workspace.text_documents.get(unquote(uri))
    return found


def _current_function(ls: PerforchServer, uri: str, name: str) -> tuple[str, int | None] | None:
    """(the document's text, its version) — the buffer if open, else the file on disk."""
    doc = open_document(ls, uri)
    if doc is not None:
        return doc.source, doc.version
    try:
        path = Path(ls.workspace.get_text_document(uri).path)
        return path.read_text(encoding="utf-8"), None
    except OSError:
        return None


async def run(ls: PerforchServer, job: EditorJob, task: Task) -> None:
    """Run ``job`` to its end; every path ends the progress."""
    token = job.token
    progress = ls.work_done_progress
    try:
        await progress.create_async(token)
    except Exception as exc:  # a client without window/workDoneProgress/create support
        log.info("progress token not created (%s); reporting anyway", exc)
    progress.begin(
        token,
        lsp.WorkDoneProgressBegin(
            title=f"PerfOrch: {job.action.value} {job.function}",
            cancellable=True,
            message="starting (model server and profiler on first use)",
        ),
    )
    outcome, status = "ended", "failed"
    store = await ls.job_store()
    if job.resumed:
        await store.restart(token, job.resumed)
    else:
        await store.set_state(token, "running")
    try:
        app = await ls.app()
        if job.cancelled:
            raise asyncio.CancelledError

        async def chooser(stage: Stage, ranking: Sequence[ev.RankedModel]) -> str | None:
            return await ask_for_model(ls, job, stage, ranking)

        running = app.executor().start(
            task,
            job.action,
            ls.settings.policy_for(),
            ls.settings.budget(),
            chooser=chooser if job.choose else None,
        )
        job.job = running
        if job.cancelled:
            running.cancel()
        async for event in running:
            params = convert.event_params(token, job.uri, job.function, event)
            ls.protocol.notify(JOB_EVENT, params)
            await store.event(token, params)
            message = describe.event(event).activity
            if message:
                progress.report(token, lsp.WorkDoneProgressReport(message=message))
            if isinstance(event, ev.TestsRun) and event.model is None and event.stage is None:
                job.original_tests_failed = (
                    [] if event.outcome.passed else [event.outcome.summary()]
                )
                publish_tests(ls, job.uri, job.function, event.outcome)
        result = await running.result()
        outcome, status = result.message, result.status
        await _offer(ls, job, result)
    except asyncio.CancelledError:
        outcome, status = "cancelled", "cancelled"
        if job.job is not None:
            job.job.cancel()
    except PerfOrchError as exc:
        outcome = f"failed: {exc}"
        ls.window_show_message(
            lsp.ShowMessageParams(type=lsp.MessageType.Error, message=f"PerfOrch: {exc}")
        )
    finally:
        ls.running.pop(token, None)
        if not ls.stopping:  # a server stopping keeps the job's state, to resume it
            await store.set_state(token, "ended", outcome)
        progress.end(token, lsp.WorkDoneProgressEnd(message=outcome[:200]))
        progress.tokens.pop(token, None)
        ls.protocol.notify(
            JOB_ENDED,
            {
                "token": token,
                "uri": job.uri,
                "function": job.function,
                "status": status,
                "message": outcome,
            },
        )


SYNC_WAIT_S = 3.0  # for the client's didChange after it applied an edit


async def _test_what_was_kept(ls: PerforchServer, job: EditorJob, before: str, whole: str) -> None:
    """After a review that kept only some of the hunks (or a file that changed besides), the
    code as it now is was never tested: its tests run on it (a failure shows as the function's
    diagnostic) and the person is told that the combination was not measured."""
    doc = open_document(ls, job.uri)
    if doc is None:
        return  # applied to the file on disk: nothing to compare with until it is opened
    deadline = asyncio.get_running_loop().time() + SYNC_WAIT_S
    while doc.source == before and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
        doc = open_document(ls, job.uri) or doc
    if doc.source.rstrip("\n") in (whole.rstrip("\n"), before.rstrip("\n")):
        return  # all of it (tested and measured), or the client never synced the change
    ls.window_show_message(
        lsp.ShowMessageParams(
            type=lsp.MessageType.Info,
            message=f"PerfOrch: you kept part of the change to {job.function}(); that combination "
            "was not tested or measured, so its tests run now",
        )
    )
    try:
        task = source.task_from_text(Path(doc.path), doc.source, job.function)
        await run_tests_and_publish(ls, job.uri, job.function, task)
    except PerfOrchError as exc:
        ls.window_show_message(
            lsp.ShowMessageParams(type=lsp.MessageType.Warning, message=f"PerfOrch: {exc}")
        )


async def run_tests_and_publish(
    ls: PerforchServer, uri: str, function: str, task: Task
) -> TestOutcome:
    """The function's tests on ``task``'s code, with progress, a message saying how they went,
    and the function's diagnostic."""
    token = f"perforch-tests-{uuid.uuid4().hex[:8]}"
    progress = ls.work_done_progress
    with contextlib.suppress(Exception):  # a client that refuses a token still gets it all
        await progress.create_async(token)
    progress.begin(token, lsp.WorkDoneProgressBegin(title=f"PerfOrch: testing {function}()"))
    outcome = None
    try:
        app = await ls.app()
        outcome = await app.profiler.run_tests(task, task.current_code or "")
    finally:
        progress.end(
            token,
            lsp.WorkDoneProgressEnd(message=outcome.summary() if outcome else "not run"),
        )
    kind = lsp.MessageType.Info if outcome.passed else lsp.MessageType.Warning
    ls.window_show_message(
        lsp.ShowMessageParams(type=kind, message=f"PerfOrch: {function}(): {outcome.summary()}")
    )
    publish_tests(ls, uri, function, outcome)
    return outcome


def publish_tests(ls: PerforchServer, uri: str, name: str, outcome: TestOutcome) -> None:
    """The function's diagnostic: its tests' failure, or none when they pass."""
    current = _current_function(ls, uri, name)
    language = source.language_of(ls.workspace.get_text_document(uri).path)
    if current is None or language is None:
        return
    function = next((f for f in source.functions(language, current[0]) if f.name == name), None)
    if function is None:
        return
    per_function = ls.diagnostics.setdefault(uri, {})
    if outcome.passed:
        per_function.pop(name, None)
    else:
        per_function[name] = convert.test_diagnostic(function, outcome)
    ls.text_document_publish_diagnostics(
        lsp.PublishDiagnosticsParams(uri=uri, diagnostics=list(per_function.values()))
    )


async def _offer(ls: PerforchServer, job: EditorJob, result: JobResult) -> None:
    """Send the result for review, only if the function is still what the job started from."""
    if result.status != "succeeded" or not result.changed:
        kind = lsp.MessageType.Info if result.status == "succeeded" else lsp.MessageType.Warning
        ls.window_show_message(
            lsp.ShowMessageParams(type=kind, message=f"PerfOrch: {result.message}")
        )
        return
    current = _current_function(ls, job.uri, job.function)
    language = source.language_of(ls.workspace.get_text_document(job.uri).path)
    function = None
    if current is not None and language is not None:
        function = next(
            (f for f in source.functions(language, current[0]) if f.name == job.function), None
        )
    if function is None or function.code != job.original:
        ls.window_show_message(
            lsp.ShowMessageParams(
                type=lsp.MessageType.Warning,
                message=f"PerfOrch: {job.function}() changed while the job ran, so the result "
                f"was not applied ({convert.edit_label(result)}). Run it again on the new code.",
            )
        )
        return
    assert current is not None and language is not None
    await (await ls.job_store()).set_state(job.token, "offered", result=result.model_dump_json())
    edit = convert.workspace_edit(
        job.uri,
        current[1],
        current[0],
        language,
        function,
        result,
        confirm=not ls.settings.auto_apply,
    )
    applied = await ls.workspace_apply_edit_async(
        lsp.ApplyWorkspaceEditParams(edit=edit, label=f"PerfOrch: {convert.edit_label(result)}")
    )
    if applied is not None and applied.applied:
        with contextlib.suppress(KeyError):
            del ls.diagnostics[job.uri][job.function]
        ls.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(
                uri=job.uri, diagnostics=list(ls.diagnostics.get(job.uri, {}).values())
            )
        )
        # Apart from the job: it has ended once its result was reviewed.
        ls.background.spawn(
            _test_what_was_kept(ls, job, current[0], convert.applied(current[0], edit)),
            name=f"{job.token}-kept",
        )
    else:
        reason = getattr(applied, "failure_reason", None) or "not accepted"
        ls.window_show_message(
            lsp.ShowMessageParams(
                type=lsp.MessageType.Info, message=f"PerfOrch: the change was {reason}"
            )
        )


LIST_JOBS = "perforch/jobs"
RESUMED = "run again: the server restarted (a window reload) while it ran"


async def kept(ls: PerforchServer) -> list[dict[str, Any]]:
    """``perforch/jobs``: every kept job, oldest first, with the events it sent."""
    store = await ls.job_store()
    out = []
    for k in await store.jobs():
        out.append(
            {
                "token": k.token,
                "uri": k.request.get("uri", ""),
                "function": k.request.get("function", ""),
                "action": k.request.get("action", ""),
                "metric": k.request.get("metric"),
                "state": k.state,
                "message": k.message,
                "events": await store.events(k.token),
            }
        )
    return out


async def resume(ls: PerforchServer) -> None:
    """In a new server: offer again each result never reviewed, run again each job that was
    queued or running (one after another, as it was asked, on the function as it is now);
    a job interrupted longer ago than ``RESUME_WITHIN_S`` ends as interrupted."""
    store = await ls.job_store()
    now = time.time()
    for k in await store.jobs():
        if k.state == "ended" or k.token in ls.running:  # this server's own: already running
            continue
        if now - k.updated > RESUME_WITHIN_S:
            await store.set_state(
                k.token,
                "ended",
                f"interrupted when the server stopped, {(now - k.updated) / 60:.0f} min ago; "
                "not run again",
            )
            continue
        if k.message == RESUMED:  # interrupted again after a resume: it may be what stops us
            await store.set_state(k.token, "ended", "interrupted twice; not run again")
            continue
        try:
            job = EditorJob.from_request(k.token, k.request)
        except (KeyError, ValueError) as exc:
            await store.set_state(k.token, "ended", f"not resumed: a kept job unreadable ({exc})")
            continue
        if k.state == "offered" and k.result:
            log.info("offering %s's result again (%s)", job.function, k.token)
            try:
                await _offer(ls, job, JobResult.model_validate_json(k.result))
            except ValueError as exc:  # a result this version cannot read
                log.warning("the kept result of %s is unreadable: %s", k.token, exc)
            finally:
                await store.set_state(k.token, "ended", "offered again after the server restarted")
            continue
        doc = open_document(ls, job.uri) or ls.workspace.get_text_document(job.uri)
        try:
            task = source.task_from_text(
                Path(doc.path), doc.source, job.function, metric=job.metric or Metric.EXEC_TIME
            )
        except (PerfOrchError, OSError) as exc:
            await store.set_state(k.token, "ended", f"not resumed: {exc}")
            continue
        if task.current_code is not None and job.action is not Action.GENERATE:
            job.original = task.current_code
        job.resumed = RESUMED
        log.info("resuming %s %s (%s)", job.action.value, job.function, k.token)
        ls.running[job.token] = job
        await run(ls, job, task)
