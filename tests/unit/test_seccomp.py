"""The seccomp policy as data: built for each mode, nothing both allowed and denied, and the
learn mode's kernel log read back as call names."""

from __future__ import annotations

import pytest

from perforch_core.errors import SandboxError
from profiler import seccomp


def test_no_call_is_both_allowed_and_denied():
    allowed = {name for family in seccomp.ALLOWED.values() for name in family}
    assert not allowed & set(seccomp.DENIED)
    assert "clone3" not in allowed  # ENOSYS, so that clone's flags stay readable


@pytest.mark.parametrize("policy", ["allow-list", "learn", "deny-list"])
def test_each_policy_builds_into_a_program(policy: str):
    code = seccomp.program(policy)
    assert len(code) % 8 == 0 and len(code) > 8 * len(seccomp.DENIED)  # sock_filter: 8 bytes


def test_the_allow_list_is_the_default_and_a_wrong_mode_is_refused(monkeypatch):
    monkeypatch.delenv("PERFORCH_SECCOMP", raising=False)
    assert seccomp.mode() == "allow-list"
    monkeypatch.setenv("PERFORCH_SECCOMP", "off")
    with pytest.raises(SandboxError, match="allow-list"):
        seccomp.mode()


def test_calls_logged_in_learn_mode_are_read_back_by_name():
    log = (
        "[ 1630.857934] audit: type=1326 audit(1796249051.999:2): auid=4294967295 uid=65534 "
        'gid=65534 ses=4294967295 pid=4764 comm="python3" exe="/usr/bin/python3.11" sig=0 '
        "arch=c000003e syscall=135 compat=0 ip=0x7fad980f34e7 code=0x7ffc0000\n"
        "[ 1631.000000] unrelated line syscall=1\n"
    )
    assert seccomp.learned(log) == {"personality": {"/usr/bin/python3.11"}}
