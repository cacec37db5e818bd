"""Where the config comes from, ``mm-bot init``, and ``mm-bot check-config --show``.

- ``config_path(arg)``: ``--config`` if given; else ``./config.yaml`` if there is one; else the default
  config that ships inside the package (``mm_bot/config/default.yaml``), so ``mm-bot run --paper``
  works from any directory.
- ``init(path, force)`` writes that commented default config as a starter (never over a file unless
  ``force``).
- ``show(cfg, environ)`` is the config as it resolves (the file, the ``MM_BOT__...`` overrides and the
  defaults), as YAML, followed by the environment variables that hold secrets: whether each is set,
  never its value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import yaml  # type: ignore[import-untyped]

from mm_bot.config import AppConfig
from mm_bot.errors import ConfigError

__all__ = ["CONFIG_HELP", "config_path", "default_config_text", "init", "show"]

LOCAL_CONFIG = Path("config.yaml")
CONFIG_HELP = "config file (default: ./config.yaml if there is one, else the default inside the package)"


def default_config_text() -> str:
    return resources.files("mm_bot.config").joinpath("default.yaml").read_text(encoding="utf-8")


def config_path(arg: str | None) -> Path:
    """The config file a command reads (see the module docstring)."""
    if arg is not None:
        return Path(arg)
    if LOCAL_CONFIG.exists():
        return LOCAL_CONFIG
    return Path(str(resources.files("mm_bot.config").joinpath("default.yaml")))


def init(path: Path, *, force: bool = False) -> Path:
    """Write the starter config to ``path`` (a directory: ``path/config.yaml``); ConfigError naming
    ``PATH`` if a file is there (without ``force``) or it cannot be written."""
    target = path / LOCAL_CONFIG.name if path.is_dir() else path
    if target.exists() and not force:
        raise ConfigError([("PATH", f"{target} exists; not overwritten (--force replaces it)")], "init")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(default_config_text(), encoding="utf-8")
    except OSError as exc:
        raise ConfigError([("PATH", f"cannot write {target}: {exc.strerror or exc}")], "init") from None
    return target


def show(cfg: AppConfig, environ: Mapping[str, str] | None = None) -> str:
    """The resolved config as YAML, and the secret-holding variables it names (set or not)."""
    env = os.environ if environ is None else environ
    data = cfg.model_dump(mode="json", by_alias=True)
    text = str(yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100))
    live = cfg.live
    names = [
        ("live.api_key_env", live.api_key_env),
        ("live.api_secret_env", live.api_secret_env),
        ("live.api_password_env", live.api_password_env),
        ("live.grpc_token_env", live.grpc_token_env),
    ]
    lines = ["# secrets: read from the environment, never shown"]
    for key, var in names:
        if var is not None:
            state = "set (****)" if env.get(var) else "not set"
            lines.append(f"#   {var} ({key}): {state}")
    return text + "\n".join(lines) + "\n"
