"""The language registry: each language PerfOrch reads is one package here, registered by
one line in :data:`PACKAGES`.

A package exports ``SUPPORT``, a :class:`~.base.LanguageSupport`: its source (functions,
import lines, a model's reply), its tests (the project around a file and the tests in it that
exercise a function; a lone file's tests) and its prompt hints. The profiler's side of a
language (build, run, measure) is ``profiler/languages/<name>/``, registered the same way.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path

from ..models import Language
from .base import LanguageSupport, Span

__all__ = ["PACKAGES", "LanguageSupport", "Span", "every", "of_path", "support"]

PACKAGES: dict[Language, str] = {
    Language.PYTHON: "python",
    Language.CPP: "cpp",
    Language.JAVA: "java",
    Language.GO: "go",
    Language.RUST: "rust",
}


@functools.cache
def support(language: Language) -> LanguageSupport:
    """The support of ``language`` (its package is imported on first use)."""
    found: LanguageSupport = importlib.import_module(f"{__name__}.{PACKAGES[language]}").SUPPORT
    return found


def every() -> list[LanguageSupport]:
    return [support(language) for language in PACKAGES]


def of_path(path: str | Path) -> LanguageSupport | None:
    """The language a file is written in, by its extension."""
    suffix = Path(path).suffix
    return next((s for s in every() if suffix in s.extensions), None)
