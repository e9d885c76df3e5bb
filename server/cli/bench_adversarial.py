"""``perforch bench adversarial``: every attack in :mod:`server.cli.attacks` through the real
profiler daemon (build, tests, sandbox), as root and as an ordinary user, each judged by how it
ended and by what the host saw: the canary unread, nothing written outside, no connection to the
listener, no process left, the daemon still serving. Writes ``adversarial.md`` and
``adversarial.json``.

The ordinary-user leg drops privileges itself: ``unshare --mount`` gives it a private view in
which the toolchains under a 0700 ``/root`` are visible read-only (as shared toolchains are on
a normal machine; nothing changes on the host), then ``setpriv`` becomes that user and runs the
leg with its own home and caches."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from perforch_core.models import TestOutcome
from profiler.client import ProfilerClient
from profiler.sandbox import NOBODY, processes_of
from profiler.toolchains import cache_root

from . import attack_files, render
from .attacks import ATTACKS, Attack


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    p.add_argument("--only", help="a regex over attack names (default: all)")
    p.add_argument(
        "--legs", default="root,user", help="root, user or both (root needs root; default both)"
    )
    p.add_argument("--uid", type=int, help="the ordinary user's uid (default: the first >= 1000)")
    p.add_argument("--leg-json", type=Path, help=argparse.SUPPRESS)  # one leg, into this file


def ordinary_uid() -> int:
    users = sorted(u.pw_uid for u in pwd.getpwall() if 1000 <= u.pw_uid < 60000)
    return users[0] if users else 54321


SERVICES = "PerforchJavac"  # the command line of the daemon's long-lived sandboxed service


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _sandbox_uid() -> int:
    """The host uid candidates run as: nobody when root, else the user itself."""
    return NOBODY if os.geteuid() == 0 else os.getuid()


class Host:
    """What the host can see of an attack: the canary, a directory outside, the listener."""

    def __init__(self, tmp: Path) -> None:
        self.secret = f"PERFORCH-CANARY-{os.getpid()}-{time.time_ns()}"
        secrets = tmp / "home" / ".ssh"
        secrets.mkdir(parents=True)
        self.canary = secrets / "id_ed25519"
        self.canary.write_text(self.secret + "\n")
        for path in (tmp, tmp / "home", secrets, self.canary):
            path.chmod(0o755 if path.is_dir() else 0o644)  # readable by anyone who can see it
        self.outside = tmp / "outside"
        self.outside.mkdir()
        self.outside.chmod(0o777)  # writable by anyone who can see it
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]

    def fill(self) -> dict[str, str]:
        return {
            "CANARY": str(self.canary),
            "OUTSIDE": str(self.outside),
            "PORT": str(self.port),
            "HOSTPID": str(os.getpid()),
        }

    def damage(self) -> list[str]:
        seen = []
        if self.canary.read_text().strip() != self.secret:
            seen.append("the canary changed")
        planted = sorted(p.name for p in self.outside.iterdir())
        if planted:
            seen.append(f"files written outside: {planted}")
            for p in self.outside.iterdir():
                p.unlink()
        try:
            conn, _ = self.listener.accept()
            conn.close()
            seen.append("the listener accepted a connection")
        except BlockingIOError:
            pass
        return seen


def _ended(outcome: TestOutcome) -> str:
    if outcome.passed:
        return "blocked (the attack said so; its test passed)"
    text = outcome.error or outcome.failure_report() or "failed"
    return re.sub(r"\s+", " ", text).strip()[:300]


def judge(
    attack: Attack, outcome: TestOutcome, damage: list[str], left: list[int], served: bool
) -> str:
    """ "contained", or what escaped."""
    if damage:
        return "ESCAPED: " + "; ".join(damage)
    if left:
        return f"ESCAPED: {len(left)} processes outlived the run"
    if not served:
        return "ESCAPED: the daemon no longer served"
    text = _ended(outcome)
    if "escaped:" in text:
        return "ESCAPED: " + text[text.index("escaped:") :]
    if attack.expect == "not_passed":
        return "ESCAPED: the tests counted as passed" if outcome.passed else "contained"
    if outcome.passed:
        return (
            "contained"
            if attack.expect == "blocked" or "blocked" in attack.stopped_by
            else ("ESCAPED: it ran to the end")
        )
    if attack.expect == "stopped" and re.search(attack.stopped_by, text, re.I):
        return "contained"
    return f"UNCLEAR: it failed another way ({text[:120]})"


async def run_leg(attacks: list[Attack], console: Console) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    uid = _sandbox_uid()
    with tempfile.TemporaryDirectory(prefix="perforch-adversarial-") as tmp_name:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)
        host = Host(tmp)
        benign = {
            language: attack_files.write_task(
                attack_files.benign(language), tmp / f"benign-{language.value}", {}
            )
            for language in {a.language for a in attacks}
        }
        client = ProfilerClient(test_timeout_s=20)
        await client.start()
        try:
            for task in benign.values():  # the languages' long-lived services start now
                warm = await client.run_tests(task, task.current_code or "")
                if not warm.passed:
                    raise SystemExit(f"a harmless {task.language.value} candidate failed: {warm}")
            with render.progress_bar(console) as bar:
                progress = bar.add_task("attacks", total=len(attacks))
                for i, attack in enumerate(attacks):
                    bar.update(progress, description=f"{attack.language.value}: {attack.name}")
                    task = attack_files.write_task(attack, tmp / f"a{i}", host.fill())
                    before = set(processes_of(uid, live_only=True))
                    started = time.perf_counter()
                    outcome = await client.run_tests(task, task.current_code or "")
                    seconds = time.perf_counter() - started
                    again = benign[attack.language]
                    served = (await client.run_tests(again, again.current_code or "")).passed
                    await asyncio.sleep(0.5)
                    new = sorted(set(processes_of(uid, live_only=True)) - before)
                    # The daemon's own warm services (the javac JVM) run as the same uid: one
                    # restarted during the attack is PerfOrch's, not the attack's.
                    left = [pid for pid in new if SERVICES not in _cmdline(pid)]
                    verdict = judge(attack, outcome, host.damage(), left, served)
                    if len(left) < len(new):
                        verdict += " (the warm javac service restarted)"
                    rows.append(
                        {
                            "attack": attack.name,
                            "language": attack.language.value,
                            "what": attack.what,
                            "expect": attack.expect,
                            "ended": _ended(outcome),
                            "verdict": verdict,
                            "seconds": round(seconds, 1),
                        }
                    )
                    bar.advance(progress)
        finally:
            await client.aclose()
            host.listener.close()
    return rows


def _user_leg_argv(args: argparse.Namespace, uid: int, home: Path, out: Path) -> list[str]:
    """The ordinary-user leg: a private mount view with /root's toolchains visible read-only,
    then setpriv to ``uid``, then this benchmark again for one leg."""
    keep = home / "root-view"
    keep.mkdir()
    dirs = [
        d
        for d in (".pyenv", ".cargo", ".rustup", "go", ".m2", ".local/share/uv")
        if (Path.home() / d).exists()
    ]
    binds = "".join(
        f"mkdir -p /root/{d} && mount --bind {keep}/{d} /root/{d} && "
        f"mount -o remount,bind,ro /root/{d}\n"
        for d in dirs
    )
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "RUSTUP_HOME": str(Path.home() / ".rustup"),
        "CARGO_HOME": str(home / "cargo"),
        "GOCACHE": str(home / "go-build"),
        "GOMODCACHE": str(Path.home() / "go" / "pkg" / "mod"),
        "PERFORCH_CACHE": str(home / "cache"),
        "LANG": "C.UTF-8",
    }
    child = [
        sys.executable,
        "-m",
        "server",
        "bench",
        "adversarial",
        "--legs",
        "user",
        "--leg-json",
        str(out),
        *(["--only", args.only] if args.only else []),
    ]
    script = (
        "set -e\n"
        f"mount --bind /root {keep}\n"
        "mount -t tmpfs -o mode=0755 tmpfs /root\n"
        f"{binds}"
        f"cd {shlex.quote(os.getcwd())}\n"
        f"exec setpriv --reuid={uid} --regid={uid} --clear-groups -- env -i "
        + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        + " "
        + shlex.join(child)
    )
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]


def user_leg(args: argparse.Namespace, console: Console) -> list[dict[str, Any]]:
    uid = args.uid or ordinary_uid()
    with tempfile.TemporaryDirectory(prefix="perforch-user-leg-") as tmp_name:
        home = Path(tmp_name)
        home.chmod(0o755)
        out = home / "leg.json"
        argv = _user_leg_argv(args, uid, home, out)
        # The user's own caches, as `scripts/setup.sh` run by them would leave them: the
        # prepared toolchain files (test crates, Go template, javac service) copied, theirs.
        prepared = cache_root() / "toolchains"
        if prepared.is_dir():
            shutil.copytree(prepared, home / "cache" / "toolchains", symlinks=True)
        subprocess.run(["chown", "-R", f"{uid}:{uid}", str(home)], check=True)
        console.print(f"ordinary-user leg as uid {uid}")
        done = subprocess.run(argv, check=False)
        if not out.exists():
            raise SystemExit(f"the ordinary-user leg wrote no result (exit {done.returncode})")
        leg = json.loads(out.read_text())
        if leg["uid"] != uid:
            raise SystemExit(f"the ordinary-user leg ran as uid {leg['uid']}, not {uid}")
        return list(leg["rows"])


async def run(args: argparse.Namespace) -> int:
    console = Console()
    attacks = [a for a in ATTACKS if not args.only or re.search(args.only, a.name)]
    legs = {leg.strip() for leg in args.legs.split(",")}
    if args.leg_json:  # one leg, as the user this process already is
        rows = await run_leg(attacks, console)
        args.leg_json.write_text(json.dumps({"uid": os.getuid(), "rows": rows}, indent=1))
        return 0
    root = os.geteuid() == 0
    results: dict[str, list[dict[str, Any]]] = {}
    if "root" in legs and root:
        console.print("root leg")
        results["root"] = await run_leg(attacks, console)
    if "user" in legs:
        results["user"] = user_leg(args, console) if root else await run_leg(attacks, console)
    meta = {
        "date": dt.datetime.now().isoformat(timespec="minutes"),
        "machine": f"{platform.node()}, {os.cpu_count()} cores, {platform.platform()}",
        "legs": {leg: len(rows) for leg, rows in results.items()},
        "user_uid": (args.uid or ordinary_uid()) if root else os.getuid(),
        "command": "perforch bench adversarial",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "adversarial.json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=2) + "\n"
    )
    (args.out / "adversarial.md").write_text(report(meta, results, attacks))
    contained = all(r["verdict"].startswith("contained") for rows in results.values() for r in rows)
    console.print(f"wrote {args.out / 'adversarial.md'}")
    return 0 if contained else 1


def report(
    meta: dict[str, Any], results: dict[str, list[dict[str, Any]]], attacks: list[Attack]
) -> str:
    legs = list(results)
    by = {leg: {(r["language"], r["attack"]): r for r in rows} for leg, rows in results.items()}
    total = {
        leg: sum(r["verdict"].startswith("contained") for r in rows)
        for leg, rows in results.items()
    }
    lines = [
        "# Adversarial benchmark: hostile candidates against the sandbox",
        "",
        f"{meta['date']} · {meta['machine']} · `{meta['command']}`",
        "",
        "Each attack is a candidate function in the language it targets, with its test beside it",
        "(a user's layout), run through the profiler daemon: built, tested, sandboxed. It is",
        "*contained* when it ended the way it must (the attack itself saw the sandbox refuse, or a",
        "limit, the clock or the build stopped it), the canary stayed unread, nothing was written",
        "outside the work dir, the 127.0.0.1 listener saw no connection, no process outlived the",
        "run, and the daemon served the next request.",
        "",
        " · ".join(f"**{leg}**: {total[leg]} of {len(results[leg])} contained" for leg in legs),
        "",
        "| language | attack | " + " | ".join(legs) + " |",
        "|---|---|" + "---|" * len(legs),
    ]
    for a in attacks:
        key = (a.language.value, a.name)
        cells = []
        for leg in legs:
            row = by[leg].get(key)
            if row is None:
                cells.append("not run")
            else:
                ok = row["verdict"].startswith("contained")
                mark = "✅" + row["verdict"][9:] if ok else "❌ " + row["verdict"]
                cells.append(f"{mark} {row['ended'][:90]} ({row['seconds']} s)".replace("|", "/"))
        lines.append(f"| {a.language.value} | {a.name}: {a.what} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
