"""Reading models' replies: the code block of a stage reply, the category list of a tag reply.

Rejects replies with no usable code with ``LLMReplyError`` (a clear, per-model failure that the
Executor records and moves past).
"""

from __future__ import annotations

import re

from ..errors import LLMReplyError, SourceError
from ..models import Category, Language, Task
from ..source import compiled as compiled_source
from ..source import python as py_source

FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+#-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)


def code_blocks(reply: str) -> list[tuple[str, str]]:
    """(language tag, code) for each fenced block, unterminated last block included."""
    return [(m.group(1).lower(), m.group(2)) for m in FENCE.finditer(reply)]


def extract_function(reply: str, task: Task, model: str) -> str:
    """The candidate function from a reply, normalised to splice into the task's module."""
    if not reply.strip():
        raise LLMReplyError("the model returned an empty reply", model=model)
    if task.language is not Language.PYTHON:
        return _compiled_function(reply, task, model)
    blocks = code_blocks(reply)
    candidates = [code for _, code in blocks if f"def {task.entry_point}" in code]
    if not candidates and not blocks and f"def {task.entry_point}" in reply:
        candidates = [reply]  # an unfenced answer that is nothing but code
    if not candidates:
        what = "no code block" if not blocks else f"no code block defining {task.entry_point}()"
        raise LLMReplyError(f"the reply holds {what}", model=model)
    doc = task.description or None
    errors = []
    for code in candidates:
        try:
            return py_source.normalize_candidate(
                code,
                task.entry_point,
                module_prefix=task.prefix,
                module_suffix=task.suffix,
                original_docstring=doc,
            )
        except SourceError as exc:
            errors.append(str(exc))
    raise LLMReplyError(f"the reply's code is not usable: {errors[0]}", model=model)


def _compiled_function(reply: str, task: Task, model: str) -> str:
    """C++/Java/Go/Rust: the function named like the task's, out of any block that has it."""
    blocks = [code for _, code in code_blocks(reply)] or [reply]
    candidates = [
        code for code in blocks if re.search(rf"\b{re.escape(task.entry_point)}\s*\(", code)
    ]
    if not candidates:
        raise LLMReplyError(f"the reply holds no code defining {task.entry_point}()", model=model)
    current = task.current_code or task.signature
    indent = current[: len(current) - len(current.lstrip(" \t"))]
    errors = []
    for code in candidates:
        try:
            return compiled_source.block_from_reply(
                task.language,
                code,
                task.entry_point,
                indent,
                module=task.prefix + task.suffix,
                signature=task.signature,
            )
        except SourceError as exc:
            errors.append(str(exc))
    raise LLMReplyError(f"the reply's code is not usable: {errors[0]}", model=model)


def parse_categories(reply: str) -> tuple[Category, ...]:
    text = reply.lower().replace("-", "_").replace(" ", "_")
    found = [c for c in Category if c.value in text]
    return tuple(found)
