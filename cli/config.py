"""Where the CLI finds its endpoint, token and default project.

Named contexts live in `$XDG_CONFIG_HOME/kplane/config.yaml` (`~/.config/kplane/config.yaml`),
written with 0600 permissions because they hold tokens. The environment variables
KPLANE_ENDPOINT, KPLANE_TOKEN and KPLANE_PROJECT override the chosen context field by field, and
KPLANE_CONTEXT chooses a context as `--context` does.

PyYAML is imported only when a config file is read or written: a command run from the
environment alone (KPLANE_ENDPOINT, KPLANE_TOKEN, as scripts and CI do) does not pay for it.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONTEXT = "default"


class ConfigError(Exception):
    """The configuration is missing something a command needs, or the file is unreadable."""


@dataclass
class Context:
    """One API endpoint and the credentials and default project used with it."""

    endpoint: str = ""
    token: str = ""
    project: str = ""


@dataclass
class Config:
    """The whole config file: named contexts and which one is current."""

    current_context: str = ""
    contexts: dict[str, Context] = field(default_factory=dict)


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "kplane" / "config.yaml"


def load(path: Path | None = None) -> Config:
    path = path or config_path()
    try:
        text = path.read_text() if path.exists() else None
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e}") from None
    if text is None:
        return Config()
    import yaml  # lazily: see the module's docstring

    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"cannot read {path}: {e}") from None
    if raw is None:
        return Config()
    if not isinstance(raw, dict) or not isinstance(raw.get("contexts", {}), dict):
        raise ConfigError(f"{path} is not a kplane config file (expected 'contexts:' mapping)")
    contexts: dict[str, Context] = {}
    for name, values in (raw.get("contexts") or {}).items():
        values = values if isinstance(values, dict) else {}
        contexts[str(name)] = Context(
            endpoint=str(values.get("endpoint") or ""),
            token=str(values.get("token") or ""),
            project=str(values.get("project") or ""),
        )
    return Config(str(raw.get("current_context") or ""), contexts)


def save(config: Config, path: Path | None = None) -> Path:
    """Write the file atomically, readable by its owner only (it holds tokens)."""
    import yaml  # lazily: see the module's docstring

    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data: dict[str, Any] = {
        "current_context": config.current_context,
        "contexts": {name: asdict(ctx) for name, ctx in sorted(config.contexts.items())},
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".yaml")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(data, f, sort_keys=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class Resolved:
    """What a command runs with, after the context and the environment were combined."""

    context: str
    endpoint: str
    token: str
    project: str


def resolve(config: Config | None = None) -> Resolved:
    """The chosen context (KPLANE_CONTEXT, which `--context` sets, else the current one) with
    the environment's overrides applied."""
    config = config if config is not None else load()
    chosen = os.environ.get("KPLANE_CONTEXT")
    name = chosen or config.current_context or DEFAULT_CONTEXT
    if chosen and name not in config.contexts:
        raise ConfigError(f"no context {name!r} (see `kplane context list`)")
    ctx = config.contexts.get(name, Context())
    return Resolved(
        context=name,
        endpoint=(os.environ.get("KPLANE_ENDPOINT") or ctx.endpoint).rstrip("/"),
        token=os.environ.get("KPLANE_TOKEN") or ctx.token,
        project=os.environ.get("KPLANE_PROJECT") or ctx.project,
    )
