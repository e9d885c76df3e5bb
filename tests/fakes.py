"""Fakes at the core's ports, for unit tests (no network, no subprocess)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from perforch_core.errors import LLMUnavailableError
from perforch_core.events import RankedModel
from perforch_core.models import (
    Category,
    DifferentialResult,
    HotLine,
    HotspotsResult,
    Interval,
    Language,
    Measurement,
    Metric,
    Mismatch,
    ProbeResult,
    ScalingPoint,
    ScalingResult,
    Stage,
    Task,
    TestFailure,
    TestOutcome,
    TestSpec,
    Verdict,
)
from perforch_core.ports import (
    ChatMessage,
    LLMReply,
    ModelChoice,
    Observation,
    OnSample,
    Sample,
)


def make_task(code: str | None = "def f(x):\n    return x  # BUG\n", **kw: object) -> Task:
    fields: dict[str, object] = dict(
        id="t.py::f",
        language=Language.PYTHON,
        entry_point="f",
        module="t",
        signature='def f(x):\n    """Return x + 1."""\n',
        description="Return x + 1.",
        current_code=code,
        tests=TestSpec(kind="doctest", source=">>> f(1)\n2\n", origin="docstring"),
        categories=(Category.MATH,),
    )
    fields.update(kw)
    return Task(**fields)  # type: ignore[arg-type]


def block(body: str) -> str:
    return f"```python\ndef f(x):\n{body}\n```"


TRUNCATED = "TRUNCATED:"  # a scripted reply so marked stopped at its token limit


class FakeLLM:
    """Replies from a script per model; a reply that is an exception is raised."""

    def __init__(self, replies: dict[str, list[str | Exception]], delay: float = 0.0) -> None:
        self.replies = {k: list(v) for k, v in replies.items()}
        self.calls: list[tuple[str, list[ChatMessage]]] = []
        self.min_tokens: list[int | None] = []
        self.delay = delay

    async def complete(
        self, model: str, messages: Sequence[ChatMessage], *, min_tokens: int | None = None
    ) -> LLMReply:
        self.calls.append((model, list(messages)))
        self.min_tokens.append(min_tokens)
        if self.delay:
            await asyncio.sleep(self.delay)
        script = self.replies.get(model)
        if not script:
            raise LLMUnavailableError(f"{model}: no scripted reply", model=model)
        reply = script.pop(0)
        if isinstance(reply, Exception):
            raise reply
        cut = reply.startswith(TRUNCATED)
        return LLMReply(
            model=model,
            text=reply.removeprefix(TRUNCATED),
            truncated=cut,
            prompt_tokens=10,
            completion_tokens=5,
            cost_usd=0.001,
            latency_s=0.01,
        )


class FakeProfiler:
    """Judges code by markers: 'BUG' fails the tests, 'SLEEP' hangs, 'FAST<n>' improves n %."""

    def __init__(self) -> None:
        self.tested: list[str] = []
        self.compared: list[tuple[str, str]] = []

    async def run_tests(self, task: Task, code: str) -> TestOutcome:
        self.tested.append(code)
        if "SLEEP" in code:
            await asyncio.sleep(3600)
        if "BUG" in code:
            return TestOutcome(
                passed=False,
                total=1,
                failures=(TestFailure(name="f(1)", message="expected 2, got 1"),),
            )
        return TestOutcome(passed=True, total=1)

    async def measure(
        self, task: Task, code: str, metric: Metric, on_sample: OnSample | None = None
    ) -> Measurement:
        return Measurement(metric=metric, unit="ns", values=(1000.0,), summary=1000.0)

    async def compare(
        self,
        task: Task,
        baseline: str,
        candidate: str,
        metric: Metric,
        threshold_pct: float,
        on_sample: OnSample | None = None,
    ) -> Verdict:
        self.compared.append((baseline, candidate))
        gain = 0.0
        if "FAST" in candidate:
            gain = float(candidate.split("FAST", 1)[1].split()[0])
        after = 1000.0 * (1 - gain / 100)
        if on_sample:
            await on_sample(
                Sample(metric=metric, process=1, baseline=1000.0, candidate=after, unit="ns")
            )
        decision = "improved" if gain >= threshold_pct else "not_improved"
        return Verdict(
            metric=metric,
            decision=decision,
            improvement_pct=gain,  # type: ignore[arg-type]
            interval_pct=Interval(low=gain - 1, high=gain + 1),
            threshold_pct=threshold_pct,
            before=Measurement(metric=metric, unit="ns", values=(1000.0,), summary=1000.0),
            after=Measurement(metric=metric, unit="ns", values=(after,), summary=after),
            processes=3,
            method="fake",
        )


class FakeWorkloadProfiler(FakeProfiler):
    """Also runs generated workloads: a generator containing 'REFUSE' is refused by the probe,
    one containing 'FLAT' refused for measuring but checkable; a candidate containing 'DIFFERS'
    differs from the original on the inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.probed: list[str] = []
        self.checked: list[tuple[str, list[int]]] = []
        self.compared_tasks: list[Task] = []
        self.scaled: list[list[int]] = []
        self.checked_seeds: list[list[int] | None] = []
        self.scaled_seeds: list[list[int]] = []

    async def probe_workload(
        self, task: Task, code: str, generator: str, *, target_ns: int = 5_000_000
    ) -> ProbeResult:
        self.probed.append(generator)
        if "REFUSE" in generator:
            return ProbeResult(ok=False, error="generate_input(8, seed 1) is not deterministic")
        if "FLAT" in generator:  # the original's cost does not grow: refused, still checkable
            flat = [{"size": n, "ns": 2000.0} for n in (8, 16, 4096)]
            why = "one call of the original still takes 2.0 µs at size 4096"
            return ProbeResult(ok=False, error=why, tried=flat, checkable=True)
        if "FIXED" in generator:  # inputs that cannot grow: measured 2500 at a time
            fixed = [{"size": n, "ns": 2000.0} for n in (8, 16, 4096)]
            return ProbeResult(ok=True, size=4096, ns=2000.0, tried=fixed, inputs=2500)
        tried = [{"size": n, "ns": target_ns * (n / 4096) ** 2} for n in (512, 1024, 2048, 4096)]
        return ProbeResult(ok=True, size=4096, ns=float(target_ns), tried=tried)

    async def differential(
        self,
        task: Task,
        baseline: str,
        candidate: str,
        generator: str,
        sizes: list[int],
        seeds: list[int] | None = None,
        *,
        timeout_s: float = 60.0,
    ) -> DifferentialResult:
        self.checked.append((candidate, sizes))
        self.checked_seeds.append(seeds)
        if "DIFFERS" not in candidate:
            return DifferentialResult(ok=True, checked=len(sizes) * 3)
        found = Mismatch(
            size=3,
            seed=1,
            why="the return values differ",
            input="([1, 2, 1],)",
            original="True",
            candidate="False",
        )
        return DifferentialResult(ok=False, checked=1, mismatch=found)

    async def hotspots(self, task: Task, code: str) -> HotspotsResult:
        """The original's inner loop takes the time."""
        lines = (
            HotLine(line=5, offset=3, code="if items[i] == items[j]:", share=0.7, hits=4000),
            HotLine(line=4, offset=2, code="for j in range(i + 1, n):", share=0.25, hits=4000),
        )
        return HotspotsResult(ok=True, lines=lines)

    async def scaling(
        self,
        task: Task,
        baseline: str,
        candidate: str,
        generator: str,
        sizes: list[int],
        seeds: list[int],
        metric: Metric,
    ) -> ScalingResult:
        """The original grows as n², the candidate as n (one call: 10·n² and 40·n ns)."""
        self.scaled.append(sizes)
        self.scaled_seeds.append(seeds)
        points = tuple(
            ScalingPoint(size=n, baseline=10.0 * n * n, candidate=40.0 * n) for n in sizes
        )
        return ScalingResult(ok=True, points=points, unit="ns")

    async def compare(self, task: Task, *args: object, **kw: object) -> Verdict:  # type: ignore[override]
        self.compared_tasks.append(task)
        return await super().compare(task, *args, **kw)  # type: ignore[arg-type]


class FakeMemory:
    def __init__(self, order: Sequence[str]) -> None:
        self.order = list(order)
        self.recorded: list[Observation] = []
        self.choices: list[ModelChoice] = []

    async def rank(
        self,
        stage: Stage,
        language: Language,
        categories: Sequence[Category],
        metric: Metric | None,
        candidates: Sequence[str],
    ) -> list[RankedModel]:
        n = len(self.order)
        return [
            RankedModel(model=m, score=(n - i) / n, why="fake")
            for i, m in enumerate(self.order)
            if m in candidates
        ]

    async def record(self, observations: Sequence[Observation]) -> None:
        self.recorded.extend(observations)

    async def record_choice(self, choice: ModelChoice) -> None:
        self.choices.append(choice)
