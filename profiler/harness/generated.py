"""Generated inputs, in every language: probing an input generator, differential testing and
the cost at growing sizes all run ``py_workload.py`` in the sandbox (the generator is Python
whatever the function's language); :class:`GeneratedInputs` turns its requests and results into
the protocol's, and the harness that has the function says how it runs — Python's own (a lone
file, a pytest project's copy), or a compiled measuring program's, called one input at a time
through its ``serve`` command (``compiled.py``)."""

from __future__ import annotations

from typing import Any

from ..protocol import (
    DifferentialParams,
    DifferentialResult,
    ProbeResult,
    ProbeWorkloadParams,
    Program,
    ScalingParams,
    ScalingResult,
)
from ..sandbox import RunResult


class GeneratedInputs:
    """``probe_workload``, ``differential`` and ``scaling`` over :meth:`_run_workload_runner`."""

    generated_inputs = True  # False: this language's harness does not run them yet

    async def _run_workload_runner(
        self, program: Program, files: dict[str, str], request: dict[str, Any], wall_s: float
    ) -> tuple[dict[str, Any] | None, RunResult]:
        """``py_workload.py`` with ``files`` (module_a.py, module_b.py, generator.py) and
        ``request``: its result's JSON (None when it wrote none) and the run."""
        raise NotImplementedError

    @staticmethod
    def _runner_error(data: dict[str, Any] | None, run: RunResult) -> str | None:
        if data is None:
            return (
                run.crashed_reason
                or run.stderr_tail.strip()[-600:]
                or (f"exited with code {run.returncode} before reporting")
            )
        if "generator_error" in data:
            return f"the input generator is unusable: {data['generator_error']}"
        if "harness_error" in data:
            return f"harness error: {data['harness_error']}"
        return None

    async def probe_workload(self, params: ProbeWorkloadParams) -> ProbeResult:
        """Validate the generator on the original and scale it (``py_workload.py probe``)."""
        data, run = await self._run_workload_runner(
            params.program,
            {"module_a.py": params.source, "generator.py": params.generator},
            {
                "mode": "probe",
                "module_a": "module_a.py",
                "generator": "generator.py",
                "entry": params.program.entry_point,
                "seeds": params.seeds,
                "target_ns": params.target_ns,
                "max_size": params.max_size,
                "budget_ns": params.budget_ns,
                "start_size": params.start_size,
            },
            params.timeout_s,
        )
        error = self._runner_error(data, run)
        if error is not None or data is None:
            return ProbeResult(ok=False, error=error)
        return ProbeResult(
            ok=bool(data["ok"]),
            size=data.get("size"),
            ns=data.get("ns"),
            mutates=bool(data.get("mutates", False)),
            tried=data.get("tried", []),
            error=data.get("error"),
            wrapped=bool(data.get("wrapped", False)),
            first_only=bool(data.get("first_only", False)),
            checkable=bool(data.get("checkable", False)),
            inputs=data.get("inputs"),
        )

    async def _both(
        self, params: DifferentialParams | ScalingParams, mode: str, **extra: Any
    ) -> tuple[dict[str, Any] | None, str | None]:
        """``py_workload.py`` in ``mode`` on both versions and the generator at the sizes and
        seeds asked: its result, or None and why (a timeout said as ``mode``'s)."""
        data, run = await self._run_workload_runner(
            params.program,
            {
                "module_a.py": params.baseline,
                "module_b.py": params.candidate,
                "generator.py": params.generator,
            },
            {
                "mode": mode,
                "module_a": "module_a.py",
                "module_b": "module_b.py",
                "generator": "generator.py",
                "entry": params.program.entry_point,
                "sizes": params.sizes,
                "seeds": params.seeds,
                **extra,
            },
            params.timeout_s,
        )
        error = self._runner_error(data, run)
        if error is None and data is not None:
            return data, None
        if run.timed_out:
            error = f"both versions on the generated inputs took over {params.timeout_s:g} s"
        return None, error

    async def differential(self, params: DifferentialParams) -> DifferentialResult:
        """Original and candidate on the same generated inputs (``py_workload.py diff``)."""
        data, error = await self._both(params, "diff")
        if data is None:
            return DifferentialResult(ok=False, error=error)
        return DifferentialResult.model_validate(data)

    async def scaling(self, params: ScalingParams) -> ScalingResult:
        """The cost of one call of each side at each size (``py_workload.py scale``)."""
        data, error = await self._both(
            params, "scale", metric=params.metric.value, repeats=params.repeats
        )
        if data is None:
            return ScalingResult(ok=False, error=error)
        return ScalingResult.model_validate(data)
