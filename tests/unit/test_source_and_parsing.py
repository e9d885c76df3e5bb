"""Finding functions and tests in Python files; reading code out of model replies."""

from __future__ import annotations

from pathlib import Path

import pytest

from perforch_core.errors import LLMReplyError, NoTestsError, SourceError
from perforch_core.languages.python import source as py
from perforch_core.llm import parsing, prompts
from perforch_core.models import Language, Metric, TestSpec
from perforch_core.source import extras
from tests.fakes import make_task

MODULE = '''import os

CONST = 3


def target(x):
    """Double x.

    >>> target(2)
    4
    """
    return x * 2


def other():
    return 1
'''


def test_find_function_and_replace_keeps_everything_else_byte_for_byte():
    span = py.find_function(MODULE, "target")
    assert span.code.startswith("def target(x):") and span.code.endswith("return x * 2\n")
    assert span.docstring and ">>> target(2)" in span.docstring
    new = py.replace_function(MODULE, "target", "def target(x):\n    return x + x\n")
    assert new.replace("def target(x):\n    return x + x\n", span.code) == MODULE


def test_missing_function_names_the_ones_that_exist():
    with pytest.raises(SourceError) as err:
        py.find_function(MODULE, "nope", "m.py")
    assert "no top-level function 'nope'" in str(err.value)
    assert "other, target" in str(err.value)


def test_file_that_does_not_parse_is_a_source_error():
    with pytest.raises(SourceError, match="does not parse"):
        py.find_function("def broken(:\n", "broken", "b.py")


def test_tests_come_from_tests_file_then_docstring_then_test_files(tmp_path: Path):
    mod = tmp_path / "mod.py"
    mod.write_text(MODULE)
    span = py.find_function(MODULE, "target")
    spec = py.discover_tests(mod, MODULE, span)
    assert spec.kind == "doctest" and ">>> target(2)" in spec.source

    # Without examples, a test file that imports and calls the function is found.
    plain = MODULE.replace("    >>> target(2)\n    4\n", "")
    mod.write_text(plain)
    (tmp_path / "test_mod.py").write_text(
        "from mod import target\n\ndef test_it():\n    assert target(3) == 6\n"
    )
    spec = py.discover_tests(mod, plain, py.find_function(plain, "target"))
    assert spec.kind == "functions" and "test_it" in spec.source

    explicit = tmp_path / "checks.py"
    explicit.write_text("def check(candidate):\n    assert candidate(1) == 2\n")
    spec = py.discover_tests(mod, plain, py.find_function(plain, "target"), explicit)
    assert spec.kind == "check"


def test_prompts_show_a_docstrings_examples_once(tmp_path: Path):
    """Shown twice (in the code, then as the tests), small local models copied the code up to
    the examples and then the prompt after the second copy: an unterminated docstring
    (TheAlgorithms/Python maths/perfect_number.py, both models)."""
    mod = tmp_path / "mod.py"
    mod.write_text(MODULE)
    span = py.find_function(MODULE, "target")
    spec = py.discover_tests(mod, MODULE, span)
    code = MODULE[MODULE.index("def target") : MODULE.index("def other")]
    task = make_task(
        code, entry_point="target", signature=span.header, description=span.docstring, tests=spec
    )
    for messages in (
        prompts.refine(task, code, Metric.EXEC_TIME, "1 ms"),
        prompts.fix(task, code, "failed"),
    ):
        assert messages[-1].content.count(">>> target(2)") == 1
    # Generate shows them again after the signature (the 0.5B wrote examples/stub.py's
    # running_max right with the second copy, wrong without it); there is no code to copy.
    assert prompts.generate(task)[-1].content.count(">>> target(2)") == 2
    # A fix or refine prompt shows the code as written, its docstring in it and not again
    # apart (without it, the 1.5B refined none of three ENAMEL problems it refines with it).
    refine = prompts.refine(task, code, Metric.EXEC_TIME, "1 ms")[-1].content
    assert "What it must do" not in refine and refine.count("Double x.") == 1
    assert f"```python\n{code.rstrip()}\n```" in refine
    # Examples that the code shown does not hold are still shown (a doctest file of its own).
    other = make_task(code, tests=TestSpec(kind="doctest", source=">>> f(1)\n2\n", origin="x"))
    assert ">>> f(1)" in prompts.refine(other, code, Metric.EXEC_TIME, "1 ms")[-1].content


