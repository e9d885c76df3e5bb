"""The guard against a candidate that keeps results between calls.

The measured workload repeats the same tests many times in one process, so a candidate that
remembers answers (``@lru_cache``, a mutable default, a module-level or ``static`` map, a
lazily built static) runs them almost for free after the first time: its measured gain would
not hold on new inputs. Two kinds of evidence, both required:

- the candidate adds state that outlives a call (``LanguageSupport.kept_state``, the
  candidate's against the original's), and
- its second run of the tests was much cheaper than its first, relative to the baseline's
  (``Verdict.repeat_speedup``, timed by the measuring drivers; where a runner cannot time
  single runs — tests measured as whole processes — the first kind of evidence alone).

A gain built on a lookup table computed once is caught too; the reason says what was found, so
the user can judge.
"""

from __future__ import annotations

from .languages.base import LanguageSupport
from .models import Verdict

FACTOR = 3.0  # the candidate's repeat got this many times cheaper than the baseline's


def suspected(support: LanguageSupport, original: str, candidate: str, verdict: Verdict) -> str:
    """Why the candidate's measured gain is not accepted, or ""."""
    if not verdict.improved:
        return ""
    added = sorted(support.kept_state(candidate) - support.kept_state(original))
    speedup = verdict.repeat_speedup
    if not added or (speedup is not None and speedup < FACTOR):
        return ""
    what = ", ".join(added[:3])
    if speedup is None:
        return (
            f"it adds state that outlives a call ({what}) and the tests it is measured on "
            "repeat the same inputs, so its gain may come from remembering answers rather than "
            "computing them faster"
        )
    return (
        f"it adds state that outlives a call ({what}) and its second run of the tests was "
        f"{speedup:.1f}× cheaper than its first, relative to the original's: it keeps results "
        "between calls, and the measurement repeats the same inputs, so its gain would not "
        "hold on new inputs"
    )


def guarded(support: LanguageSupport, original: str, candidate: str, verdict: Verdict) -> Verdict:
    """``verdict``, not improved with the reason when the guard suspects caching."""
    reason = suspected(support, original, candidate, verdict)
    if not reason:
        return verdict
    return verdict.model_copy(update={"decision": "not_improved", "rejected": reason})
