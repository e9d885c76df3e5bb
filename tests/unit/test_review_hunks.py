"""The reviewed edit, hunk by hunk: each run of changed lines is its own annotated edit, so a
client can offer them one at a time; all of them together give exactly the result."""

from __future__ import annotations

from lsprotocol import types as lsp

from perforch_core import source
from perforch_core.models import Action, Language, TestOutcome
from perforch_core.result import JobResult
from server.lsp import convert

DOCUMENT = '''import os


def keep_before():
    return os.sep


def has_duplicates(items):
    """Whether any item occurs twice."""
    if not items:
        return False
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if items[i] == items[j]:
                return True
    return False


def keep_after():
    return 1
'''

# Two separate changes: the docstring, and the body.
RESULT = '''def has_duplicates(items):
    """Whether any item occurs twice (one pass, a set of the items seen)."""
    if not items:
        return False
    seen = set()
    for item in items:
        if item in seen:
            return True
        seen.add(item)
    return False
'''

NEEDS_IMPORT = '''import collections


def has_duplicates(items):
    """Whether any item occurs twice."""
    return max(collections.Counter(items).values(), default=0) > 1
'''


def result(code: str) -> JobResult:
    function = next(
        f for f in source.functions(Language.PYTHON, DOCUMENT) if f.name == "has_duplicates"
    )
    return JobResult(
        job_id="j",
        action=Action.OPTIMIZE,
        task_id="t",
        metric=None,
        status="succeeded",
        message="exec time −80 %",
        original_code=function.code,
        final_code=code,
        accepted_model="qwen",
        final_tests=TestOutcome(passed=True, total=3),
    )


def edit_for(code: str, confirm: bool = True) -> lsp.WorkspaceEdit:
    function = next(
        f for f in source.functions(Language.PYTHON, DOCUMENT) if f.name == "has_duplicates"
    )
    return convert.workspace_edit(
        "file:///w.py", 3, DOCUMENT, Language.PYTHON, function, result(code), confirm
    )


def edits_of(edit: lsp.WorkspaceEdit) -> list[lsp.AnnotatedTextEdit]:
    change = (edit.document_changes or [])[0]
    assert isinstance(change, lsp.TextDocumentEdit)
    return [e for e in change.edits if isinstance(e, lsp.AnnotatedTextEdit)]


def test_two_separate_changes_are_two_annotated_hunks_that_together_give_the_result():
    edit = edit_for(RESULT)
    hunks = edits_of(edit)
    assert len(hunks) == 2
    annotations = edit.change_annotations or {}
    assert [h.annotation_id for h in hunks] == ["perforch.result.1", "perforch.result.2"]
    assert set(annotations) == {"perforch.result.1", "perforch.result.2"}
    first = annotations["perforch.result.1"]
    assert first.needs_confirmation is True
    assert first.label.startswith("change 1 of 2 (line 9): ") and first.label.endswith("qwen")
    assert annotations["perforch.result.2"].label.startswith("change 2 of 2 (lines 12–15): ")
    whole = convert.applied(DOCUMENT, edit)
    assert whole == DOCUMENT.replace(result(RESULT).original_code, RESULT)
    # Kept alone, the second hunk leaves the old docstring over the new body.
    second_only = DOCUMENT.splitlines(keepends=True)
    h = hunks[1]
    second_only[h.range.start.line : h.range.end.line] = [h.new_text]
    kept = "".join(second_only)
    assert 'occurs twice."""\n    if not items:\n        return False\n    seen = set()' in kept
    assert kept != whole and "keep_after" in kept and "keep_before" in kept


def test_an_added_import_is_a_hunk_of_its_own():
    edit = edit_for(NEEDS_IMPORT)
    hunks = edits_of(edit)
    assert len(hunks) == 2, [(h.range, h.new_text) for h in hunks]
    assert "import collections" in hunks[0].new_text and hunks[0].range.start.line < 3
    whole = convert.applied(DOCUMENT, edit)
    assert whole.startswith("import collections\nimport os\n") or whole.startswith(
        "import os\nimport collections\n"
    )
    assert "Counter(items)" in whole and whole.endswith("def keep_after():\n    return 1\n")


def test_auto_apply_asks_for_no_confirmation():
    edit = edit_for(RESULT, confirm=False)
    assert all(not a.needs_confirmation for a in (edit.change_annotations or {}).values())


def test_hunk_lines_are_named_as_an_editor_numbers_them():
    assert convert.Hunk(8, 8, "x\n").lines() == "after line 8"
    assert convert.Hunk(8, 9, "x\n").lines() == "line 9"
    assert convert.Hunk(8, 12, "x\n").lines() == "lines 9–12"
