""" "Save the generated workload" (``perforch.saveWorkload``): a kept job's generated workload
as a file in the user's project (:mod:`server.workload_files`), from its ``workload`` event
and the function as the buffer has it now. Without a target, the command answers where the
file would go, for the client's save dialog; it never overwrites a file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from pydantic import ValidationError
from pygls.uris import to_fs_path

from perforch_core import source
from perforch_core.errors import PerfOrchError
from perforch_core.models import Workload

from .. import workload_files

if TYPE_CHECKING:
    from .server import PerforchServer

COMMAND = "perforch.saveWorkload"


async def _workload(ls: PerforchServer, token: str) -> tuple[dict[str, Any], Workload] | str:
    """The job's request and its generated workload, or why there is none."""
    store = await ls.job_store()
    kept = next((k for k in await store.jobs() if k.token == token), None)
    if kept is None:
        return f"no job {token} is kept (the newest ended jobs are)"
    for params in reversed(await store.events(token)):
        event = params.get("event") or {}
        if event.get("kind") == "workload":
            if not event.get("workload"):
                return "this job measured on the tests: it has no generated workload to save"
            try:
                return kept.request, Workload.model_validate(event["workload"])
            except ValidationError as exc:
                return f"the job's workload could not be read: {exc.errors()[0]['msg']}"
    return "this job prepared no workload (only refinement does)"


async def save_workload(
    ls: PerforchServer, token: Any = None, target: Any = None
) -> dict[str, Any]:
    if not isinstance(token, str) or not (target is None or isinstance(target, str)):
        return {"error": f"{COMMAND} takes (job token, target path or URI, or null to ask)"}
    found = await _workload(ls, token)
    if isinstance(found, str):
        return _refused(ls, found)
    request, workload = found
    doc = ls.workspace.get_text_document(str(request["uri"]))
    path = Path(doc.path)
    try:
        task = source.task_from_text(path, doc.source, str(request["function"]))
    except PerfOrchError as exc:
        return _refused(ls, str(exc))
    if target is None:
        return {"suggested": str(workload_files.suggested(path, task, workload))}
    saving = Path(to_fs_path(target) or target) if target.startswith("file:") else Path(target)
    app = await ls.app()
    saved = await workload_files.save(app.profiler, path, task, workload, saving)
    if not saved.files:
        return _refused(ls, saved.message)
    ls.window_show_message(
        lsp.ShowMessageParams(type=lsp.MessageType.Info, message=f"PerfOrch: {saved.message}")
    )
    return {"message": saved.message, "files": [str(f) for f in saved.files]}


def _refused(ls: PerforchServer, why: str) -> dict[str, Any]:
    ls.window_show_message(
        lsp.ShowMessageParams(type=lsp.MessageType.Warning, message=f"PerfOrch: {why}")
    )
    return {"error": why}
