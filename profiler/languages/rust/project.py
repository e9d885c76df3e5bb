"""Cargo crates: ``cargo test --no-run`` offline (the user's cargo home read-only, this
project's own target directory) builds the test binaries, which are copied out of the shared
target directory and run directly with the selected tests (``--exact``); the function's doctest
runs through ``cargo test --doc`` (and is not part of what is measured)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from perforch_core.models import ProjectSpec, TestOutcome

from ...projects.base import (
    CACHE,
    INSIDE,
    SRC,
    Prepared,
    Runner,
    Step,
    build_failure,
    offline,
    outcome,
    step,
)
from ...protocol import RunTestsParams
from .toolchain import rust


def cargo_home() -> Path:
    return Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))


def libtest_cases(stdout: str) -> dict[str, str | None]:
    """libtest's output: ``test NAME ... ok|FAILED`` lines, failures' captured output."""
    cases: dict[str, str | None] = {}
    for m in re.finditer(r"^test (.+?) \.\.\. (ok|FAILED|ignored)", stdout, re.M):
        if m.group(2) != "ignored":
            cases[m.group(1)] = None if m.group(2) == "ok" else "failed"
    for m in re.finditer(
        r"^---- (.+?) stdout ----\n(.*?)(?=^---- |^failures:|\Z)", stdout, re.M | re.S
    ):
        if m.group(1) in cases:
            cases[m.group(1)] = m.group(2).strip() or "failed"
    return cases


def _ids(spec: ProjectSpec) -> tuple[list[str], list[str]]:
    """(unit and integration test paths, doctest paths). Ids: lib:PATH, test:TARGET:PATH,
    doc:PATH; another workspace member's tests are prefixed with ``CRATE/``."""
    tests = []
    for t in spec.tests:
        own = re.sub(r"^[\w-]+/", "", t.id)
        if not own.startswith("doc:"):
            tests.append(own.split(":", 2)[-1] if own.startswith("test:") else own[4:])
    return list(dict.fromkeys(tests)), [t.id[4:] for t in spec.tests if t.id.startswith("doc:")]


def _packages(spec: ProjectSpec) -> str:
    """``-p`` for the function's crate and each member whose tests were selected."""
    crates = [spec.options["crate"]]
    crates += [t.id.split("/", 1)[0] for t in spec.tests if re.match(r"^[\w-]+/", t.id)]
    return " ".join(f'-p "{c}"' for c in dict.fromkeys(crates))


class CargoRunner(Runner):
    def _env(self) -> tuple[dict[str, str], list[str | Path], str]:
        tc = rust()
        home = cargo_home()
        env = {
            "PATH": f"{tc.sysroot}/bin:/usr/bin:/bin",
            "CARGO_HOME": str(home),
            "CARGO_TARGET_DIR": f"{CACHE}/target",
            "CARGO_NET_OFFLINE": "true",
            "CARGO_TERM_COLOR": "never",
            "RUST_BACKTRACE": "0",
        }
        return env, [tc.sysroot, home], str(tc.sysroot / "bin" / "cargo")

    async def prepare(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> Prepared | TestOutcome:
        env, binds, cargo = self._env()
        cwd = f"{SRC}/{spec.workdir}" if spec.workdir != "." else SRC
        script = (
            f'"{cargo}" test --offline {_packages(spec)} --tests --no-run '
            f"--message-format=json-render-diagnostics > {INSIDE}/cargo.json"
        )
        build = await step(
            wd, cache, Step(argv=["sh", "-c", script], cwd=cwd, env=env, ro_binds=binds)
        )
        if build.returncode != 0:
            failed = build_failure("the build", build)
            text = failed.error or ""
            if "offline" in text and ("registry" in text or "download" in text):
                return offline(failed, f"cargo's registry ({cargo_home()})", "cargo fetch")
            return failed
        executables: list[str] = []
        for line in (wd / "cargo.json").read_text().splitlines():
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            exe = message.get("executable")
            if exe and message.get("profile", {}).get("test"):
                executables.append(exe)
        (wd / "bin").mkdir(exist_ok=True)
        names = []
        for exe in executables:  # out of the shared target dir: the next build overwrites it
            local = wd / "bin" / Path(exe).name
            shutil.copy2(cache / Path(exe).relative_to(CACHE), local)
            names.append(f"{INSIDE}/bin/{local.name}")
        tests, docs = _ids(spec)
        loop = " ".join(f"'{n}' --exact {' '.join(repr(t) for t in tests)} || s=1;" for n in names)
        return Prepared(
            argv=["sh", "-c", f"s=0; {loop} exit $s"],
            cwd=cwd,
            env={"PATH": "/usr/bin:/bin", "RUST_BACKTRACE": "0"},
            note="doctests are run but not measured" if docs else "",
        )

    async def run(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestOutcome:
        prepared = await self.prepare(spec, wd, cache, params)
        if isinstance(prepared, TestOutcome):
            return prepared
        tests, docs = _ids(spec)
        cases: dict[str, str | None] = {}
        last = None
        if tests:
            last = await step(
                wd,
                cache,
                Step(argv=prepared.argv, cwd=prepared.cwd, env=prepared.env),
                params.timeout_s,
            )
            cases.update(libtest_cases(last.stdout_tail + "\n" + last.stderr_tail))
        env, binds, cargo = self._env()
        for path in docs:
            doc = await step(
                wd,
                cache,
                Step(
                    argv=[
                        cargo,
                        "test",
                        "--offline",
                        "-p",
                        spec.options["crate"],
                        "--doc",
                        "--",
                        path,
                    ],
                    cwd=prepared.cwd,
                    env=env,
                    ro_binds=binds,
                ),
                params.timeout_s + 60,
            )
            cases.update(libtest_cases(doc.stdout_tail + "\n" + doc.stderr_tail))
            if last is None or doc.returncode != 0:
                last = doc
        assert last is not None  # a project has at least one test
        return outcome(cases, last, len(tests) + len(docs), last.wall_s)
