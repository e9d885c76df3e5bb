"""The Go harness: a test program (``package main`` with testify-based ``Test*`` functions) is
built with ``go test -c`` offline (``GOPROXY=off``, the module cache prepared by
``profiler.toolchains``, ``CGO_ENABLED=0`` so building runs no user code) on a hard-linked copy
of the warm build cache, then the test binary runs."""

from __future__ import annotations

from perforch_core.models import Language

from ..protocol import RunTestsParams
from ..sandbox import Limits
from ..toolchains import go
from .compiled import CompiledHarness, Recipe


class GoHarness(CompiledHarness):
    language = Language.GO
    failure_markers = ("--- FAIL", "Error:", "expected", "actual", "panic:")
    run_limits = Limits(wall_s=20, cpu_s=20, address_space_mb=2048)

    def test_recipe(self, source: str, params: RunTestsParams) -> Recipe:
        tc = go()
        template = tc.template
        return Recipe(
            files={
                "src/go.mod": (template / "go.mod").read_text(),
                "src/go.sum": (template / "go.sum").read_text(),
                "src/main_test.go": source,
            },
            # GOCACHE must be absolute: the linked copy in this build's directory.
            compile=[
                "sh",
                "-c",
                'export GOCACHE="$PWD/gocache"; cd src && go test -c -o ../prog.test .',
            ],
            artifact="prog.test",
            run=["./prog.test", "-test.v", "-test.count=1"],
            key=f"{tc.version} go test -c",
            ro_binds=[tc.goroot, tc.modcache],
            env={
                "PATH": f"{tc.goroot}/bin:/usr/bin:/bin",
                "HOME": "/tmp",
                "GOMODCACHE": str(tc.modcache),
                "GOFLAGS": "-mod=mod",
                "GOPROXY": "off",
                "GOTOOLCHAIN": "local",
                "GOTELEMETRY": "off",
                "CGO_ENABLED": "0",
                "GOPATH": "/tmp/gopath",
            },
            linked_dirs={"gocache": tc.buildcache},
            compile_limits=Limits(wall_s=180, cpu_s=180, address_space_mb=4096),
        )
