"""The journal of a ``perforch eval`` run: every finished unit (one configuration on one problem,
or one refinement) appended as a JSON line as soon as it is known, so an interrupted evaluation
resumes where it stopped instead of starting over. The first line names the run; a journal of a
different run is never mixed in."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from perforch_core.errors import PerfOrchError
from perforch_core.evaluation import GenerationOutcome, JudgedRefinement, RefineOutcome
from perforch_core.models import Language, Metric

Outcome = GenerationOutcome | RefineOutcome | JudgedRefinement


def key(outcome: Outcome) -> tuple[str, ...]:
    """What identifies a unit of the run."""
    if isinstance(outcome, RefineOutcome):
        return ("refinement", outcome.config, outcome.problem, outcome.metric.value)
    if isinstance(outcome, JudgedRefinement):
        return ("judged", outcome.variant, outcome.problem, outcome.metric.value)
    return ("generation", outcome.config, outcome.problem)


def row(outcome: Outcome) -> dict[str, Any]:
    """An outcome as plain JSON/CSV values."""
    fields = dataclasses.asdict(outcome)
    return {k: (v.value if hasattr(v, "value") else v) for k, v in fields.items()}


def _encode(outcome: Outcome) -> dict[str, Any]:
    return {"kind": key(outcome)[0], **row(outcome)}


def _decode(row: dict[str, Any]) -> Outcome:
    fields = {k: v for k, v in row.items() if k != "kind"}
    fields["language"] = Language(fields["language"])
    if row["kind"] == "refinement":
        fields["metric"] = Metric(fields["metric"])
        return RefineOutcome(**fields)
    if row["kind"] == "judged":
        fields["metric"] = Metric(fields["metric"])
        return JudgedRefinement(**fields)
    return GenerationOutcome(**fields)


class Journal:
    def __init__(self, path: Path, run: str) -> None:
        """Open (or start) the journal of ``run`` (the evaluation's command line)."""
        self.path = path
        self.outcomes: list[Outcome] = []
        if path.exists():
            text = path.read_text()
            if text and not text.endswith("\n"):
                with path.open("a") as fh:  # end the line the interruption cut short
                    fh.write("\n")
            lines = text.splitlines()
            header = json.loads(lines[0]) if lines else {}
            if header.get("run") != run:
                raise PerfOrchError(
                    f"{path} is the journal of another evaluation ({header.get('run')!r})",
                    hint="use another --name, or delete the journal to start this one afresh",
                )
            for line in lines[1:]:
                try:
                    self.outcomes.append(_decode(json.loads(line)))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by the interruption: that unit runs again
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"run": run}) + "\n")
        self.done = {key(o): o for o in self.outcomes}

    def get(self, unit: tuple[str, ...]) -> Outcome | None:
        return self.done.get(unit)

    def add(self, outcome: Outcome) -> None:
        with self.path.open("a") as fh:
            fh.write(json.dumps(_encode(outcome)) + "\n")
        self.outcomes.append(outcome)
        self.done[key(outcome)] = outcome
