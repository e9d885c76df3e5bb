"""What the measuring program of a Java project's generated workload is told to load: the
classes of the method's file by qualified name, and each side's class path."""

from __future__ import annotations

import pytest

from perforch_core.errors import HarnessError
from profiler.languages.java.project_workload import qualified_classes, sides_config

SOURCE = """package org.example.ranges;

import java.util.List;

/** Ranges; see class Interval in the docs. */
public final class Ranges {
    static final class Interval {}
}
"""


def test_the_files_classes_by_qualified_name():
    assert qualified_classes(SOURCE) == [
        "org.example.ranges.Interval",  # a word in a comment: the program skips what won't load
        "org.example.ranges.Ranges",
    ]
    assert qualified_classes("class Solution {}\n") == ["Solution"]


def test_the_sides_config_lists_entry_classes_and_class_paths():
    paths = {"a": ["measure/a/classes"], "b": ["measure/b/classes", "measure/b/resources"]}
    text = sides_config("merge", ["org.example.Ranges"], paths)
    assert text.splitlines() == [
        "entry merge",
        "class org.example.Ranges",
        "a measure/a/classes",
        "b measure/b/classes",
        "b measure/b/resources",
    ]
    with pytest.raises(HarnessError, match="no class holding"):
        sides_config("not a name", ["X"], paths)
