"""Real VS Code for the editor tests: code-server (installed by scripts/setup-editor.sh) with the
packaged extension, driven in Debian's headless Chromium through Playwright
(shared/notes/editor-testing.md). Knows how to start it, install the .vsix, and the few
workbench gestures the tests need; asserts nothing itself."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Browser, Frame, Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

REPO = Path(__file__).parents[2]
VSIX = REPO / "client-vscode" / "out" / "perforch.vsix"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Workbench settings that keep the UI still and offline.
USER_SETTINGS = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.enableExperiments": False,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "security.workspace.trust.enabled": False,
    "editor.minimap.enabled": False,
    "files.autoSave": "off",
    "chat.disableAIFeatures": True,
    "window.commandCenter": False,
}


@dataclass
class Tools:
    node_dir: Path
    code_server: Path


def editor_tools() -> Tools:
    """Node 24 and code-server from scripts/setup-editor.sh (cached: seconds when set up), which
    also packages the extension."""
    run = subprocess.run(
        ["bash", str(REPO / "scripts" / "setup-editor.sh")],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert run.returncode == 0, f"scripts/setup-editor.sh failed:\n{run.stderr[-3000:]}"
    found = dict(line.split("=", 1) for line in run.stdout.splitlines() if "=" in line)
    return Tools(node_dir=Path(found["node"]), code_server=Path(found["code_server"]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _session(sid: int) -> list[int]:
    """Pids of the live processes in session ``sid``."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(proc.name))
    return pids


class CodeServer:
    """One code-server process group with its own user data, extensions and temp dirs."""

    def __init__(
        self,
        tools: Tools,
        home: Path,
        workspace: Path,
        settings: dict[str, object],
        env: dict[str, str] | None = None,
    ):
        self.tools, self.home, self.workspace = tools, home, workspace
        self.user_data = home / "user-data"
        self.extensions = home / "extensions"
        # Both the user's settings and the machine's: code-server's window is a remote one, and
        # machine-scoped settings (perforch.server.interpreter) are the remote machine's there.
        # With the user's alone, a CI run's extension host saw the default interpreter for the
        # whole test (started `python3 -m server lsp`: "No module named server"), no change
        # event following, although User/settings.json named the venv's Python.
        for scope in ("User", "Machine"):
            (self.user_data / scope).mkdir(parents=True, exist_ok=True)
            (self.user_data / scope / "settings.json").write_text(
                json.dumps({**USER_SETTINGS, **settings}, indent=1)
            )
        tmp = Path(f"/tmp/pf-{os.getpid()}-{home.name[-8:]}")  # unix sockets: short paths
        tmp.mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "PATH": f"{tools.node_dir / 'bin'}:{os.environ['PATH']}",
            "EXTENSIONS_GALLERY": "{}",
            "TMPDIR": str(tmp),
            "XDG_CONFIG_HOME": str(home / "xdg-config"),
            "XDG_DATA_HOME": str(home / "xdg-data"),
            "XDG_CACHE_HOME": str(home / "xdg-cache"),
            **(env or {}),
        }
        self.port = _free_port()
        self.log = home / "code-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _args(self) -> list[str]:
        return [
            str(self.tools.code_server),
            "--user-data-dir",
            str(self.user_data),
            "--extensions-dir",
            str(self.extensions),
            "--disable-telemetry",
            "--disable-update-check",
        ]

    def install(self, vsix: Path) -> str:
        run = subprocess.run(
            [*self._args(), "--install-extension", str(vsix)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        return run.stdout

    def start(self) -> str:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    *self._args(),
                    "--bind-addr",
                    f"127.0.0.1:{self.port}",
                    "--auth",
                    "none",
                    "--disable-workspace-trust",
                    str(self.workspace),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the extension host outlives code-server otherwise
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return f"http://127.0.0.1:{self.port}/?folder={self.workspace}"
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            time.sleep(0.3)
        raise AssertionError(f"code-server did not listen: {self.log.read_text()[-3000:]}")

    def output(self) -> str:
        """The PerfOrch output channel (a LogOutputChannel writes a log file)."""
        logs = sorted(self.user_data.glob("logs/*/exthost*/perforch.perforch/PerfOrch.log"))
        return logs[-1].read_text() if logs else ""

    def language_servers(self) -> list[int]:
        """Pids of the ``perforch lsp`` processes the extension started."""
        assert self.process is not None
        pids = []
        for pid in _session(self.process.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmdline[-3:-1] == [b"server", b"lsp"]:
                pids.append(pid)
        return pids

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        # The extension host puts the language server in a process group of its own, but not
        # in a session of its own: everything in code-server's session goes (the server's own
        # services die with it, PR_SET_PDEATHSIG).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in _session(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@contextlib.asynccontextmanager
async def browser_page(url: str, profile: Path) -> AsyncIterator[Page]:
    async with async_playwright() as p:
        browser: Browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1400, "height": 900})
            page = await context.new_page()
            await page.goto(url)
            await page.locator(".monaco-workbench").wait_for(timeout=60_000)
            yield page
        finally:
            await browser.close()


async def run_command(page: Page, title: str) -> None:
    """Run a command by its palette title (F1, type, click the matching row).

    The palette can close under the test when focus moves (an editor closing after Accept,
    a notification): then it is opened again, up to three times.
    """
    box = page.locator(".quick-input-widget input")
    row = page.locator(".quick-input-list .monaco-list-row", has_text=title).first
    for attempt in range(3):
        await page.keyboard.press("F1")
        try:
            await box.wait_for(state="visible", timeout=10_000)
            await box.fill(f">{title}", timeout=10_000)
            await row.wait_for(timeout=10_000)
            await row.click(timeout=10_000)
            return
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            await page.keyboard.press("Escape")


async def open_file(page: Page, name: str, line: int) -> None:
    """Quick-open ``name`` and put the cursor at the start of ``line`` (1-based)."""
    await page.keyboard.press("Control+P")
    box = page.locator(".quick-input-widget input")
    await box.wait_for()
    await box.fill(name)
    await page.locator(".quick-input-list .monaco-list-row", has_text=name).first.click()
    await page.locator(f'.monaco-editor[data-uri$="{name}"]').first.wait_for(timeout=30_000)
    await go_to_line(page, line)


async def go_to_line(page: Page, line: int) -> None:
    await page.keyboard.press("Control+G")
    box = page.locator(".quick-input-widget input")
    await box.wait_for()
    await box.fill(f":{line}")
    await page.keyboard.press("Enter")


async def webview_frame(page: Page, selector: str, timeout_s: float = 30) -> Frame:
    """The (nested) webview frame that shows ``selector``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            with contextlib.suppress(Exception):
                if await frame.locator(selector).count():
                    return frame
        await page.wait_for_timeout(500)
    raise AssertionError(f"no webview shows {selector}")
