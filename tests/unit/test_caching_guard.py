"""The guard against candidates that keep results between calls (perforch_core/caching.py):
the state each language's code keeps, and the verdicts the guard changes and leaves alone."""

from __future__ import annotations

import pytest

from perforch_core import caching, languages
from perforch_core.models import Interval, Language, Measurement, Metric, Verdict


def verdict(decision: str = "improved", repeat_speedup: float | None = 40.0) -> Verdict:
    m = Measurement(metric=Metric.EXEC_TIME, unit="ns", values=(1.0,), summary=1.0)
    return Verdict(
        metric=Metric.EXEC_TIME,
        decision=decision,  # type: ignore[arg-type]
        improvement_pct=80.0,
        interval_pct=Interval(low=70.0, high=90.0),
        threshold_pct=5.0,
        before=m,
        after=m,
        processes=4,
        method="test",
        repeat_speedup=repeat_speedup,
    )


@pytest.mark.parametrize(
    ("language", "code", "kept"),
    [
        (
            Language.PYTHON,
            "_seen = {}\n\ndef f(x):\n    return x\n",
            "a module-level container `_seen`",
        ),
        (
            Language.PYTHON,
            "import functools\n@functools.cache\ndef f(x):\n    return x\n",
            "@cache on `f`",
        ),
        (Language.PYTHON, "def f(x, memo={}):\n    return x\n", "a mutable default `memo`"),
        (
            Language.CPP,
            "int f(int x) {\n    static std::map<int, int> memo;\n    return x;\n}\n",
            "a static variable `memo`",
        ),
        (
            Language.RUST,
            "static CACHE: Mutex<Vec<u64>> = Mutex::new(Vec::new());",
            "a static with interior mutability `CACHE`",
        ),
        (
            Language.JAVA,
            "private static final Map<Long, Long> MEMO = new HashMap<>();",
            "a static field `MEMO`",
        ),
        (
            Language.GO,
            "var memo = map[int]int{}\n\nfunc F(x int) int { return x }\n",
            "a package variable `memo`",
        ),
    ],
)
def test_each_language_says_what_state_outlives_a_call(language, code, kept):
    assert kept in languages.support(language).kept_state(code)


@pytest.mark.parametrize(
    ("language", "code"),
    [
        (Language.PYTHON, "def f(x):\n    seen = {}\n    return x\n"),
        (
            Language.CPP,
            "static int helper(int x) { return x; }\nint f() { static const int K = 3; return K; }",
        ),
        (Language.RUST, "static TABLE: [u8; 3] = [1, 2, 3];"),
        (Language.JAVA, "private static final int K = 3;\nstatic long fib(int n) { return n; }"),
        (Language.GO, "func F() int {\n\tvar x int\n\treturn x\n}\n"),
    ],
)
def test_locals_constants_and_functions_are_not_state(language, code):
    assert languages.support(language).kept_state(code) == set()


def test_added_state_with_free_repeats_is_not_accepted_and_says_why():
    py = languages.support(Language.PYTHON)
    original = "def f(x):\n    return slow(x)\n"
    memo = "_memo = {}\n\ndef f(x):\n    return _memo.setdefault(x, slow(x))\n"
    guarded = caching.guarded(py, original, memo, verdict(repeat_speedup=40.0))
    assert guarded.decision == "not_improved"
    assert "a module-level container `_memo`" in guarded.rejected
    assert "40.0× cheaper" in guarded.rejected


def test_the_guard_leaves_alone_what_lacks_either_evidence():
    py = languages.support(Language.PYTHON)
    original = "def f(x):\n    return slow(x)\n"
    memo = "_memo = {}\n\ndef f(x):\n    return _memo.setdefault(x, slow(x))\n"
    # Repeats no cheaper than the original's: the state is not what made it faster.
    assert caching.guarded(py, original, memo, verdict(repeat_speedup=1.1)).improved
    # No state added (a genuine rewrite whose first run is dominated by one-time costs).
    assert caching.guarded(py, original, "def f(x):\n    return fast(x)\n", verdict()).improved
    # State the original had already.
    assert caching.guarded(py, memo, memo.replace("slow", "fast"), verdict()).improved
    # Not improved anyway: nothing to change.
    assert caching.guarded(py, original, memo, verdict("not_improved")).rejected == ""


def test_without_timed_repeats_added_state_alone_is_not_accepted():
    """Tests measured as whole processes (Go, Rust and C++ projects) give no repeat timing."""
    cpp = languages.support(Language.CPP)
    original = "int f(int x) {\n    return slow(x);\n}\n"
    memo = "int f(int x) {\n    static std::map<int, int> memo;\n    return memo[x];\n}\n"
    guarded = caching.guarded(cpp, original, memo, verdict(repeat_speedup=None))
    assert guarded.decision == "not_improved" and "remembering answers" in guarded.rejected
