"""The language server against hostile input: a few hundred seeded malformed messages — bad
JSON, wrong JSON-RPC shapes, invalid UTF-8, unknown methods, out-of-range positions, a 50 MB
document, a flood of requests — written raw to ``perforch lsp``'s stdin; afterwards it still
answers a well-formed request, and it never exits."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

SERVER = [sys.executable, "-P", "-m", "server", "lsp"]
CASES = 300


class Raw:
    """A ``perforch lsp`` process spoken to in raw bytes (Content-Length framing)."""

    def __init__(self, root: Path) -> None:
        self.proc = subprocess.Popen(
            SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.replies: dict[Any, dict[str, Any]] = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        self.root = root

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            header = b""
            while not header.endswith(b"\r\n\r\n"):
                byte = out.read(1)
                if not byte:
                    return
                header += byte
            length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
            message = json.loads(out.read(length))
            if "id" in message and "method" not in message:
                with self.lock:
                    self.replies[message["id"]] = message

    def send(self, body: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def message(self, **fields: Any) -> None:
        self.send(json.dumps({"jsonrpc": "2.0", **fields}).encode())

    def wait(self, rid: Any, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if rid in self.replies:
                    return self.replies[rid]
            assert self.proc.poll() is None, f"the server exited ({self.proc.returncode})"
            time.sleep(0.02)
        raise AssertionError(f"no reply to {rid!r} in {timeout} s")


def _hostile(rng: random.Random, uri: str, i: int) -> bytes:
    """One malformed message (never a wrong Content-Length: no stream survives that)."""
    kind = rng.randrange(9)
    if kind == 0:  # not JSON
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    if kind == 1:  # invalid UTF-8 inside a JSON string
        return b'{"jsonrpc": "2.0", "id": "u%d", "method": "textDocument/codeAction", ' % i + (
            b'"params": "\xff\xfe\xfd"}'
        )
    if kind == 2:  # JSON that is not JSON-RPC
        return json.dumps(rng.choice([[], 3, "x", None, {"id": i}, {"jsonrpc": "1.0"}])).encode()
    if kind == 3:  # an unknown method, request and notification
        body: dict[str, Any] = {"jsonrpc": "2.0", "method": f"nope/{i}", "params": {}}
        if rng.random() < 0.5:
            body["id"] = f"x{i}"
        return json.dumps(body).encode()
    position = {"line": rng.choice([-5, 10**9, 2**31]), "character": rng.choice([-1, 10**9])}
    doc = {"uri": rng.choice([uri, "file:///nowhere/x.py", "not a uri", ""])}
    if kind == 4:  # positions out of range
        params: Any = {
            "textDocument": doc,
            "range": {"start": position, "end": position},
            "context": {"diagnostics": []},
        }
        method = "textDocument/codeAction"
    elif kind == 5:
        params, method = {"textDocument": doc}, "textDocument/codeLens"
    elif kind == 6:  # wrong types for a command's arguments
        params = {
            "command": "perforch.optimize",
            "arguments": rng.choice([[], [1, 2], [None], "x"]),
        }
        method = "workspace/executeCommand"
    elif kind == 7:  # an edit of a document that is not open, or out of range
        params = {
            "textDocument": {**doc, "version": rng.randrange(-3, 3)},
            "contentChanges": [{"range": {"start": position, "end": position}, "text": "x"}],
        }
        method = "textDocument/didChange"
    else:  # params of the wrong shape
        params, method = rng.choice([[1], "s", 7, None]), "textDocument/codeAction"
    return json.dumps(
        {"jsonrpc": "2.0", "id": f"h{i}", "method": method, "params": params}
    ).encode()


def _initialize(raw: Raw, root: Path) -> None:
    raw.message(
        id=0,
        method="initialize",
        params={
            "processId": None,
            "rootUri": root.as_uri(),
            "capabilities": {},
            "initializationOptions": {"memoryPath": str(root / "m.sqlite")},
        },
    )
    assert "result" in raw.wait(0)
    raw.message(method="initialized", params={})


@pytest.mark.slow
def test_the_server_survives_hostile_messages_and_still_answers(tmp_path: Path):
    raw = Raw(tmp_path)
    try:
        _initialize(raw, tmp_path)
        path = tmp_path / "m.py"
        text = "def add(a, b):\n    return a + b\n"
        path.write_text(text)
        uri = path.as_uri()
        item = {"uri": uri, "languageId": "python", "version": 1, "text": text}
        raw.message(method="textDocument/didOpen", params={"textDocument": item})
        rng = random.Random(7)
        for i in range(CASES):
            raw.send(_hostile(rng, uri, i))
        # A 50 MB document, then a flood of requests about it.
        big = tmp_path / "big.py"
        huge = "x = 1\n" * (50 * 1024 * 1024 // 6)
        big_item = {"uri": big.as_uri(), "languageId": "python", "version": 1, "text": huge}
        raw.message(method="textDocument/didOpen", params={"textDocument": big_item})
        for i in range(200):
            raw.message(
                id=f"flood{i}",
                method="textDocument/codeLens",
                params={"textDocument": {"uri": big.as_uri()}},
            )
        raw.message(
            id="last",
            method="textDocument/codeAction",
            params={
                "textDocument": {"uri": uri},
                "range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 4}},
                "context": {"diagnostics": []},
            },
        )
        reply = raw.wait("last", timeout=120)
        titles = [a["title"] for a in reply["result"]]
        assert "PerfOrch: Fix add" in titles
        assert raw.proc.poll() is None
        errors = [r for r in raw.replies.values() if "error" in r]
        assert errors, "malformed requests got error replies"
    finally:
        raw.proc.kill()
        raw.proc.wait()


def test_a_request_without_params_is_answered(tmp_path: Path):
    """JSON-RPC lets a client omit ``params``; vscode-languageclient does for a request sent
    without arguments (``perforch/jobs``, the job list's re-attach after a window reload).
    Seen in the code-server e2e: pygls answered "Internal Error", shown in VS Code at every
    start, and the kept jobs never came back."""
    raw = Raw(tmp_path)
    try:
        _initialize(raw, tmp_path)
        raw.message(id="jobs", method="perforch/jobs")
        reply = raw.wait("jobs")
        assert reply.get("result") == {"jobs": []}, reply
    finally:
        raw.proc.kill()
        raw.proc.wait()
