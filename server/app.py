"""The composition root: builds the core's adapters (Memory, LLM gateway, local model server,
profiler client) and an Executor over them, and closes them all. Used by the CLI and the
language server alike.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from perforch_core.errors import ConfigError
from perforch_core.executor import Executor
from perforch_core.llm import settings as model_settings
from perforch_core.llm.gateway import Gateway
from perforch_core.llm.local_server import LocalServer
from perforch_core.memory.store import Memory, default_path
from perforch_core.tagging import Tagger
from profiler.client import ProfilerClient

log = logging.getLogger("perforch.app")


@dataclass
class AppConfig:
    memory_path: Path = field(default_factory=default_path)
    models: Sequence[str] = ()  # empty: the default pool
    tag_models: Sequence[str] = ()
    interpreter: str | None = None  # Python that runs the user's code
    test_timeout_s: float = 20.0


class App:
    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self.settings = model_settings.load()
        self.memory = Memory(config.memory_path)
        local_aliases = [
            s.local_alias for s in self.settings.values() if s.local_alias and s.name in self.pool
        ]
        self.local_server = LocalServer([a for a in local_aliases if a])
        self.gateway = Gateway(self.settings, local_server=self.local_server)
        self.profiler = ProfilerClient(
            interpreter=config.interpreter, test_timeout_s=config.test_timeout_s
        )

    @classmethod
    async def open(cls, config: AppConfig, *, check_models: bool = True) -> App:
        """The one job set-up (CLI, editor, study, eval, benchmarks): an App whose named models
        were checked (``check_models``) and whose Memory is migrated and seeded; closed again
        when that fails."""
        app = cls(config)
        try:
            if check_models:
                app.validate_models()
            await app.prepare_memory()
        except BaseException:
            await app.aclose()
            raise
        return app

    @property
    def pool(self) -> list[str]:
        if self.config.models:
            return list(self.config.models)
        return model_settings.default_pool(self.settings)

    def validate_models(self) -> None:
        """Clear errors for named models that cannot be used, before any work starts."""
        for name in self.config.models:
            s = self.settings.get(name)
            if s is None:
                self.gateway.check_known(name)
                continue
            ok, why = s.available()
            if not ok:
                raise ConfigError(f"model {name} cannot be used: {why}")
        if not self.pool:
            raise ConfigError(
                "no model is available",
                hint="run scripts/setup.sh to install the local models, or set "
                "an API key and pass --models",
            )

    async def prepare_memory(self) -> None:
        for s in self.settings.values():
            await self.memory.upsert_model(s.name, s.display_name, s.provider, s.paper_name)
        for name in self.config.models:
            if name not in self.settings:
                await self.memory.upsert_model(name, name, name.split("/", 1)[0])
        await self.memory.seed()

    def executor(self) -> Executor:
        tagger = Tagger(self.gateway, self.config.tag_models)
        return Executor(self.gateway, self.profiler, self.memory, self.pool, tagger=tagger)

    async def aclose(self) -> None:
        for close in (self.profiler.aclose, self.gateway.aclose, self.memory.aclose):
            with contextlib.suppress(Exception):
                await close()

    async def __aenter__(self) -> App:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
