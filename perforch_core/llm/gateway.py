"""The LLM gateway: the only module that imports litellm (lazily: the import takes ~7 s).

Implements the core's ``LLMPort``. One call = one ``litellm.acompletion`` with the model's
settings (``settings.py``), a timeout, retries with exponential backoff on retryable errors
(rate limits, connection failures, timeouts), and token and cost accounting. litellm's errors are
mapped onto our tree at this boundary (:data:`ERROR_MAP`, checked by a test against litellm's own
exception list). Local models are reached through the project's llama.cpp server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..errors import (
    ConfigError,
    LLMAuthError,
    LLMContextTooLongError,
    LLMError,
    LLMRateLimitError,
    LLMReplyError,
    LLMTimeoutError,
    LLMUnavailableError,
    LLMUnknownModelError,
)
from ..ports import ChatMessage, LLMReply
from .local_server import LocalServer
from .settings import ModelSettings

log = logging.getLogger("perforch.llm")

# litellm exception class name -> our error. Order matters only for readability: lookup walks
# the raised exception's MRO, so subclasses (ContextWindowExceededError < BadRequestError) win.
ERROR_MAP: dict[str, type[LLMError]] = {
    "AuthenticationError": LLMAuthError,
    "PermissionDeniedError": LLMAuthError,
    "PaymentRequiredError": LLMAuthError,
    "NotFoundError": LLMUnknownModelError,
    "LiteLLMUnknownProvider": LLMUnknownModelError,
    "ModelNotMappedError": LLMUnknownModelError,
    "ContextWindowExceededError": LLMContextTooLongError,
    "RateLimitError": LLMRateLimitError,
    "Timeout": LLMTimeoutError,
    "APIConnectionError": LLMUnavailableError,
    "ServiceUnavailableError": LLMUnavailableError,
    "MidStreamFallbackError": LLMUnavailableError,
    "BadGatewayError": LLMUnavailableError,
    "InternalServerError": LLMUnavailableError,
    "ContentPolicyViolationError": LLMReplyError,
    "RejectedRequestError": LLMReplyError,
    "GuardrailRaisedException": LLMReplyError,
    "BlockedPiiEntityError": LLMReplyError,
    "SensitiveDataRouteException": LLMReplyError,
    "ModifyResponseException": LLMReplyError,
    "APIResponseValidationError": LLMReplyError,
    "JSONSchemaValidationError": LLMReplyError,
    "BudgetExceededError": LLMError,
    "UnsupportedParamsError": LLMError,
    "UnprocessableEntityError": LLMError,
    "BadRequestError": LLMError,
    "InvalidRequestError": LLMError,
    "ImageFetchError": LLMError,
    "VectorStoreSearchError": LLMError,
    "APIError": LLMError,
    "OpenAIError": LLMError,
    "MockException": LLMError,
}

_litellm: Any = None
# A reply longer than this is not code for one function: refused before any parsing (a 10 MB
# reply would otherwise be searched for code blocks and shown whole).
MAX_REPLY_CHARS = 200_000


def litellm_module() -> Any:
    """Import litellm once, offline-safe (no fetch of its cost map)."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.telemetry = False
        litellm.suppress_debug_info = True
        litellm.drop_params = True
        _litellm = litellm
    return _litellm


def map_exception(exc: BaseException, model: str) -> LLMError:
    for cls in type(exc).__mro__:
        target = ERROR_MAP.get(cls.__name__)
        if target is not None and cls.__module__.startswith(("litellm", "openai")):
            message = str(getattr(exc, "message", None) or exc).strip().splitlines()[0][:300]
            return target(f"{model}: {message}", model=model)
    return LLMError(f"{model}: {type(exc).__name__}: {exc}", model=model)


@contextlib.contextmanager
def mapped_errors(model: str) -> Iterator[None]:
    try:
        yield
    except LLMError:
        raise
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise map_exception(exc, model) from exc


