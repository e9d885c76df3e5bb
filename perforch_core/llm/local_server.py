"""The project's local model server: llama.cpp's OpenAI-compatible server on 127.0.0.1.

Started and stopped by PerfOrch (the CLI when a job needs it, the tests, ``perforch models
serve``), never by hand. One process serves every installed local model under its alias (it keeps
one resident and swaps in ~1 s). That server answers an *unknown* alias with its first model and
HTTP 200, so :meth:`LocalServer.start` checks the served aliases against ``/v1/models``.

Set ``PERFORCH_LOCAL_API_BASE`` to use a server that is already running instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError, LLMUnavailableError
from . import local_models

log = logging.getLogger("perforch.local_server")

START_TIMEOUT_S = 120.0


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the parent dies (even by SIGKILL, when no
    clean-up runs), so a killed CLI or editor never leaves a model server holding 1-2 GB.

    Not SIGTERM: uvicorn takes that as "shut down gracefully" and waits for open connections,
    so a server killed mid-generation went on generating for a reader that no longer exists."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


PR_SET_PDEATHSIG = 1


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def served_aliases(api_base: str, timeout: float = 2.0) -> list[str]:
    with urllib.request.urlopen(f"{api_base}/models", timeout=timeout) as resp:
        data = json.loads(resp.read())
    return [m["id"] for m in data.get("data", [])]


class LocalServer:
    def __init__(
        self,
        aliases: Sequence[str],
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        python: str | None = None,
    ) -> None:
        self.aliases = list(dict.fromkeys(aliases))
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 2
        self.python = python or sys.executable
        self.api_base: str | None = os.environ.get("PERFORCH_LOCAL_API_BASE")
        self._external = self.api_base is not None
        self._checked: set[str] = set()
        self._proc: asyncio.subprocess.Process | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self._external or (self._proc is not None and self._proc.returncode is None)

    async def ensure(self, alias: str) -> str:
        """Start the server if needed and return its API base for ``alias``."""
        if alias not in self.aliases:
            self.aliases.append(alias)
            if self.running and not self._external:
                await self.stop()  # restart with the new model in the config
        if not self.running:
            await self.start()
        assert self.api_base
        if self._external and alias not in self._checked:
            try:
                served = await asyncio.to_thread(served_aliases, self.api_base, 3.0)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                raise LLMUnavailableError(
                    f"the local model server at {self.api_base} is unreachable: {exc}",
                    hint="unset PERFORCH_LOCAL_API_BASE to let PerfOrch start its own",
                ) from exc
            if alias not in served:
                raise LLMUnavailableError(f"the server at {self.api_base} does not serve {alias}")
            self._checked.add(alias)
        return self.api_base

    async def start(self) -> None:
        async with self._lock:
            if self.running:
                return
            if self._external:
                return
            specs = [local_models.spec(a) for a in self.aliases]
            missing = [s.alias for s in specs if not s.installed]
            if missing:
                raise ConfigError(
                    f"local model(s) not installed: {', '.join(missing)}",
                    hint=f"run: perforch models install {' '.join(missing)}",
                )
            try:
                import llama_cpp  # noqa: F401
            except ImportError as exc:
                raise ConfigError(
                    "llama-cpp-python is not installed", hint="run scripts/setup.sh"
                ) from exc
            port = _free_port()
            self._tmp = tempfile.TemporaryDirectory(prefix="perforch-llama-")
            config = {
                "host": "127.0.0.1",
                "port": port,
                "interrupt_requests": False,
                "models": [
                    {
                        "model": str(s.path),
                        "model_alias": s.alias,
                        "n_ctx": self.n_ctx,
                        "n_threads": self.n_threads,
                        "verbose": False,
                    }
                    for s in specs
                ],
            }
            cfg = Path(self._tmp.name) / "config.json"
            cfg.write_text(json.dumps(config))
            log_path = Path(self._tmp.name) / "server.log"
            log.info(
                "starting local model server on 127.0.0.1:%d (%s)", port, ", ".join(self.aliases)
            )
            with log_path.open("wb") as out:
                self._proc = await asyncio.create_subprocess_exec(
                    self.python,
                    "-P",  # the working directory never shadows a module
                    "-m",
                    "perforch_core.llm.llama_server",  # llama_cpp.server, prompts evaluated afresh
                    "--config_file",
                    str(cfg),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
            self.api_base = f"http://127.0.0.1:{port}/v1"
            try:
                await self._wait_ready(log_path)
            except BaseException:
                await self.stop()
                raise

    async def _wait_ready(self, log_path: Path) -> None:
        assert self._proc and self.api_base
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.returncode is not None:
                tail = log_path.read_text(errors="replace")[-1500:]
                raise LLMUnavailableError(
                    "the local model server exited at start-up",
                    hint=tail.strip().splitlines()[-1] if tail else None,
                )
            try:
                served = await asyncio.to_thread(served_aliases, self.api_base, 1.0)
            except (urllib.error.URLError, OSError, ValueError):
                await asyncio.sleep(0.25)
                continue
            unknown = [a for a in self.aliases if a not in served]
            if unknown:
                raise LLMUnavailableError(f"the local server does not serve {unknown}")
            return
        raise LLMUnavailableError(f"the local model server did not start in {START_TIMEOUT_S}s")

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout=5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        if not self._external:
            self.api_base = None

    async def __aenter__(self) -> LocalServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
