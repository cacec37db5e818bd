"""Strict configuration: pydantic models for ``config.yaml`` (``models``) and loading with YAML paths
in every error, env overrides and secrets from the environment (``loader``)."""

from mm_bot.config.loader import (
    LiveCredentials,
    check_config,
    live_credentials,
    load_config,
    read_secret,
    yaml_path,
)
from mm_bot.config.models import (
    DEFAULT_CONFIG_PATH,
    FILE,
    ROOT,
    AppConfig,
    LiveConfig,
    MarketConfig,
    PaperConfig,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "FILE",
    "ROOT",
    "AppConfig",
    "LiveConfig",
    "LiveCredentials",
    "MarketConfig",
    "PaperConfig",
    "check_config",
    "live_credentials",
    "load_config",
    "read_secret",
    "yaml_path",
]