class Gateway:
    """LLMPort over litellm."""

    def __init__(
        self,
        models: Mapping[str, ModelSettings],
        *,
        local_server: LocalServer | None = None,
        backoff_s: float = 1.0,
    ) -> None:
        self.models = models
        self.local_server = local_server or LocalServer([])
        self.backoff_s = backoff_s

    def settings_for(self, model: str) -> ModelSettings:
        settings = self.models.get(model)
        if settings is not None:
            return settings
        # Any litellm string works without an entry, with the defaults.
        return ModelSettings(name=model, display_name=model, provider=model.split("/", 1)[0])

    def check_known(self, model: str) -> None:
        """Raise ``LLMUnknownModelError`` unless litellm can route ``model``."""
        if model in self.models:
            return
        litellm = litellm_module()
        try:
            litellm.get_llm_provider(model)
        except Exception as exc:
            raise LLMUnknownModelError(
                f"litellm does not know the model {model!r}",
                model=model,
                hint="use a litellm model string such as openai/gpt-4o, or add it to models.toml",
            ) from exc

    async def _call_kwargs(self, settings: ModelSettings) -> dict[str, Any]:
        if not settings.callable:
            raise ConfigError(f"{settings.name} has no callable API (paper data only)")
        kwargs: dict[str, Any] = {
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
            "timeout": settings.timeout_s,
            "num_retries": 0,  # retries are ours, with backoff and clear errors
        }
        if settings.local_alias:
            api_base = await self.local_server.ensure(settings.local_alias)
            kwargs.update(
                model=f"openai/{settings.local_alias}", api_base=api_base, api_key="local-no-key"
            )
        else:
            self.check_known(settings.name)
            kwargs["model"] = settings.name
            if settings.api_base:
                kwargs["api_base"] = settings.api_base
            if (
                settings.key_env
                and not os.environ.get(settings.key_env)
                and settings.provider != "ollama"
            ):
                raise LLMAuthError(
                    f"{settings.name}: {settings.key_env} is not set", model=settings.name
                )
        return kwargs

    async def complete(
        self, model: str, messages: Sequence[ChatMessage], *, min_tokens: int | None = None
    ) -> LLMReply:
        settings = self.settings_for(model)
        kwargs = await self._call_kwargs(settings)
        if min_tokens is not None and min_tokens > kwargs["max_tokens"]:
            room = min_tokens
            if settings.local_alias:  # prompt + reply must fit the local server's context
                prompt = sum(len(m.content) for m in messages) // 3  # ~3 characters a token
                room = min(room, self.local_server.n_ctx - prompt - 64)
            kwargs["max_tokens"] = max(kwargs["max_tokens"], room)
        litellm = litellm_module()
        payload = [{"role": m.role, "content": m.content} for m in messages]
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                with mapped_errors(model):
                    response = await litellm.acompletion(messages=payload, **kwargs)
            except LLMError as err:
                if not err.retryable or attempt > settings.retries:
                    raise
                delay = self.backoff_s * 2 ** (attempt - 1)
                log.warning("%s (attempt %d), retrying in %.1fs", err, attempt, delay)
                await asyncio.sleep(delay)
                continue
            return self._reply(model, response, time.perf_counter() - started)

    def _reply(self, model: str, response: Any, latency: float) -> LLMReply:
        try:
            text = response.choices[0].message.content or ""
            finish = getattr(response.choices[0], "finish_reason", None)
        except (AttributeError, IndexError) as exc:
            raise LLMReplyError(f"{model}: malformed response", model=model) from exc
        if len(text) > MAX_REPLY_CHARS:
            raise LLMReplyError(
                f"{model}: a reply of {len(text) / 1e6:.1f} M characters, more than a function "
                f"and its helpers take (limit {MAX_REPLY_CHARS // 1000} k): not used",
                model=model,
            )
        usage = getattr(response, "usage", None)
        cost = 0.0
        hidden = getattr(response, "_hidden_params", {}) or {}
        if isinstance(hidden.get("response_cost"), int | float):
            cost = float(hidden["response_cost"])
        return LLMReply(
            model=model,
            text=text,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cost_usd=cost,
            latency_s=latency,
            truncated=finish == "length",
        )

    async def aclose(self) -> None:
        await self.local_server.stop()
