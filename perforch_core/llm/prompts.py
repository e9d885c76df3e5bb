"""Prompt templates, one per stage (and one for category tagging). Text only: no parsing here.

The rules follow the paper's: answer with one code block, no test code in it, keep the
signature, keep all logic in the one function. The refine prompt carries the profiler's report.
"""

from __future__ import annotations

import inspect

from .. import languages
from ..models import Category, Metric, Task
from ..ports import ChatMessage

SYSTEM = (
    "You are an expert {language} programmer. Answer with exactly one fenced code block "
    "containing the complete function `{entry_point}` and nothing else: no tests, no example "
    "usage, no explanation. Keep the function's name and signature unchanged. Keep all logic "
    "inside that one function. Use only the standard library. You may leave out the "
    "function's docstring or doc comment: the original is kept."
)

GENERATE = """Write the body of this {language} function.

{purpose}{signature}

{examples}Return the complete function in one ```{fence}``` block."""

FIX = """This {language} function fails its tests.

{purpose}```{fence}
{code}
```

Test failure:
```
{failure}
```

{examples}Fix the function so that it passes. Return the complete corrected function in one \
```{fence}``` block."""

REFINE = """This {language} function is correct; make it use less {metric_label} while staying \
correct.

{purpose}```{fence}
{code}
```

{examples}Profiler report for the current version: {report}

Goal: reduce {metric_goal}. Prefer a better algorithm or data structure over micro-tweaks; keep \
the behaviour identical for every input. Return the complete improved function in one \
```{fence}``` block."""

REPAIR = """That version is not usable: {problem}

Fix it: keep it faster than the original ({metric_goal}) and behaving exactly like the \
original for every input. Return the complete function in one ```{fence}``` block."""

SECOND_CHANCE = """That is the original function, unchanged. Find a different way to reduce \
{metric_goal}: {hint} Return the complete changed function in one ```{fence}``` block."""

# A different strategy for the second chance, by metric.
STRATEGY = {
    Metric.EXEC_TIME: "a lower-complexity algorithm, a set or dict instead of repeated scans, "
    "avoiding repeated work inside loops, or built-in bulk operations.",
    Metric.CPU_UTILIZATION: "less waiting and less work done on other threads.",
    Metric.MAX_MEMORY: "streaming instead of building whole intermediate collections, "
    "in-place updates, or generators.",
    Metric.AVG_MEMORY: "holding less data at once: streaming, generators, releasing "
    "intermediate collections early.",
}

EXPLAIN = """You changed this {language} function. Before:

```{fence}
{before}
```

After:

```{fence}
{after}
```

{evidence}In two or three plain sentences, say what changed and why it {why}. No code, no \
lists, no claims about numbers beyond the measurement given."""

GENERATOR = """Write an input generator for this {language} function, so that its speed can \
be measured on large inputs.

{purpose}```{fence}
{code}
```

Write a Python function `generate_input(size: int, rng: random.Random) -> tuple` that returns \
the arguments of one call of `{entry_point}`, as a tuple: inputs the function accepts (as its \
docstring and examples describe), typical of real use, whose size grows with `size` (for \
example a list of `size` items, or a number near `size`). {values}Take every random choice from \
`rng`, so that a seed always gives the same input. Standard library only; no other code. Return \
it in one ```python``` block.{retry}"""

GENERATOR_RETRY = """

Your previous answer could not be used: {error}"""

GENERATOR_MEND = """

Your previous generator could not be used:
```python
{previous}
```
Why: {error}
Write a corrected generator."""

TAG = """Which of these categories describe the programming problem below? Categories: \
{categories}.

Problem:
{description}

Answer with a comma-separated list of category names from the list, nothing else."""


def _shown(text: str, code: str) -> bool:
    """Whether ``text`` already stands in ``code`` (whitespace aside)."""
    return " ".join(text.split()) in " ".join(code.split())


def _examples(task: Task, code: str) -> str:
    """The tests to show beside ``code``; none when they are its own docstring's examples
    (shown twice, small models copy the code up to the examples, then the prompt after the
    second copy: an unterminated docstring)."""
    if task.examples is not None:
        if _shown(task.examples, code):
            return ""
        return f"Example tests:\n```\n{task.examples.strip()}\n```\n\n"
    if task.tests.kind == "doctest":
        if _shown(task.tests.source, code):
            return ""
        return f"Examples (doctest):\n{task.tests.source.strip()}\n\n"
    tests = task.tests.source.strip()
    if len(tests) > 1500:
        tests = tests[:1500] + "\n…"
    return f"Tests it must pass:\n```\n{tests}\n```\n\n"


def _purpose(task: Task, shown: str) -> str:
    """What the function must do, when the code ``shown`` does not already say it (a Python
    docstring does; C++/Java/Go/Rust descriptions sit in a comment outside the function)."""
    text = inspect.cleandoc(task.description or "")
    if not text or _shown(text, shown):
        return ""
    return f"What it must do:\n{text}\n\n"


