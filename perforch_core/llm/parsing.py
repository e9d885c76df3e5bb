"""Reading models' replies: the code block of a stage reply, the category list of a tag reply.

Rejects replies with no usable code with ``LLMReplyError`` (a clear, per-model failure that the
Executor records and moves past).
"""

from __future__ import annotations

import re

from .. import languages
from ..errors import LLMReplyError, SourceError
from ..models import Category, Task

FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+#-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)


def code_blocks(reply: str) -> list[tuple[str, str]]:
    """(language tag, code) for each fenced block, unterminated last block included."""
    return [(m.group(1).lower(), m.group(2)) for m in FENCE.finditer(reply)]


def extract_function(reply: str, task: Task, model: str) -> str:
    """The candidate block from a reply (imports, helpers, the function), normalised to merge
    into the task's file: out of the first fenced block (or an unfenced answer that is nothing
    but code) that defines the task's function in a usable way."""
    if not reply.strip():
        raise LLMReplyError("the model returned an empty reply", model=model)
    support = languages.support(task.language)
    blocks = code_blocks(reply)
    candidates = [code for _, code in blocks if support.defines(code, task.entry_point)]
    if not candidates and not blocks and support.defines(reply, task.entry_point):
        candidates = [reply]
    if not candidates:
        what = "no code block" if not blocks else f"no code block defining {task.entry_point}()"
        raise LLMReplyError(f"the reply holds {what}", model=model)
    errors = []
    for code in candidates:
        try:
            return support.candidate(code, task)
        except SourceError as exc:
            errors.append(str(exc))
    raise LLMReplyError(f"the reply's code is not usable: {errors[0]}", model=model)


def parse_categories(reply: str) -> tuple[Category, ...]:
    text = reply.lower().replace("-", "_").replace(" ", "_")
    found = [c for c in Category if c.value in text]
    return tuple(found)


def prose(reply: str) -> str:
    """A reply's text without its fenced code blocks (an explanation asked for in words)."""
    return re.sub(r"```.*?(```|$)", " ", reply, flags=re.S).strip()
