"""Keeping part of a reviewed change, through the real ``perforch lsp`` and profiler: the
result comes hunk by hunk (each its own change annotation), and when the client applies only
some, the server runs the tests on what was kept — that combination was never tested or
measured — and a failure shows as the function's diagnostic. The model is a scripted
OpenAI-compatible endpoint (a user's own endpoint, through litellm), so the change is known."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.conftest import SERVER, start
from tests.scripted_endpoint import ScriptedEndpoint, counter_reply, user_config

pytestmark = [pytest.mark.slow]

SLOW = (Path(__file__).parents[2] / "examples" / "slow_functions.py").read_text()
SCRIPTED = "openai/scripted"
REPLY = counter_reply()  # two hunks: the import, and the body that needs it


PORT, ENV = user_config(SCRIPTED)


@pytest.fixture(scope="module", autouse=True)
def endpoint() -> Iterator[ScriptedEndpoint]:
    with ScriptedEndpoint([REPLY], port=PORT) as e:
        yield e


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER, server_env=ENV))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    await start(lsp_client, tmp_path, {"memoryPath": str(tmp_path / "memory.sqlite")})
    yield
    await lsp_client.shutdown_session()


async def test_keeping_one_hunk_of_two_gets_the_kept_code_tested(
    client: LanguageClient, tmp_path: Path, endpoint: ScriptedEndpoint
):
    settings = {
        "models": [SCRIPTED],
        "explain": False,
        "repairRounds": 0,
        "memoryPath": str(tmp_path / "memory.sqlite"),  # not the user's Memory
    }
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"perforch": settings})
    )
    # A folder named as real ones are ("pytoolz+toolz"): editors send the "+" as %2B, and pygls
    # keys its documents by the unquoted URI (the buffer was not found there before).
    (tmp_path / "my+project").mkdir()
    path = tmp_path / "my+project" / "slow_functions.py"
    path.write_text(SLOW)
    uri = path.as_uri()
    assert "%2B" in uri
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=SLOW
            )
        )
    )
    offered: list[types.ApplyWorkspaceEditParams] = []
    kept: list[str] = []

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        """The person keeps the body and drops the import: the edit of the hunk that uses
        ``collections`` alone, applied to the buffer as an editor would."""
        offered.append(params)
        change = params.edit.document_changes[0]  # type: ignore[index]
        body = [e for e in change.edits if "Counter" in e.new_text]  # type: ignore[union-attr]
        lines = SLOW.splitlines(keepends=True)
        for e in body:
            lines[e.range.start.line : e.range.end.line] = [e.new_text]
        kept.append("".join(lines))
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=kept[0])],
            )
        )
        return types.ApplyWorkspaceEditResult(applied=True)

    reply = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="perforch.optimize", arguments=[uri, "has_duplicates", "exec_time", False]
        )
    )
    assert "token" in reply, reply
    ended: list[Any] = []

    events: list[Any] = []

    @client.feature("perforch/jobEvent")
    def job_event(params: Any) -> None:
        events.append(params)

    @client.feature("perforch/jobEnded")
    def job_ended(params: Any) -> None:
        ended.append(params)

    def failing() -> list[types.Diagnostic]:
        return [d for d in client.diagnostics.get(uri, []) if "tests fail" in d.message]

    async with asyncio.timeout(600):
        while not failing():
            assert not (ended and not offered), (client.messages, events)  # nothing offered
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 1
                )
    # The offer: two hunks, each annotated with its lines and what was measured.
    assert len(offered) == 1, client.messages
    edit = offered[0].edit
    hunks = edit.document_changes[0].edits  # type: ignore[index,union-attr]
    assert len(hunks) == 2, [(h.range, h.new_text) for h in hunks]
    assert "import collections" in hunks[0].new_text
    labels = [a.label for a in (edit.change_annotations or {}).values()]
    assert labels[0].startswith("change 1 of 2 (") and labels[1].startswith("change 2 of 2 (")
    assert all("exec time −" in label and label.endswith(SCRIPTED) for label in labels), labels
    # What was kept was tested, and the person told why.
    assert "import collections" not in kept[0] and "collections.Counter" in kept[0]
    told = [m.message for m in client.messages]
    assert any("kept part of the change to has_duplicates()" in m for m in told), told
    message = failing()[0].message
    assert "NameError" in message or "collections" in message, message
    assert path.read_text() == SLOW  # the server never writes files itself
    assert endpoint.requests, "the scripted endpoint was never asked"
