"""The Java toolchain: the JDK, our own Java helpers compiled once (``java_classes``), and jars
fetched once from Maven Central: the JUnit Platform console launcher (runs projects' JUnit
tests) and JaCoCo (traces which of them run a function)."""

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


def java_classes(
    source: Path, name: str, classpath: tuple[Path, ...] = (), more: tuple[Path, ...] = ()
) -> Path:
    """Our own Java ``source`` (and ``more`` sources beside it) compiled once (outside the
    sandbox: it is our code) into a cached directory keyed by the sources, the JDK and the
    classpath."""
    tc = java()
    text = b"".join(p.read_bytes() for p in (source, *more))
    key = hashlib.sha256(
        text + tc.version.encode() + "|".join(map(str, classpath)).encode()
    ).hexdigest()[:10]
    out = cache_root() / "toolchains" / f"{name}-{key}"
    if (out / f"{source.stem}.class").is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=out.parent))
    cp = ["-cp", ":".join(map(str, classpath))] if classpath else []
    subprocess.run(
        [str(tc.home / "bin" / "javac"), *cp, "-d", str(tmp), str(source), *map(str, more)],
        check=True,
        capture_output=True,
    )
    os.chmod(tmp, 0o755)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


CLOCK_SOURCE = Path(__file__).with_name("java_src") / "perforch_clock.c"


def process_clock() -> Path:
    """``libperforchclock.so`` (our JNI function reading CLOCK_PROCESS_CPUTIME_ID), built once
    with gcc outside the sandbox (it is our code), keyed by its source and the JDK."""
    tc = java()
    key = hashlib.sha256(CLOCK_SOURCE.read_bytes() + tc.version.encode()).hexdigest()[:10]
    out = cache_root() / "toolchains" / f"perforch-clock-{key}" / "libperforchclock.so"
    if out.is_file():
        return out
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise HarnessError("gcc is not installed: the Java drivers' process clock cannot be built")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    include = tc.home / "include"
    subprocess.run(
        [
            gcc,
            "-O2",
            "-shared",
            "-fPIC",
            f"-I{include}",
            f"-I{include / 'linux'}",
            str(CLOCK_SOURCE),
            "-o",
            str(tmp),
        ],
        check=True,
        capture_output=True,
    )
    os.chmod(out.parent, 0o755)
    tmp.replace(out)
    return out


JUNIT_CONSOLE = "org.junit.platform:junit-platform-console-standalone:6.0.3"
# JaCoCo traces which tests run a function (``perforch tests --trace``): the agent records
# per test, the core library (with the ASM it is built on) maps the record to source lines.
JACOCO_AGENT = "org.jacoco:org.jacoco.agent:0.8.15:jar:runtime"
JACOCO_CORE = (
    "org.jacoco:org.jacoco.core:0.8.15",
    "org.ow2.asm:asm:9.10.1",
    "org.ow2.asm:asm-commons:9.10.1",
    "org.ow2.asm:asm-tree:9.10.1",
)
ARTIFACTS = (JUNIT_CONSOLE, JACOCO_AGENT, *JACOCO_CORE)


def _jar(coordinates: str) -> Path:
    """Where an artifact (``group:artifact:version[:type:classifier]``) is kept."""
    parts = coordinates.split(":")
    artifact, version = parts[1], parts[2]
    classifier = f"-{parts[4]}" if len(parts) > 4 else ""
    return cache_root() / "toolchains" / f"{artifact}-{version}{classifier}.jar"


def _prepared(coordinates: str) -> Path:
    jar = _jar(coordinates)
    if not jar.is_file():
        raise HarnessError(f"{coordinates} is not prepared", hint="run scripts/setup.sh")
    return jar


def junit_console() -> Path:
    """The JUnit Platform console launcher (standalone jar: the launcher, the Jupiter engine
    and API), which runs a Java project's JUnit 5/6 tests against its compiled classes."""
    return _prepared(JUNIT_CONSOLE)


def jacoco_agent() -> Path:
    return _prepared(JACOCO_AGENT)


def jacoco_core() -> tuple[Path, ...]:
    """JaCoCo's analysis library and the ASM jars it needs."""
    return tuple(_prepared(c) for c in JACOCO_CORE)


def prepare(log: bool = True) -> Path:
    """Build the process clock; fetch the console launcher and JaCoCo once from Maven Central
    (with ``mvn dependency:copy``, through the user's ~/.m2) and keep copies in the cache."""
    process_clock()
    for coordinates in ARTIFACTS:
        jar = _jar(coordinates)
        if jar.is_file():
            continue
        mvn = shutil.which("mvn")
        if mvn is None:
            raise HarnessError(f"Maven (mvn) is not installed: cannot fetch {coordinates}")
        if log:
            print(f"perforch setup: fetching {coordinates}")
        tmp = jar.parent / f".{jar.stem}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "dependency:copy",
                f"-Dartifact={coordinates}",
                f"-DoutputDirectory={tmp}",
            ],
            check=True,
            capture_output=True,
        )
        (tmp / jar.name).rename(jar)
        shutil.rmtree(tmp, ignore_errors=True)
    return _jar(JUNIT_CONSOLE)
