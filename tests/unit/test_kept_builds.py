"""Builds kept for a comparison's processes: found again by key while their artifact is
there, the oldest removed beyond the limit, everything removed on close."""

from __future__ import annotations

from profiler.projects.kept import KeptBuilds, key


def test_builds_are_kept_by_key_and_the_oldest_go_first():
    kept = KeptBuilds(limit=2)
    dirs = []
    for name in ("a", "b", "c"):
        d = kept.new_dir(key(name))
        (d / "prog").write_text(name)
        dirs.append(d)
    assert not dirs[0].exists()  # beyond the limit
    found = kept.get(key("b"), "prog")
    assert found is not None and found.read_text() == "b"
    assert kept.get(key("b"), "other") is None  # no such artifact: build again
    assert kept.get(key("a"), "prog") is None
    kept.clear()
    assert not any(d.exists() for d in dirs)


def test_a_half_built_key_is_replaced_not_leaked():
    kept = KeptBuilds()
    first = kept.new_dir(key("x"))  # the build failed before its artifact was copied
    assert kept.get(key("x"), "prog") is None
    second = kept.new_dir(key("x"))
    assert not first.exists() and second.exists()
    kept.clear()
