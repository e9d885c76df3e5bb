"""The contract between the language server and the VS Code extension, checked from the Python
side: the extension's settings mirror the server's settings model, its event fixture is what the
server sends, and nothing the server sends is JSON a client cannot parse."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import get_args

from perforch_core import events as ev
from perforch_core.models import Metric, Stage
from perforch_core.policy import PolicyKind
from server.lsp import convert
from server.lsp.settings import Settings

REPO = Path(__file__).parents[2]
MANIFEST = json.loads((REPO / "package.json").read_text())
PROPERTIES: dict[str, dict] = MANIFEST["contributes"]["configuration"]["properties"]
FIXTURE = REPO / "client-vscode" / "test" / "fixtures" / "optimize-events.json"


def _server_keys() -> dict[str, str]:
    """The settings model's JSON keys (aliases) by field name."""
    return {name: f.alias or name for name, f in Settings.model_fields.items()}


def test_every_server_setting_is_contributed_and_nothing_else_is_sent():
    keys = set(_server_keys().values())
    contributed = {k.removeprefix("perforch.") for k in PROPERTIES}
    client_only = {k for k in contributed if k.startswith("server.")}
    assert client_only == {"server.interpreter", "server.args", "server.maxRestarts"}
    assert contributed - client_only == keys
    # The extension's own list of what it sends (client-vscode/src/settings.ts).
    ts = (REPO / "client-vscode" / "src" / "settings.ts").read_text()
    block = ts.split("export const SERVER_KEYS = [", 1)[1].split("]", 1)[0]
    assert set(re.findall(r'"(\w+)"', block)) == keys


def test_contributed_defaults_and_choices_are_the_servers():
    defaults = Settings()
    for name, key in _server_keys().items():
        prop = PROPERTIES[f"perforch.{key}"]
        server_default = getattr(defaults, name)
        if key == "memoryPath":
            assert prop["default"] == ""  # empty: the server's default path
        elif key == "modelPicker":
            assert prop["default"] == "custom"  # the extension answers perforch/chooseModel
            assert set(prop["enum"]) == {"custom", "message"}
        elif key == "metric":
            assert prop["default"] == server_default.value
            assert prop["enum"] == [m.value for m in Metric]
        else:
            assert prop["default"] == server_default, key
    assert PROPERTIES["perforch.policy"]["enum"] == list(get_args(PolicyKind))


def test_the_extension_commands_do_not_collide_with_the_servers():
    # vscode-languageclient registers the server's executeCommand ids as VS Code commands.
    ours = {c["command"] for c in MANIFEST["contributes"]["commands"]}
    assert not ours & {*convert.COMMANDS.values(), "perforch.cancel"}


def test_the_extensions_event_fixture_is_what_the_server_sends():
    for item in json.loads(FIXTURE.read_text()):
        raw = dict(item["event"])
        if raw["kind"] == "stage_started":  # the wire's null score is the model's NaN
            raw["ranking"] = [
                {**r, "score": math.nan if r["score"] is None else r["score"]}
                for r in raw["ranking"]
            ]
        event = ev.JOB_EVENT_ADAPTER.validate_python(raw)
        sent = convert.event_params(item["token"], item["uri"], item["function"], event)
        assert sent == item


def test_nan_scores_reach_the_client_as_null():
    started = ev.StageStarted(
        job_id="j",
        stage=Stage.REFINE,
        ranking=(ev.RankedModel(model="m", score=math.nan, why="no data"),),
    )
    params = convert.event_params("t", "file:///x.py", "f", started)
    text = json.dumps(params, allow_nan=False)  # raises on NaN
    assert json.loads(text)["event"]["ranking"][0]["score"] is None
