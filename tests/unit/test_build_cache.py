"""The profiler's build cache stays bounded."""

from __future__ import annotations


def test_build_cache_keeps_the_most_recently_used(tmp_path, monkeypatch):
    import os

    from profiler.harness import compiled

    monkeypatch.setenv("PERFORCH_CACHE", str(tmp_path))
    lang = tmp_path / "builds" / "cpp"
    for i in range(5):
        (lang / f"b{i}").mkdir(parents=True)
        os.utime(lang / f"b{i}", (1000 + i, 1000 + i))
    assert compiled.prune_builds(keep=2) == 3
    assert sorted(p.name for p in lang.iterdir()) == ["b3", "b4"]
