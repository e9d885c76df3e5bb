"""A warm ``javac``: one sandboxed JVM running ``PerforchJavac`` (``java_src/``) compiles every
Java build of the daemon, 20-60 ms each instead of ~0.85 s for javac in a cold JVM.

The service runs under the same sandbox as any build (uid nobody, no network, seccomp, limits)
with a private spool directory as its only writable path; each build's sources are copied in,
compiled with ``-proc:none`` (so compiling runs no code from them) and the classes copied out.
When the service is unavailable, dies or takes too long, :meth:`JavacService.compile` returns
None and the caller compiles with a cold ``javac`` instead; the service restarts on next use.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import glob
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ...ceilings import kill_group
from ...sandbox import NOBODY, Limits, start_sandboxed
from .toolchain import java, java_classes

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("java_src") / "PerforchJavac.java"
SERVICE_JVM_FLAGS = (
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-XX:ReservedCodeCacheSize=64m",
    "-XX:MaxMetaspaceSize=128m",
    "-XX:CompressedClassSpaceSize=64m",
)
LIMITS = Limits(wall_s=24 * 3600, cpu_s=3600, address_space_mb=2048)
REQUEST_TIMEOUT_S = 120.0
MAX_COMPILES = 300  # then restart: RLIMIT_CPU counts the service's whole life


def _service_classes() -> Path:
    """PerforchJavac compiled once (our own code: compiled outside the sandbox)."""
    return java_classes(SOURCE, "javac-service")


class JavacService:
    def __init__(self, options: Sequence[str]) -> None:
        self.options = list(options)
        self._proc: asyncio.subprocess.Process | None = None
        self._spool: Path | None = None
        self._lock = asyncio.Lock()
        self._compiles = 0
        self._serial = 0

    async def _start(self) -> asyncio.subprocess.Process:
        tc = java()
        classes = await asyncio.to_thread(_service_classes)
        self._spool = Path(tempfile.mkdtemp(prefix="perforch-javac-"))
        if os.geteuid() == 0:
            os.chown(self._spool, NOBODY, NOBODY)
        self._proc = await start_sandboxed(
            [
                str(tc.home / "bin" / "java"),
                *SERVICE_JVM_FLAGS,
                "-cp",
                str(classes),
                "PerforchJavac",
                *self.options,
            ],
            cwd=self._spool,
            limits=LIMITS,
            ro_binds=[tc.home, classes, *glob.glob("/etc/java*")],
        )
        self._compiles = 0
        return self._proc

    async def compile(self, sources: Path) -> tuple[int, str] | None:
        """Compile every ``.java`` under ``sources`` into ``sources/classes``: (javac's exit
        code, its output), or None when the service could not answer."""
        async with self._lock:
            try:
                return await asyncio.wait_for(self._compile(sources), REQUEST_TIMEOUT_S)
            except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as exc:
                log.warning("javac service failed (%s); compiling with a cold javac", exc)
                await self.aclose()
                return None

    async def _compile(self, sources: Path) -> tuple[int, str] | None:
        proc = self._proc
        if proc is None or proc.returncode is not None or self._compiles >= MAX_COMPILES:
            await self.aclose()
            proc = await self._start()
        assert proc.stdin and proc.stdout and self._spool is not None
        self._serial += 1
        job = self._spool / f"build-{self._serial}"
        try:
            shutil.copytree(sources, job, ignore=shutil.ignore_patterns(".stdout", ".stderr"))
            if os.geteuid() == 0:
                for root, dirs, _files in os.walk(job):
                    os.chown(root, NOBODY, NOBODY)
                    for d in dirs:
                        os.chown(os.path.join(root, d), NOBODY, NOBODY)
            proc.stdin.write(f"{job}\n".encode())
            await proc.stdin.drain()
            line = (await proc.stdout.readline()).decode()
            if not line.startswith("RC "):
                raise ValueError(f"unexpected reply from the javac service: {line[:200]!r}")
            _, rc, output = [*line.strip().split(" ", 2), ""][:3]
            self._compiles += 1
            if (job / "classes").is_dir():
                shutil.rmtree(sources / "classes", ignore_errors=True)
                shutil.copytree(job / "classes", sources / "classes")
            text = base64.b64decode(output).decode("utf-8", "replace")
            return int(rc), text.replace(f"{job}{os.sep}", "")  # paths as the user wrote them
        finally:
            shutil.rmtree(job, ignore_errors=True)

    async def aclose(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.returncode is None:
                kill_group(proc.pid)
            with contextlib.suppress(ProcessLookupError):
                await proc.wait()
        if self._spool is not None:
            shutil.rmtree(self._spool, ignore_errors=True)
            self._spool = None
