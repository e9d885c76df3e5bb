"""The LLM gateway at the litellm boundary: real litellm, no network.

litellm's own ``mock_response`` exercises its real request/response path; its real exception
classes are raised into the gateway to check the mapping and the retry policy.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from perforch_core import errors
from perforch_core.llm import gateway as gw
from perforch_core.llm.settings import ModelSettings, load
from perforch_core.ports import ChatMessage

MESSAGES = [ChatMessage("user", "write f")]


@pytest.fixture(scope="module")
def litellm() -> Any:
    return gw.litellm_module()


def hosted(name: str = "openai/gpt-4o", **kw: Any) -> dict[str, ModelSettings]:
    return {name: ModelSettings(name=name, display_name=name, provider="openai", **kw)}


def test_every_litellm_exception_class_is_mapped(litellm: Any):
    classes = {
        n
        for n, c in vars(litellm.exceptions).items()
        if inspect.isclass(c)
        and issubclass(c, BaseException)
        and c.__module__.startswith("litellm")
    }
    assert classes - set(gw.ERROR_MAP) == set(), "map the new litellm exceptions in ERROR_MAP"


async def test_a_real_litellm_round_trip_with_mock_response(litellm: Any, monkeypatch):
    real = litellm.acompletion

    async def with_mock(**kwargs: Any) -> Any:
        return await real(mock_response="```python\ndef f():\n    return 1\n```", **kwargs)

    monkeypatch.setattr(litellm, "acompletion", with_mock)
    g = gw.Gateway(hosted())
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    reply = await g.complete("openai/gpt-4o", MESSAGES)
    assert "def f()" in reply.text
    assert reply.prompt_tokens > 0 and reply.completion_tokens > 0
    assert reply.cost_usd >= 0.0


async def test_a_long_function_gets_room_and_a_cut_off_reply_is_marked(litellm: Any, monkeypatch):
    """min_tokens raises the request's max_tokens above the model's default; litellm's
    finish_reason "length" (here from its mock's own response object) marks the reply."""
    real = litellm.acompletion
    asked: list[int] = []

    async def with_mock(**kwargs: Any) -> Any:
        asked.append(kwargs["max_tokens"])
        response = await real(mock_response="```python\ndef f():\n    return", **kwargs)
        response.choices[0].finish_reason = "length"
        return response

    monkeypatch.setattr(litellm, "acompletion", with_mock)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    g = gw.Gateway(hosted(max_tokens=1024))
    reply = await g.complete("openai/gpt-4o", MESSAGES, min_tokens=3000)
    assert asked == [3000] and reply.truncated
    reply = await g.complete("openai/gpt-4o", MESSAGES)  # no need: the model's own limit
    assert asked[-1] == 1024


async def test_rate_limits_are_retried_with_backoff_then_succeed(litellm: Any, monkeypatch):
    calls = []
    real = litellm.acompletion

    async def flaky(**kwargs: Any) -> Any:
        calls.append(kwargs["model"])
        if len(calls) < 3:
            raise litellm.RateLimitError("slow down", llm_provider="openai", model="gpt-4o")
        return await real(mock_response="ok", **kwargs)

    monkeypatch.setattr(litellm, "acompletion", flaky)
    g = gw.Gateway(hosted(retries=3), backoff_s=0.01)
    reply = await g.complete("openai/gpt-4o", MESSAGES)
    assert reply.text == "ok" and len(calls) == 3


async def test_retries_give_up_with_the_mapped_error(litellm: Any, monkeypatch):
    async def down(**kwargs: Any) -> Any:
        raise litellm.APIConnectionError(message="refused", llm_provider="openai", model="gpt-4o")

    monkeypatch.setattr(litellm, "acompletion", down)
    g = gw.Gateway(hosted(retries=2), backoff_s=0.01)
    with pytest.raises(errors.LLMUnavailableError, match="refused"):
        await g.complete("openai/gpt-4o", MESSAGES)


@pytest.mark.parametrize(
    "exc_name, ours, retried",
    [
        ("AuthenticationError", errors.LLMAuthError, False),
        ("NotFoundError", errors.LLMUnknownModelError, False),
        ("ContextWindowExceededError", errors.LLMContextTooLongError, False),
        ("Timeout", errors.LLMTimeoutError, True),
    ],
)
async def test_litellm_errors_map_onto_our_tree(litellm: Any, monkeypatch, exc_name, ours, retried):
    calls = []
    cls = getattr(litellm.exceptions, exc_name)

    async def fail(**kwargs: Any) -> Any:
        calls.append(1)
        raise cls(message="nope", llm_provider="openai", model="gpt-4o")

    monkeypatch.setattr(litellm, "acompletion", fail)
    g = gw.Gateway(hosted(retries=1), backoff_s=0.01)
    with pytest.raises(ours):
        await g.complete("openai/gpt-4o", MESSAGES)
    assert len(calls) == (2 if retried else 1)


async def test_unknown_model_is_a_clear_error_before_any_call():
    g = gw.Gateway({})
    with pytest.raises(errors.LLMUnknownModelError, match="does not know the model"):
        await g.complete("nosuchprovider-xyz", MESSAGES)


async def test_missing_api_key_is_named(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    g = gw.Gateway(hosted(key_env="OPENAI_API_KEY"))
    with pytest.raises(errors.LLMAuthError, match="OPENAI_API_KEY is not set"):
        await g.complete("openai/gpt-4o", MESSAGES)


async def test_local_server_down_is_unavailable(monkeypatch, unused_tcp_port: int):
    monkeypatch.setenv("PERFORCH_LOCAL_API_BASE", f"http://127.0.0.1:{unused_tcp_port}/v1")
    from perforch_core.llm.local_server import LocalServer

    g = gw.Gateway(load(), local_server=LocalServer([]))
    with pytest.raises(errors.LLMUnavailableError, match="unreachable"):
        await g.complete("local/qwen2.5-coder-0.5b", MESSAGES)


def test_shipped_settings_parse_and_user_overrides_apply(tmp_path, monkeypatch):
    (tmp_path / "models.toml").write_text(
        '[models."openai/gpt-4o"]\ntemperature = 0.3\n'
        '[models."ollama/mine"]\ndisplay_name = "Mine"\n'
    )
    monkeypatch.setenv("PERFORCH_CONFIG", str(tmp_path))
    models = load()
    assert models["openai/gpt-4o"].temperature == 0.3
    assert models["openai/gpt-4o"].paper_name == "GPT 4o"
    assert models["ollama/mine"].provider == "ollama"


def test_corrupted_settings_file_is_a_config_error_naming_it(tmp_path, monkeypatch):
    (tmp_path / "models.toml").write_text("[models.\nthis is not toml")
    monkeypatch.setenv("PERFORCH_CONFIG", str(tmp_path))
    with pytest.raises(errors.ConfigError, match=r"models\.toml is not valid TOML"):
        load()