def _system(task: Task) -> ChatMessage:
    return ChatMessage(
        "system", SYSTEM.format(language=task.language.value, entry_point=task.entry_point)
    )


def _code_and_context(task: Task, code: str) -> dict[str, str]:
    """A fix or refine prompt's code as written, with what the function must do and its
    examples beside it when the code does not hold them already (each shown once). A Python
    docstring stays in the code: shown apart from it (dacdb41), the 1.5B's replies were 3x
    shorter on a 50-line docstring, but it refined common, pluck and double_the_difference
    with it and none of them without it (ENAMEL, same jobs otherwise)."""
    shown = code.rstrip()
    purpose = _purpose(task, shown)
    return {"code": shown, "purpose": purpose, "examples": _examples(task, purpose + shown)}


def generate(task: Task) -> list[ChatMessage]:
    fence = languages.support(task.language).fence
    body = GENERATE.format(
        language=task.language.value,
        signature=task.signature.rstrip(),
        # Shown again even when the signature's docstring holds them: without the second copy
        # the 0.5B model wrote a wrong running_max (examples/stub.py) that it wrote right with it.
        examples=_examples(task, ""),
        fence=fence,
        purpose=_purpose(task, task.signature),
    )
    return [_system(task), ChatMessage("user", body)]


def fix(task: Task, code: str, failure: str) -> list[ChatMessage]:
    fence = languages.support(task.language).fence
    body = FIX.format(
        language=task.language.value,
        failure=failure.strip()[:3000],
        fence=fence,
        **_code_and_context(task, code),
    )
    return [_system(task), ChatMessage("user", body)]


def refine(task: Task, code: str, metric: Metric, report: str) -> list[ChatMessage]:
    fence = languages.support(task.language).fence
    body = REFINE.format(
        language=task.language.value,
        fence=fence,
        metric_label=metric.label,
        metric_goal=metric.goal,
        report=report,
        **_code_and_context(task, code),
    )
    return [_system(task), ChatMessage("user", body)]


def generator(
    task: Task, code: str, error: str | None = None, previous: str | None = None
) -> list[ChatMessage]:
    """Ask for ``generate_input(size, rng)`` for the task's function (the generated workload);
    ``error``: why the previous answer was refused, and ``previous``: its generator, when one
    could be read from it (shown, so that the model mends it)."""
    retry = ""
    if error and previous:
        retry = GENERATOR_MEND.format(error=error, previous=previous.strip())
    elif error:
        retry = GENERATOR_RETRY.format(error=error)
    support = languages.support(task.language)
    return [
        ChatMessage(
            "system",
            "You write test-input generators in Python. Answer with exactly one fenced code "
            "block and nothing else.",
        ),
        ChatMessage(
            "user",
            GENERATOR.format(
                language=support.label,
                purpose=_purpose(task, code),
                fence=support.fence,
                code=code,
                entry_point=task.entry_point,
                values=f"{support.generator_values} " if support.generator_values else "",
                retry=retry,
            ),
        ),
    ]


def tag(description: str) -> list[ChatMessage]:
    names = ", ".join(c.value for c in Category)
    return [ChatMessage("user", TAG.format(categories=names, description=description.strip()))]


def _answered(task: Task, messages: list[ChatMessage], code: str) -> list[ChatMessage]:
    fence = languages.support(task.language).fence
    return [*messages, ChatMessage("assistant", f"```{fence}\n{code.rstrip()}\n```")]


def repair(
    task: Task, messages: list[ChatMessage], code: str, problem: str, metric: Metric
) -> list[ChatMessage]:
    """The refine conversation continued after ``code`` failed: why, and a request to mend it
    (a repair round of refinement)."""
    body = REPAIR.format(
        problem=problem.strip()[:3000],
        metric_goal=metric.goal,
        fence=languages.support(task.language).fence,
    )
    return [*_answered(task, messages, code), ChatMessage("user", body)]


def second_chance(
    task: Task, messages: list[ChatMessage], code: str, metric: Metric
) -> list[ChatMessage]:
    """The refine conversation continued after the model returned the code unchanged: that
    fact and a different strategy to try."""
    body = SECOND_CHANCE.format(
        metric_goal=metric.goal,
        hint=STRATEGY[metric],
        fence=languages.support(task.language).fence,
    )
    return [*_answered(task, messages, code), ChatMessage("user", body)]


def explain(task: Task, before: str, after: str, evidence: str, why: str) -> list[ChatMessage]:
    """Ask the model whose change was accepted to explain it in a short paragraph."""
    body = EXPLAIN.format(
        language=task.language.value,
        fence=languages.support(task.language).fence,
        before=before.rstrip(),
        after=after.rstrip(),
        evidence=f"Measured: {evidence}.\n\n" if evidence else "",
        why=why,
    )
    return [
        ChatMessage("system", "You explain code changes briefly and precisely."),
        ChatMessage("user", body),
    ]
