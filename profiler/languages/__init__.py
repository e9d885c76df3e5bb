"""The profiler's language registry: each language it builds, runs and measures is one
package here, registered by one line in :data:`PACKAGES` (the core's side of a language is
``perforch_core/languages/<name>/``).

A package exports ``HARNESS`` (the class that tests and measures a lone file's candidate,
``harness.base.Harness``) and ``RUNNERS`` (the runner class of each kind of project it knows,
``projects.base.Runner``, by ``ProjectSpec.kind``), and may export ``PREPARE``: its
toolchain's one-time set-up (``python -m profiler.toolchains``, run by ``scripts/setup.sh``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

from perforch_core.models import Language

if TYPE_CHECKING:
    from ..harness.base import Harness
    from ..projects.base import Runner

PACKAGES: dict[Language, str] = {
    Language.PYTHON: "python",
    Language.CPP: "cpp",
    Language.JAVA: "java",
    Language.GO: "go",
    Language.RUST: "rust",
}


def package(language: Language) -> ModuleType:
    return importlib.import_module(f"{__name__}.{PACKAGES[language]}")


def harnesses() -> dict[Language, Harness]:
    """A harness per language (each owns its services: the warm javac)."""
    return {language: package(language).HARNESS() for language in PACKAGES}


def runners() -> dict[str, Runner]:
    """A runner per kind of project, over every language."""
    out: dict[str, Runner] = {}
    for language in PACKAGES:
        for kind, cls in package(language).RUNNERS.items():
            out[kind] = cls()
    return out


def preparations() -> list[tuple[str, Callable[[], object]]]:
    """(language, its toolchain's set-up) for the languages that have one."""
    out = []
    for language in PACKAGES:
        prepare = getattr(package(language), "PREPARE", None)
        if prepare is not None:
            out.append((language.value, prepare))
    return out
