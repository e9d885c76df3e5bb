"""The local model server's entry point (``python -m perforch_core.llm.llama_server --config_file
F``): llama-cpp-python's OpenAI-compatible server, with every prompt evaluated afresh.

llama-cpp-python keeps the previous request's tokens in the context and evaluates only what a new
prompt does not share with them. When a prompt repeats exactly, its last token is evaluated again
alone, and its logits differ slightly from those of a whole-prompt evaluation: at temperature 0
the same prompt got a different reply the second time it was asked (known upstream:
llama-cpp-python#1606, llama.cpp#1884). A reply then depended on what the server had answered
before — in an evaluation, on which configuration ran first. Resetting the context before each
generation makes a reply a function of the model and the prompt alone; the price is evaluating
again the prefix a cache hit would have skipped (a second or two for our prompts).
"""

from __future__ import annotations

import runpy
from collections.abc import Sequence
from typing import Any

from llama_cpp import Llama

_generate = Llama.generate


def _generate_afresh(self: Llama, tokens: Sequence[int], *args: Any, **kwargs: Any) -> Any:
    self.reset()  # type: ignore[no-untyped-call]  # nothing of the previous request is reused
    return _generate(self, tokens, *args, **kwargs)


def main() -> None:
    Llama.generate = _generate_afresh  # type: ignore[method-assign]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
