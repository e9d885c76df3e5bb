"""Model settings as data: ``data/models.toml`` plus the user's overrides.

The user's file is ``$PERFORCH_CONFIG/models.toml`` (default ``~/.config/perforch``), same
format; its entries add models or override fields of shipped ones. A file that does not parse is
a ``ConfigError`` naming the file, never a silent fallback.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import ConfigError
from . import local_models


class ModelSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    display_name: str
    provider: str
    local_alias: str | None = None
    paper_name: str | None = None
    key_env: str | None = None
    pool: str | None = None
    callable: bool = True
    api_base: str | None = None
    temperature: float = 0.0
    max_tokens: int = 1024
    timeout_s: float = 180.0
    retries: int = 3

    @property
    def is_local(self) -> bool:
        return self.local_alias is not None

    def available(self, env: Mapping[str, str] | None = None) -> tuple[bool, str]:
        """Whether the model can be called here, and why not."""
        env = os.environ if env is None else env
        if not self.callable:
            return False, "no public completion API (paper data only)"
        if self.local_alias:
            if local_models.spec(self.local_alias).installed:
                return True, "installed locally"
            return False, f"not installed (perforch models install {self.local_alias})"
        if self.key_env and not env.get(self.key_env):
            return False, f"{self.key_env} is not set"
        return True, "key set" if self.key_env else "no key needed"


def config_dir() -> Path:
    return Path(os.environ.get("PERFORCH_CONFIG", Path.home() / ".config" / "perforch"))


def _read_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from exc


def load(user_file: Path | None = None) -> dict[str, ModelSettings]:
    shipped = _read_toml(
        resources.files(__package__).joinpath("data/models.toml").read_text(), "models.toml"
    )
    user_path = user_file or config_dir() / "models.toml"
    user: dict[str, Any] = {}
    if user_path.is_file():
        user = _read_toml(user_path.read_text(encoding="utf-8"), str(user_path))
    defaults = {**shipped.get("defaults", {}), **user.get("defaults", {})}
    merged: dict[str, dict[str, Any]] = {}
    for source in (shipped, user):
        for name, fields in source.get("models", {}).items():
            merged.setdefault(name, {}).update(fields)
    out = {}
    for name, fields in merged.items():
        data = {"display_name": name, "provider": name.split("/", 1)[0], **defaults, **fields}
        try:
            out[name] = ModelSettings(name=name, **data)
        except ValidationError as exc:
            raise ConfigError(
                f"bad settings for model {name!r}: {exc.errors()[0]['msg']}", hint=str(user_path)
            ) from exc
    return out


def default_pool(models: Mapping[str, ModelSettings]) -> list[str]:
    """Models routed to when the user names none: the default local pool plus every hosted
    model whose key is set."""
    pool = []
    for m in models.values():
        ok, _ = m.available()
        if not ok:
            continue
        if m.is_local and m.pool != "default":
            continue
        pool.append(m.name)
    return pool
