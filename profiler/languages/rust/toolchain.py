"""The Rust toolchain: the crates HumanEval-X tests name (``rand 0.4``, ``regex 1``, ``md5 0.7``)
are built once with cargo into rlibs; a lone file's candidates then compile with plain
``rustc --extern …`` (no cargo, no network, ~0.3 s instead of rebuilding the crates)."""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from perforch_core.errors import HarnessError

from ...toolchains import cache_root, version_of

RUST_DEPS = 'rand = "0.4"\nregex = "1"\nmd5 = "0.7"\n'


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


@functools.cache
def rust() -> Rust:
    rustc = shutil.which("rustc")
    if rustc is None:
        raise HarnessError("rustc is not installed")
    sysroot = Path(version_of([rustc, "--print", "sysroot"]))
    return Rust(sysroot=sysroot, version=version_of([str(sysroot / "bin" / "rustc"), "--version"]))


def prepare(log: bool = True) -> None:
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
