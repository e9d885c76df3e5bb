"""pytest-lsp against the real ``perforch lsp`` process (``python -m server lsp``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

SERVER = [sys.executable, "-P", "-m", "server", "lsp"]


def fix_code_action_structuring(client: LanguageClient) -> None:
    """lsprotocol 2025.0.0, Python client side only: a CodeAction carrying a command is
    structured as a Command (shared/notes/editor-testing.md). Pick Command only when
    ``command`` is a string."""
    converter = client.protocol._converter
    union = types.Command | types.CodeAction

    def structure(obj: Any, _type: Any) -> types.Command | types.CodeAction:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(union, structure)


async def start(client: LanguageClient, root: Path, options: dict[str, Any]) -> None:
    fix_code_action_structuring(client)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="ws")],
            initialization_options=options,
        )
    )


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    await start(lsp_client, tmp_path, {"memoryPath": str(tmp_path / "memory.sqlite")})
    yield
    await lsp_client.shutdown_session()
