"""The warm javac service against the real JDK, inside the real sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiler.ceilings import kill_group
from profiler.languages.java.harness import JAVAC_SERVICE_FLAGS
from profiler.languages.java.javac_service import JavacService


@pytest.fixture
async def service():
    s = JavacService(JAVAC_SERVICE_FLAGS)
    yield s
    await s.aclose()


def _sources(tmp_path: Path, name: str, text: str) -> Path:
    d = tmp_path / name
    (d / "pa").mkdir(parents=True)
    (d / "pa" / "Main.java").write_text(f"package pa;\n{text}")
    return d


async def test_compiles_packages_into_classes_and_reports_errors_by_file_name(
    service, tmp_path: Path
):
    good = _sources(tmp_path, "good", "public class Main { public static int f() { return 1; } }")
    assert await service.compile(good) == (0, "")
    assert (good / "classes" / "pa" / "Main.class").is_file()

    bad = _sources(tmp_path, "bad", "public class Main { int f( { } }")
    result = await service.compile(bad)
    assert result is not None
    rc, output = result
    assert rc != 0 and "pa/Main.java:2: error" in output, output
    assert "perforch-javac" not in output  # the spool directory is not the user's business
    assert not (bad / "classes" / "pa" / "Main.class").exists()


async def test_a_dead_service_is_restarted_on_next_use(service, tmp_path: Path):
    first = _sources(tmp_path, "one", "public class Main {}")
    assert (await service.compile(first) or (None,))[0] == 0
    assert service._proc is not None
    kill_group(service._proc.pid)
    await service._proc.wait()
    # The dead process is noticed: this request either falls back (None) or restarts it.
    second = _sources(tmp_path, "two", "public class Main {}")
    result = await service.compile(second)
    if result is None:
        result = await service.compile(second)
    assert result == (0, "")
    assert service._proc is not None and service._proc.returncode is None
