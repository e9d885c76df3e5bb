"""The A/B of this folder: ``perforch`` with every LLM prompt and reply logged to ``$DUMP``, and
with ``OLD=1`` Python fix/refine prompts showing the code as written (with its docstring) where
dacdb41 left the docstring out. Kept as it ran at 637e167; since the next commit the prompts
show the code as written and ``without_doc`` is gone, so ``OLD`` no longer changes anything."""

import json
import os
import sys

from perforch_core import languages
from perforch_core.llm import gateway
from perforch_core.models import Language

OUT = os.environ.get("DUMP", "/tmp/ab_eval.jsonl")
original = gateway.Gateway.complete


def log(line: dict[str, str]) -> None:
    with open(OUT, "a") as f:
        f.write(json.dumps(line) + "\n")


async def complete(self, model, messages, **kw):  # type: ignore[no-untyped-def]
    reply = await original(self, model, messages, **kw)
    log({"model": model, "prompt": messages[-1].content, "reply": reply.text})
    return reply


gateway.Gateway.complete = complete  # type: ignore[method-assign]
if os.environ.get("OLD") == "1":  # dacdb41's without_doc, undone
    type(languages.support(Language.PYTHON)).without_doc = lambda self, code, name: code

from server.cli.main import main  # noqa: E402  (after the patches)

sys.argv = ["perforch", *sys.argv[1:]]
sys.exit(main())
