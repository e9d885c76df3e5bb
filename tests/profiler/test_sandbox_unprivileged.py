"""Every attack of `perforch bench adversarial`, as root and as an ordinary user (an editor
user's case; CI runs as root, so the benchmark's ordinary-user leg drops privileges itself):
fork, memory, disk, /tmp and output bombs, an endless loop, new user namespaces, io_uring, the
mount API, ptrace of a sibling, a canary outside the work dir, writing outside, a 127.0.0.1
listener, compiler bombs, JVM and goroutine floods, and the rest — in the language each
targets, through the real daemon. Each must end contained (the sandbox refused, or a limit,
the clock or the build stopped it; the canary unread, nothing written outside, the listener
untouched, no process left over) with the daemon still serving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.cli.attacks import ATTACKS


@pytest.mark.timeout(1500)  # both legs of the benchmark: about five minutes
def test_every_attack_is_contained_as_root_and_as_an_ordinary_user(tmp_path: Path):
    legs = ["root", "user"] if os.geteuid() == 0 else ["user"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "server",
            "bench",
            "adversarial",
            "--legs",
            ",".join(legs),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=1500,
    )
    report = tmp_path / "adversarial.json"
    assert report.exists(), done.stdout[-2000:] + done.stderr[-2000:]
    found = json.loads(report.read_text())
    assert found["meta"]["user_uid"] != 0
    assert sorted(found["results"]) == sorted(legs)
    for leg in legs:
        rows = found["results"][leg]
        assert len(rows) == len(ATTACKS) >= 25, rows
        escaped = [r for r in rows if not r["verdict"].startswith("contained")]
        assert not escaped, (leg, escaped)
    assert done.returncode == 0, done.stderr[-2000:]
