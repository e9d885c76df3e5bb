"""The Java toolchain: the JDK, our own Java helpers compiled once (``java_classes``), and the
JUnit Platform console launcher fetched once from Maven Central (runs projects' JUnit tests)."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from perforch_core.errors import HarnessError

from ...toolchains import cache_root, version_of


@dataclass(frozen=True)
class Java:
    home: Path
    version: str


@functools.cache
def java() -> Java:
    javac = shutil.which("javac")
    if javac is None:
        raise HarnessError("javac is not installed")
    home = Path(javac).resolve().parent.parent
    return Java(home=home, version=version_of([str(home / "bin" / "javac"), "-version"]))


def java_classes(source: Path, name: str, classpath: tuple[Path, ...] = ()) -> Path:
    """Our own Java ``source`` compiled once (outside the sandbox: it is our code) into a
    cached directory keyed by the source, the JDK and the classpath."""
    tc = java()
    key = hashlib.sha256(
        source.read_bytes() + tc.version.encode() + "|".join(map(str, classpath)).encode()
    ).hexdigest()[:10]
    out = cache_root() / "toolchains" / f"{name}-{key}"
    if (out / f"{source.stem}.class").is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=out.parent))
    cp = ["-cp", ":".join(map(str, classpath))] if classpath else []
    subprocess.run(
        [str(tc.home / "bin" / "javac"), *cp, "-d", str(tmp), str(source)],
        check=True,
        capture_output=True,
    )
    os.chmod(tmp, 0o755)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


JUNIT_CONSOLE = "org.junit.platform:junit-platform-console-standalone:6.0.3"


def junit_console() -> Path:
    """The JUnit Platform console launcher (standalone jar: the launcher, the Jupiter engine
    and API), which runs a Java project's JUnit 5/6 tests against its compiled classes."""
    _, artifact, version = JUNIT_CONSOLE.split(":")
    jar = cache_root() / "toolchains" / f"{artifact}-{version}.jar"
    if not jar.is_file():
        raise HarnessError(
            "the JUnit console launcher is not prepared", hint="run scripts/setup.sh"
        )
    return jar


def prepare(log: bool = True) -> Path:
    """Fetch the console launcher once from Maven Central (with ``mvn dependency:get``, into
    the user's ~/.m2) and keep a copy in the cache."""
    _group, artifact, version = JUNIT_CONSOLE.split(":")
    jar = cache_root() / "toolchains" / f"{artifact}-{version}.jar"
    if jar.is_file():
        return jar
    mvn = shutil.which("mvn")
    if mvn is None:
        raise HarnessError("Maven (mvn) is not installed: cannot fetch the JUnit launcher")
    if log:
        print(f"perforch setup: fetching {JUNIT_CONSOLE} (runs Java projects' JUnit tests)")
    tmp = jar.parent / f".{artifact}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(
        [
            mvn,
            "-B",
            "-q",
            "dependency:copy",
            f"-Dartifact={JUNIT_CONSOLE}",
            f"-DoutputDirectory={tmp}",
        ],
        check=True,
        capture_output=True,
    )
    (tmp / jar.name).rename(jar)
    shutil.rmtree(tmp, ignore_errors=True)
    return jar
