"""An OpenAI-compatible chat endpoint that answers with scripted replies: what a user's own
endpoint (vLLM, a proxy) looks like to PerfOrch through litellm, with replies a test chooses.
Used where a test needs a known change (hunks, a helper) rather than a local model's."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Fault:
    """A reply that goes wrong: an HTTP ``status`` with an error body, a ``delay_s`` before
    answering, a ``body`` that is not the API's JSON, or ``hang_up`` (the connection closes
    with no answer)."""

    status: int = 200
    delay_s: float = 0.0
    body: bytes | None = None
    hang_up: bool = False
    then: str = ""  # the reply's text when the fault is only a delay


class ScriptedEndpoint:
    """``/v1/chat/completions`` answered with ``replies`` in turn (the last one repeats), each a
    text or a :class:`Fault`; ``requests`` keeps what was asked."""

    def __init__(self, replies: list[str | Fault], port: int = 0) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._send({"object": "list", "data": [{"id": "scripted", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append(body)
                n = min(len(endpoint.requests), len(endpoint.replies)) - 1
                reply = endpoint.replies[n]
                if isinstance(reply, Fault):
                    time.sleep(reply.delay_s)
                    if reply.hang_up:
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    if reply.status != 200 or reply.body is not None:
                        self._raw(
                            reply.status,
                            reply.body
                            or json.dumps(
                                {
                                    "error": {
                                        "message": f"scripted {reply.status}",
                                        "type": "scripted",
                                    }
                                }
                            ).encode(),
                        )
                        return
                    reply = reply.then
                text = reply
                self._send(
                    {
                        "id": f"scripted-{len(endpoint.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "scripted"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                    }
                )

            def _send(self, payload: dict[str, Any]) -> None:
                self._raw(200, json.dumps(payload).encode())

            def _raw(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> ScriptedEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def models_toml(api_base: str, name: str = "openai/scripted") -> str:
    """A user's models.toml entry for the endpoint."""
    return (
        f'[models."{name}"]\ndisplay_name = "Scripted endpoint"\nprovider = "openai"\n'
        f'api_base = "{api_base}"\nretries = 0\n'
    )


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "slow_functions.py"


def counter_reply() -> str:
    """A model's reply rewriting the demo's ``has_duplicates`` (examples/slow_functions.py) with
    ``collections.Counter``: against the file, two hunks — the import, and the body that needs
    it — with the docstring and its doctests as they are."""
    head = EXAMPLE.read_text().split("def has_duplicates")[1].split("    for i in range")[0]
    code = (
        "import collections\n\n\ndef has_duplicates"
        + head
        + "    return any(n > 1 for n in collections.Counter(items).values())\n"
    )
    return f"```python\n{code}```"


def user_config(name: str = "openai/scripted") -> tuple[int, dict[str, str]]:
    """A free port for an endpoint, and the environment of a PerfOrch process whose user
    configuration (``PERFORCH_CONFIG``) names the endpoint there as ``name``."""
    import os
    import socket
    import tempfile

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    config = Path(tempfile.mkdtemp(prefix="perforch-config-"))
    (config / "models.toml").write_text(models_toml(f"http://127.0.0.1:{port}/v1", name))
    env = {**os.environ, "PERFORCH_CONFIG": str(config), "OPENAI_API_KEY": "scripted-no-key"}
    return port, env
