"""The language registries (docs/architecture.md): every language has its package on both
sides, and nothing outside them branches on which language it has."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from perforch_core import languages
from perforch_core.models import Language
from profiler import languages as profiler_languages

ROOT = Path(__file__).resolve().parents[2]
# Data about benchmarks, not about languages: HumanEvalPack's per-language record layouts and
# the fidelity benchmark's workload in each language.
BENCHMARK_DATA = {
    "perforch_core/benchmarks.py",
    "server/cli/fidelity_programs.py",
    "server/cli/bench_fidelity.py",  # the cost goals per language
    "server/cli/attacks.py",  # each attack is written in the language it targets
    "server/cli/attack_files.py",  # … and laid out as that language's files
}


@pytest.mark.parametrize("language", list(Language))
def test_every_language_has_both_packages(language: Language) -> None:
    support = languages.support(language)
    assert support.language is language
    assert support.extensions and support.fence and support.stub_body
    package = profiler_languages.package(language)
    assert hasattr(package, "HARNESS") and hasattr(package, "RUNNERS")


def test_every_extension_names_one_language() -> None:
    seen: dict[str, Language] = {}
    for support in languages.every():
        for ext in support.extensions:
            assert ext not in seen, (ext, seen.get(ext), support.language)
            seen[ext] = support.language
            assert languages.of_path(f"x{ext}") is support


def test_every_project_kind_has_one_runner() -> None:
    kinds = [k for lang in Language for k in profiler_languages.package(lang).RUNNERS]
    assert len(kinds) == len(set(kinds))
    assert set(kinds) == set(profiler_languages.runners())


def _language_members(path: Path) -> list[int]:
    """Lines where ``path`` names a particular language (``Language.GO``)."""
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "Language"
        and node.attr.isupper()
    ]


def test_no_module_outside_the_registries_names_a_language() -> None:
    inside = (
        "perforch_core/languages/",
        "profiler/languages/",
        "perforch_core/models.py",  # the enum itself
    )
    offenders = {}
    for package in ("perforch_core", "profiler", "server"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(inside) or rel in BENCHMARK_DATA:
                continue
            lines = _language_members(path)
            if lines:
                offenders[rel] = lines
    assert offenders == {}