def test_no_tests_is_a_clear_error(tmp_path: Path):
    plain = "def lonely(x):\n    return x\n"
    (tmp_path / "m.py").write_text(plain)
    with pytest.raises(NoTestsError, match="no tests found for lonely"):
        py.discover_tests(tmp_path / "m.py", plain, py.find_function(plain, "lonely"))


def test_normalize_keeps_new_imports_and_helpers_beside_drops_test_code_keeps_docstring():
    reply_code = (
        "import math\nfrom os import path\n\n"
        "def helper(v):\n    return v * 2\n\n"
        "def clash(v):\n    return v\n\n"
        "def target(x):\n    return helper(math.floor(clash(x)))\n\n"
        "print(target(2))\nassert target(2) == 4\n"
    )
    out = py.normalize_candidate(
        reply_code,
        "target",
        module_prefix="from os import path\n",
        module_suffix="\n\ndef clash(v):\n    return -v\n",
        original_header='def target(x):\n    """Double x."""\n',
    )
    # The block: the import the file lacks first, the new helper beside the function, the
    # helper whose name the file already has nested (the file's own stays as it is).
    assert out.startswith("import math\n\ndef helper(v):")
    assert "from os import path" not in out
    assert '"""Double x."""' in out
    assert "    def clash(v):" in out
    assert "print(" not in out and "assert" not in out
    merged = extras.merge(
        Language.PYTHON, "from os import path\n\n", out, "\n\ndef clash(v):\n    return -v\n"
    )
    assert merged.startswith("from os import path\nimport math\n")
    ns: dict[str, object] = {}
    exec(merged, ns)
    assert ns["target"](2.7) == 4  # type: ignore[operator]


def test_a_candidate_keeps_the_original_docstring_as_written():
    """A model's rewritten docstring (here with its notes on the tests) is replaced by the
    original's statement as written: raw prefix, escapes and doctest output unchanged."""
    header = (
        "    def target(self, x):\n"
        '        r"""Split on \\d.\n\n'
        "        >>> target(None, 'a1b')\n"
        "        ['a', 'b']\n"
        '        """\n'
    )
    reply = (
        "def target(self, x):\n"
        '  """Split on digits. NOTE: perfect(28) expected True, got False"""\n'
        "  import re\n"
        "  return re.split(r'\\d', x)\n"
    )
    out = py.normalize_candidate(reply, "target", original_header=header)
    assert "NOTE" not in out
    assert out.startswith('def target(self, x):\n  r"""Split on \\d.\n\n  >>> target(')
    assert "  return re.split" in out
    namespace: dict[str, object] = {}
    exec(out, namespace)
    func = namespace["target"]
    assert func.__doc__.startswith("Split on \\d.")  # type: ignore[attr-defined]
    # A reply that dropped it gets it back; one that kept it is left as it was written.
    dropped = py.normalize_candidate(
        "def target(self, x):\n    return x\n", "target", original_header=header
    )
    assert dropped.startswith('def target(self, x):\n    r"""Split on')
    kept = (
        'def target(self, x):\n    r"""Split on \\d.\n\n    >>> target(None, \'a1b\')\n'
        "    ['a', 'b']\n    \"\"\"\n    return x\n"
    )
    assert py.normalize_candidate(kept, "target", original_header=header) == kept


def test_extract_function_from_a_fenced_reply():
    task = make_task()
    reply = "Sure!\n```python\ndef f(x):\n    return x + 1\n```\nThis adds one."
    code = parsing.extract_function(reply, task, "m")
    assert "return x + 1" in code


@pytest.mark.parametrize(
    "reply, message",
    [
        ("", "empty reply"),
        ("I cannot help with that.", "no code block"),
        ("```python\ndef g(x):\n    return x\n```", "no code block defining f()"),
        ("```python\ndef f(x:\n    return x\n```", "not usable"),
    ],
)
def test_replies_without_usable_code_are_rejected(reply: str, message: str):
    with pytest.raises(LLMReplyError, match=message):
        parsing.extract_function(reply, make_task(), "m")


def test_unterminated_fence_still_yields_the_code():
    code = parsing.extract_function("```python\ndef f(x):\n    return x + 1\n", make_task(), "m")
    assert "return x + 1" in code


def test_category_reply_parsing():
    cats = parsing.parse_categories("Array, hash table and Number theory")
    assert [c.value for c in cats] == ["array", "number_theory", "hash_table"]
