"""Faults of a model endpoint, through real litellm over real HTTP on loopback (a scripted
OpenAI-compatible endpoint): each gives one clear error of PerfOrch's tree, retried where a
retry can help, and never anything else."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from perforch_core import errors
from perforch_core.llm import gateway as gw
from perforch_core.llm.settings import ModelSettings
from perforch_core.ports import ChatMessage
from tests.scripted_endpoint import Fault, ScriptedEndpoint

MESSAGES = [ChatMessage("user", "write f")]
MODEL = "openai/scripted"
CODE = "```python\ndef f():\n    return 1\n```"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "scripted-no-key")


def gateway(endpoint_base: str, **kw: Any) -> gw.Gateway:
    settings = ModelSettings(
        name=MODEL, display_name="scripted", provider="openai", api_base=endpoint_base, **kw
    )
    return gw.Gateway({MODEL: settings}, backoff_s=0.01)


async def test_a_429_is_retried_and_then_the_reply_is_used():
    with ScriptedEndpoint([Fault(status=429), CODE]) as e:
        reply = await gateway(e.api_base, retries=2).complete(MODEL, MESSAGES)
    assert "def f()" in reply.text and len(e.requests) == 2


async def test_429s_beyond_the_retries_are_a_rate_limit_error():
    with (
        ScriptedEndpoint([Fault(status=429)]) as e,
        pytest.raises(errors.LLMRateLimitError, match=MODEL) as caught,
    ):
        await gateway(e.api_base, retries=1).complete(MODEL, MESSAGES)
    assert len(e.requests) == 2 and caught.value.retryable


async def test_a_reply_slower_than_the_timeout_is_a_timeout_error():
    with ScriptedEndpoint([Fault(delay_s=5, then=CODE)]) as e:
        started = time.monotonic()
        with pytest.raises(errors.LLMTimeoutError, match=MODEL):
            await gateway(e.api_base, retries=0, timeout_s=1).complete(MODEL, MESSAGES)
    assert time.monotonic() - started < 4.5


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault(body=b"<html>502 Bad Gateway</html>"), id="html-instead-of-json"),
        pytest.param(Fault(body=b'{"choices": "no"}'), id="json-of-another-shape"),
        pytest.param(Fault(body=b"\xff\xfe\x00garbage"), id="bytes"),
    ],
)
async def test_garbage_is_an_error_of_ours_naming_the_model(fault: Fault):
    with ScriptedEndpoint([fault]) as e, pytest.raises(errors.LLMError, match=MODEL):
        await gateway(e.api_base, retries=0).complete(MODEL, MESSAGES)


async def test_a_ten_megabyte_reply_is_refused_with_its_size():
    with (
        ScriptedEndpoint(["x" * 10_000_000]) as e,
        pytest.raises(errors.LLMReplyError, match=r"10\.0 M characters"),
    ):
        await gateway(e.api_base, retries=0).complete(MODEL, MESSAGES)


async def test_a_hang_up_and_a_server_error_are_unavailable_after_the_retries():
    with ScriptedEndpoint([Fault(hang_up=True)]) as e, pytest.raises(errors.LLMError, match=MODEL):
        await gateway(e.api_base, retries=1).complete(MODEL, MESSAGES)
    with ScriptedEndpoint([Fault(status=500), Fault(status=503), CODE]) as e:
        reply = await gateway(e.api_base, retries=2).complete(MODEL, MESSAGES)
    assert "def f()" in reply.text and len(e.requests) == 3


async def test_an_endpoint_that_is_down_is_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    with pytest.raises(errors.LLMUnavailableError, match=MODEL):
        await gateway(f"http://127.0.0.1:{port}/v1", retries=0, timeout_s=5).complete(
            MODEL, MESSAGES
        )
