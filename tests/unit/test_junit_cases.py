"""Per-test results from JUnit XML (pytest, the JUnit console launcher, ctest): each test named
once, as a person finds it."""

from __future__ import annotations

from pathlib import Path

from profiler.projects.base import SKIPPED, junit_cases

# pytest's report for a toolz-shaped project: a test function, a class's method, a doctest
# (its name already holds its module), a skipped test.
XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4">
<testcase classname="toolz.tests.test_itertoolz" name="test_interpose" time="0.001"/>
<testcase classname="toolz.tests.test_itertoolz.TestX" name="test_y" time="0.001">
  <failure message="assert 1 == 2">E assert 1 == 2</failure></testcase>
<testcase classname="toolz.itertoolz" name="toolz.itertoolz.interpose" time="0.001">
  <failure message="[doctest] toolz.itertoolz.interpose">Expected: 1 Got: 2</failure></testcase>
<testcase classname="toolz.tests.test_itertoolz" name="test_skip" time="0">
  <skipped message="no numpy"/></testcase>
</testsuite></testsuites>
"""


def test_each_test_is_named_once(tmp_path: Path):
    path = tmp_path / "junit.xml"
    path.write_text(XML)
    cases = junit_cases(path)
    assert list(cases) == [
        "toolz.tests.test_itertoolz.test_interpose",
        "toolz.tests.test_itertoolz.TestX.test_y",
        "toolz.itertoolz.interpose",
        "toolz.tests.test_itertoolz.test_skip",
    ]
    assert cases["toolz.tests.test_itertoolz.test_interpose"] is None
    assert "Expected: 1 Got: 2" in (cases["toolz.itertoolz.interpose"] or "")
    assert cases["toolz.tests.test_itertoolz.test_skip"] == SKIPPED
