"""A job survives a restart of the server (a window reload restarts it): the real ``perforch
lsp`` process is shut down while its job waits for the model, and a new one, started as the
editor would start it again, lists the kept job to the client (``perforch/jobs``, its events
with it), runs it again on the function as it is, and offers its result for review under the
same token. The model is a scripted OpenAI-compatible endpoint: its first answer never comes
in time (the first server is gone by then), its second is the known change."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient, make_test_lsp_client

from tests.lsp.conftest import SERVER, start
from tests.scripted_endpoint import Fault, ScriptedEndpoint, counter_reply, user_config

pytestmark = [pytest.mark.slow]

SLOW = (Path(__file__).parents[2] / "examples" / "slow_functions.py").read_text()
SCRIPTED = "openai/scripted"


PORT, ENV = user_config(SCRIPTED)


@pytest.fixture
def endpoint() -> Iterator[ScriptedEndpoint]:
    # The first request is answered after the first server has gone; the second at once.
    with ScriptedEndpoint([Fault(delay_s=20, then="no code"), counter_reply()], port=PORT) as e:
        yield e


@contextlib.asynccontextmanager
async def editor(root: Path, settings: dict[str, Any]) -> AsyncIterator[LanguageClient]:
    """A client with its own server process, as one editor window starts it."""
    client = make_test_lsp_client()
    await client.start_io(*SERVER, env=ENV)
    try:
        await start(client, root, settings)
        yield client
    finally:
        process = client._server  # a test that failed before shutting it down: stop it here
        if process is not None and process.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.shutdown_session(), 30)
            if process.returncode is None:
                process.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.stop(), 30)


async def test_a_job_interrupted_by_a_reload_is_listed_run_again_and_offered(
    tmp_path: Path, endpoint: ScriptedEndpoint
):
    settings = {
        "models": [SCRIPTED],
        "explain": False,
        "repairRounds": 0,
        "generatedWorkload": False,
        "memoryPath": str(tmp_path / "memory.sqlite"),
    }
    path = tmp_path / "slow_functions.py"
    path.write_text(SLOW)
    uri = path.as_uri()
    item = types.TextDocumentItem(uri=uri, language_id="python", version=1, text=SLOW)

    async with editor(tmp_path, settings) as first:
        first.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
        reply = await first.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="perforch.optimize", arguments=[uri, "has_duplicates", "exec_time", False]
            )
        )
        token = reply["token"]
        async with asyncio.timeout(300):  # the job is running: it has asked the model
            while not endpoint.requests:  # noqa: ASYNC110 (the endpoint is another thread)
                await asyncio.sleep(0.2)
        listed = await first.protocol.send_request_async("perforch/jobs", {})
        mine = [j for j in listed.jobs if j.token == token]
        assert mine and mine[0].state == "running", listed
        await first.shutdown_session()  # what a window reload does to the server

    offered: list[types.ApplyWorkspaceEditParams] = []
    ended: list[Any] = []
    async with editor(tmp_path, settings) as second:

        @second.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            offered.append(params)
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason="rejected")

        done = asyncio.Event()

        @second.feature("perforch/jobEnded")
        def job_ended(params: Any) -> None:
            ended.append(params)
            done.set()

        second.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
        listed = await second.protocol.send_request_async("perforch/jobs", {})
        kept = [j for j in listed.jobs if j.token == token]
        assert kept, listed
        assert kept[0].function == "has_duplicates" and kept[0].action == "optimize"
        assert kept[0].state in ("running", "queued")
        events: list[Any] = []

        @second.feature("perforch/jobEvent")
        def job_event(params: Any) -> None:
            events.append(params)

        try:
            await asyncio.wait_for(done.wait(), 240)
        except TimeoutError:
            raise AssertionError(([e.line for e in events], second.messages)) from None
        assert ended[0].token == token, ended
        assert ended[0].status == "succeeded", (ended, second.messages)
        assert len(offered) == 1, second.messages
        assert len(endpoint.requests) == 2  # asked again by the new server, once
        listed = await second.protocol.send_request_async("perforch/jobs", {})
        final = next(j for j in listed.jobs if j.token == token)
        assert final.state == "ended"
        kinds = [e.event.kind for e in final.events]
        assert kinds[0] == "job_started" and "candidate_accepted" in kinds, kinds
        await second.shutdown_session()
    assert path.read_text() == SLOW
