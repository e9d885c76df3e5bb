"""The compiled languages' toolchains: where they are, their versions, and the one-time
preparation of the libraries benchmark tests need (fetched once with network, then offline).

- Rust: the crates HumanEval-X names (``rand 0.4``, ``regex 1``, ``md5 0.7``) are built once with
  cargo into rlibs; candidates then compile with plain ``rustc --extern …`` (no cargo, no
  network, ~0.3 s instead of rebuilding the crates).
- Go: ``github.com/stretchr/testify`` is downloaded once into a module cache; candidates build
  with ``GOPROXY=off`` against it, on a hard-linked copy of a build cache warmed once with the
  same settings (bwrap 0.8 has no overlay, and Go refuses a read-only cache).
- C++: Boost headers come from Debian (``libboost-dev``), installed by ``scripts/setup.sh``; a
  precompiled ``<bits/stdc++.h>`` for the harness's exact flags (1.0 s → 0.35 s per build here).
- The memory launcher (``profiler/launcher.c``) is compiled once per source and compiler version.

``python -m profiler.toolchains`` (run by ``scripts/setup.sh``) prepares everything; it is a
no-op when the cache for these versions exists.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from perforch_core.errors import HarnessError


def cache_root() -> Path:
    return Path(os.environ.get("PERFORCH_CACHE", Path.home() / ".cache" / "perforch"))


def _out(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise HarnessError(f"{cmd[0]} is not usable: {exc}") from exc


@dataclass(frozen=True)
class Rust:
    sysroot: Path
    version: str

    @property
    def rustc(self) -> Path:
        return self.sysroot / "bin" / "rustc"

    @property
    def deps_dir(self) -> Path:
        key = hashlib.sha256(f"{self.version}|{RUST_DEPS}".encode()).hexdigest()[:10]
        return cache_root() / "toolchains" / f"rust-deps-{key}"

    def externs(self) -> dict[str, Path]:
        manifest = self.deps_dir / "externs.json"
        if not manifest.is_file():
            raise HarnessError(
                "the Rust crates for tests are not prepared",
                hint="run scripts/setup.sh (python -m profiler.toolchains)",
            )
        return {k: Path(v) for k, v in json.loads(manifest.read_text()).items()}


@dataclass(frozen=True)
class Go:
    goroot: Path
    version: str

    @property
    def go(self) -> Path:
        return self.goroot / "bin" / "go"

    @property
    def home(self) -> Path:
        key = hashlib.sha256(f"{self.version}|{GO_MODULES}|cgo0".encode()).hexdigest()[:10]
        return cache_root() / "toolchains" / f"go-{key}"

    @property
    def modcache(self) -> Path:
        return self.home / "mod"

    @property
    def buildcache(self) -> Path:
        return self.home / "build"

    @property
    def template(self) -> Path:
        return self.home / "template"


@dataclass(frozen=True)
class Java:
    home: Path
    version: str


@dataclass(frozen=True)
class Cpp:
    gxx: Path
    version: str

    def pch_dir(self, flags: tuple[str, ...]) -> Path:
        """An include directory holding ``bits/stdc++.h.gch`` built with exactly ``flags``
        (g++ uses a precompiled header only when the flags match)."""
        key = hashlib.sha256(f"{self.version} {' '.join(flags)}".encode()).hexdigest()[:10]
        return cache_root() / "toolchains" / f"cpp-pch-{key}"


RUST_DEPS = 'rand = "0.4"\nregex = "1"\nmd5 = "0.7"\n'
GO_MODULES = "github.com/stretchr/testify v1.9.0"


@functools.cache
def rust() -> Rust:
    rustc = shutil.which("rustc")
    if rustc is None:
        raise HarnessError("rustc is not installed")
    sysroot = Path(_out([rustc, "--print", "sysroot"]))
    return Rust(sysroot=sysroot, version=_out([str(sysroot / "bin" / "rustc"), "--version"]))


@functools.cache
def go() -> Go:
    exe = shutil.which("go")
    if exe is None:
        raise HarnessError("go is not installed")
    goroot = Path(_out([exe, "env", "GOROOT"]))
    return Go(goroot=goroot, version=_out([exe, "env", "GOVERSION"]))


@functools.cache
def java() -> Java:
    javac = shutil.which("javac")
    if javac is None:
        raise HarnessError("javac is not installed")
    home = Path(javac).resolve().parent.parent
    return Java(home=home, version=_out([str(home / "bin" / "javac"), "-version"]))


@functools.cache
def cpp() -> Cpp:
    gxx = shutil.which("g++")
    if gxx is None:
        raise HarnessError("g++ is not installed")
    return Cpp(gxx=Path(gxx), version=_out([gxx, "-dumpfullversion"]))


# -- preparation (network allowed; run by scripts/setup.sh) -------------------------------
def prepare_rust(log: bool = True) -> None:
    r = rust()
    if (r.deps_dir / "externs.json").is_file():
        return
    if log:
        print(f"perforch setup: building Rust test crates once ({r.version})", flush=True)
    tmp = r.deps_dir.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "src").mkdir(parents=True)
    (tmp / "Cargo.toml").write_text(
        '[package]\nname = "perforch_deps"\nversion = "0.0.0"\nedition = "2021"\n\n'
        f"[dependencies]\n{RUST_DEPS}"
    )
    (tmp / "src" / "lib.rs").write_text("")
    cargo = shutil.which("cargo") or "cargo"
    subprocess.run([cargo, "build", "--release", "--quiet"], cwd=tmp, check=True)
    deps = tmp / "target" / "release" / "deps"
    externs = {}
    for crate in ("rand", "regex", "md5"):
        rlibs = sorted(deps.glob(f"lib{crate}-*.rlib"), key=lambda p: p.stat().st_mtime)
        if not rlibs:
            raise HarnessError(f"building the {crate} crate produced no rlib")
        externs[crate] = str(r.deps_dir / "target" / "release" / "deps" / rlibs[-1].name)
    (tmp / "externs.json").write_text(json.dumps(externs, indent=1))
    shutil.rmtree(r.deps_dir, ignore_errors=True)
    tmp.rename(r.deps_dir)


def prepare_go(log: bool = True) -> None:
    g = go()
    if (g.template / "ready").is_file():
        return
    if log:
        print(
            f"perforch setup: fetching testify and warming Go's build cache ({g.version})",
            flush=True,
        )
    shutil.rmtree(g.home, ignore_errors=True)
    g.template.mkdir(parents=True)
    # The same settings as the harness's builds (profiler/harness/go.py), or the warm cache
    # would not match: CGO off, module mode, local toolchain.
    env = {
        **os.environ,
        "GOMODCACHE": str(g.modcache),
        "GOCACHE": str(g.buildcache),
        "GOFLAGS": "-mod=mod",
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
        "GOTELEMETRY": "off",
    }
    (g.template / "go.mod").write_text("module perforch/candidate\n\ngo 1.21\n")
    (g.template / "warm_test.go").write_text(
        'package main\n\nimport (\n    "testing"\n    "github.com/stretchr/testify/assert"\n)\n\n'
        "func TestWarm(t *testing.T) {\n    assert.Equal(t, 1, 1)\n}\n"
    )
    (g.template / "main.go").write_text("package main\n\nfunc main() {}\n")
    module, version = GO_MODULES.split()
    subprocess.run(
        [str(g.go), "get", f"{module}@{version}"],
        cwd=g.template,
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [str(g.go), "test", "-c", "-o", os.devnull, "."],
        cwd=g.template,
        env=env,
        check=True,
        capture_output=True,
    )
    for name in ("warm_test.go", "main.go"):
        (g.template / name).unlink()
    (g.template / "ready").write_text(g.version)


def prepare_cpp_pch(flags: tuple[str, ...], log: bool = True) -> Path | None:
    """Precompile ``<bits/stdc++.h>`` once for ``flags``; None when this g++ has no such
    header (builds then simply parse it)."""
    c = cpp()
    out = c.pch_dir(flags)
    gch = out / "bits" / "stdc++.h.gch"
    if gch.is_file():
        return out
    probe = subprocess.run(
        [str(c.gxx), *flags, "-x", "c++", "-E", "-H", "-"],
        input="#include <bits/stdc++.h>\n",
        capture_output=True,
        text=True,
    )
    header = next(
        (ln.split()[-1] for ln in probe.stderr.splitlines() if ln.endswith("bits/stdc++.h")), None
    )
    if header is None:
        return None
    if log:
        print(f"perforch setup: precompiling <bits/stdc++.h> for g++ {c.version}", flush=True)
    tmp = out.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "bits").mkdir(parents=True)
    subprocess.run(
        [str(c.gxx), *flags, "-x", "c++-header", header, "-o", str(tmp / "bits" / "stdc++.h.gch")],
        check=True,
    )
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


@functools.cache
def launcher() -> Path:
    """The memory launcher binary, compiled from ``profiler/launcher.c`` on first use (and
    looked up once per process: this sits on the measuring path)."""
    source = Path(__file__).with_name("launcher.c")
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise HarnessError("gcc is not installed: the memory launcher cannot be built")
    text = source.read_bytes()
    key = hashlib.sha256(text + _out([cc, "-dumpfullversion"]).encode()).hexdigest()[:10]
    binary = cache_root() / "toolchains" / f"launcher-{key}" / "perforch-launch"
    if binary.is_file():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_name(f"perforch-launch.{os.getpid()}.tmp")
    try:
        subprocess.run(
            [cc, "-O2", "-o", str(tmp), str(source)], check=True, capture_output=True, text=True
        )
    except subprocess.CalledProcessError as exc:
        raise HarnessError(f"cannot build the memory launcher: {exc.stderr[-500:]}") from exc
    tmp.rename(binary)
    return binary


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


def prepare_junit_console(log: bool = True) -> Path:
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


def main() -> None:
    from .harness.cpp import FLAGS as CPP_FLAGS

    failures = []
    steps: tuple[tuple[str, Callable[[], object]], ...] = (
        ("rust", prepare_rust),
        ("go", prepare_go),
        ("c++", lambda: prepare_cpp_pch(CPP_FLAGS)),
        ("launcher", launcher),
        ("junit", prepare_junit_console),
    )
    for name, step in steps:
        try:
            step()
        except (HarnessError, subprocess.CalledProcessError, OSError) as exc:
            failures.append(f"{name}: {exc}")
    if failures:
        print(
            "perforch setup: toolchain preparation failed:\n  " + "\n  ".join(failures),
            file=sys.stderr,
        )
        raise SystemExit(1)


if __name__ == "__main__":
    main()
