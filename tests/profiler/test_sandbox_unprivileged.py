"""The sandbox as an ordinary user, not root (an editor user's case; CI runs as root, so this
test drops privileges itself through `perforch bench adversarial`'s ordinary-user leg): a fork
bomb is stopped by the process limit (without root the kernel counts the user's own tasks, so
the allowance is added to them), a memory bomb by the address-space limit, the canary outside
stays unread, the loopback listener sees nothing, no new user namespace can be made (seccomp,
and bwrap's --disable-userns), a call outside the seccomp allow-list is refused, files under
the size limit written without end are stopped by the disk ceiling (which reads the user's
filesystem, not root's view), and no process outlives a run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ATTACKS = (
    "fork bomb",
    "memory bomb",
    "thread flood",
    "read a canary",
    "loopback connect",
    "CLONE_NEWUSER escape",
    "unshare",
    "disk fill across files",
    "personality",
)
ONLY = "^(" + "|".join(ATTACKS) + ")$"


def test_attacks_are_contained_as_an_ordinary_user(tmp_path: Path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "server",
            "bench",
            "adversarial",
            "--legs",
            "user",
            "--only",
            ONLY,
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = tmp_path / "adversarial.json"
    assert report.exists(), done.stdout[-2000:] + done.stderr[-2000:]
    found = json.loads(report.read_text())
    assert found["meta"]["user_uid"] != 0
    rows = found["results"]["user"]
    assert len(rows) == len(ATTACKS), rows
    escaped = [r for r in rows if not r["verdict"].startswith("contained")]
    assert not escaped, escaped
    assert done.returncode == 0, done.stderr[-2000:]
