"""The project's local model server (perforch_core.llm.local_server) with a real model: its
replies do not depend on what it served before, and it never outlives the process that started
it. Needs the models scripts/setup.sh installs; fails, not skips, without them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from perforch_core.llm.local_server import LocalServer
from tests.e2e.conftest import local_models_installed

pytestmark = [pytest.mark.llm, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _models_present():
    assert local_models_installed("qwen2.5-coder-0.5b", "smollm2-135m"), (
        "local models missing: run scripts/setup.sh"
    )


def _ask(api_base: str, alias: str, prompt: str) -> dict[str, Any]:
    body = {
        "model": alias,
        "max_tokens": 3,
        "temperature": 0,
        "logprobs": True,
        "top_logprobs": 1,
        "messages": [{"role": "user", "content": prompt}],
    }
    request = urllib.request.Request(
        f"{api_base}/chat/completions",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as reply:
        choice: dict[str, Any] = json.loads(reply.read())["choices"][0]
    return choice


async def test_a_prompt_gets_the_same_reply_whatever_the_server_answered_before(
    monkeypatch: pytest.MonkeyPatch,
):
    """llama-cpp-python reuses the previous request's context; a repeated prompt then had its
    last token evaluated alone and got (slightly) different logits, so at temperature 0 a
    reply could change with what ran before it. Every prompt is now evaluated afresh: the
    first token's log-probability is bit for bit the same."""
    alias = "qwen2.5-coder-0.5b"  # shows the effect on this prompt (smollm2-135m does not)
    fib = "Write a Python function that returns the n-th Fibonacci number, with two doctests."
    other = "Write a Python function that reverses a linked list."
    monkeypatch.delenv("PERFORCH_LOCAL_API_BASE", raising=False)
    server = LocalServer([alias])
    await server.start()
    try:
        assert server.api_base
        replies = [
            await asyncio.to_thread(_ask, server.api_base, alias, prompt)
            for prompt in (fib, fib, other, fib)
        ]
    finally:
        await server.stop()
    first = [r["logprobs"]["content"][0]["logprob"] for r in replies]
    assert first[0] == first[1] == first[3], first
    assert replies[0]["message"] == replies[1]["message"] == replies[3]["message"]


SERVE_AND_WAIT = """
import asyncio, json, sys, urllib.request
from perforch_core.llm.local_server import LocalServer

def generate(api_base):
    # End-of-text tokens banned: it generates all 3000 tokens (about a minute).
    body = json.dumps({"model": "smollm2-135m", "max_tokens": 3000, "temperature": 1.0,
                       "logit_bias": {"0": -100, "1": -100, "2": -100},
                       "messages": [{"role": "user", "content": "Count from 1 to 5000."}]})
    request = urllib.request.Request(f"{api_base}/chat/completions", body.encode(),
                                     {"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=600).read()

async def main():
    server = LocalServer(["smollm2-135m"], n_ctx=4096)
    await server.start()
    if sys.argv[1] == "generating":
        asyncio.get_running_loop().run_in_executor(None, generate, server.api_base)
        await asyncio.sleep(2)  # the generation has begun
    print(server._proc.pid, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@pytest.mark.parametrize("state", ["idle", "generating"])
def test_a_killed_parent_never_leaves_its_model_server_running(state: str):
    """SIGKILL allows no clean-up: the server must die with its parent (PR_SET_PDEATHSIG), also
    in the middle of a generation, which a graceful shutdown would wait for."""
    env = {**os.environ}
    env.pop("PERFORCH_LOCAL_API_BASE", None)
    parent = subprocess.Popen(
        [sys.executable, "-P", "-c", SERVE_AND_WAIT, state],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert Path(f"/proc/{child}").exists()
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(50):
        if not Path(f"/proc/{child}").exists():
            break
        # Gone from the process table once its new parent (init) reaps it.
        if Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the model server outlived its killed parent")
