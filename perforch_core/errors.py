"""The one error tree of PerfOrch.

Every error that crosses a module boundary is one of these; foreign errors (litellm, aiosqlite,
subprocess, OS) are converted where they enter, with ``raise ... from exc``::

    PerfOrchError
    ├── ConfigError            bad settings, unknown model name, bad CLI input
    ├── SourceError            the user's file: missing, unparsable, function not found
    │   └── NoTestsError       no tests could be found for a function
    ├── StorageError           the Memory database (not a database, locked, migration failed)
    ├── LLMError               anything from a model call
    │   ├── LLMAuthError           missing or rejected API key
    │   ├── LLMUnknownModelError   litellm / the server does not know the model
    │   ├── LLMUnavailableError    the provider or local server cannot be reached   (retryable)
    │   ├── LLMRateLimitError      rate limited                                      (retryable)
    │   ├── LLMTimeoutError        the call took too long                            (retryable)
    │   ├── LLMContextTooLongError the prompt does not fit the model's context
    │   └── LLMReplyError          a reply with no usable code block
    ├── ProfilerError          the profiler daemon or a harness
    │   ├── ProfilerUnavailableError  the daemon is not running / died
    │   ├── SandboxError              candidates cannot be isolated here (no bwrap)
    │   └── HarnessError              the harness itself failed (not the candidate)
    └── BudgetExceededError    a job ran out of LLM calls, time or money

A cancelled job is ``asyncio.CancelledError``, as everywhere in asyncio.

A failing or hanging *candidate* is not an error: it is a ``TestOutcome`` that did not pass.
"""

from __future__ import annotations


class PerfOrchError(Exception):
    """Base of every PerfOrch error. ``retryable`` says whether trying again may help."""

    retryable: bool = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(PerfOrchError):
    """Settings or user input that cannot be used."""


class SourceError(PerfOrchError):
    """The user's source file cannot be read, parsed, or does not hold the function."""


class NoTestsError(SourceError):
    """No tests were found for the function."""


class StorageError(PerfOrchError):
    """The Memory database cannot be opened, read or written."""


class LLMError(PerfOrchError):
    """A model call failed."""

    def __init__(self, message: str, *, model: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.model = model


class LLMAuthError(LLMError):
    """The provider rejected or lacks credentials."""


class LLMUnknownModelError(LLMError):
    """The model name is not known to litellm or to the server behind it."""


class LLMUnavailableError(LLMError):
    """The provider or the local model server cannot be reached."""

    retryable = True


class LLMRateLimitError(LLMError):
    """The provider asked us to slow down."""

    retryable = True


class LLMTimeoutError(LLMError):
    """The call did not finish in time."""

    retryable = True


class LLMContextTooLongError(LLMError):
    """The prompt does not fit in the model's context window."""


class LLMReplyError(LLMError):
    """The reply holds no usable code."""


class ProfilerError(PerfOrchError):
    """The profiler daemon or a language harness failed (not the candidate under test)."""


class ProfilerUnavailableError(ProfilerError):
    """The profiler daemon is not running or has exited."""

    retryable = True


class SandboxError(ProfilerError):
    """Candidates cannot be isolated on this machine."""


class HarnessError(ProfilerError):
    """The harness could not run (bad request, missing toolchain)."""


class BudgetExceededError(PerfOrchError):
    """A job hit its budget of LLM calls, wall time or cost."""
