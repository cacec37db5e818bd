"""Strict configuration: pydantic models for ``config.yaml`` (``models``) and loading with YAML paths
in every error, env overrides, secrets from the environment and the writability of output paths
(``loader``)."""

from mm_bot.config.base import yaml_path
from mm_bot.config.loader import (
    LiveCredentials,
    check_config,
    check_writable_paths,
    live_credentials,
    load_config,
    read_secret,
    with_strategy_kind,
)
from mm_bot.config.models import (
    DEFAULT_CONFIG_PATH,
    FILE,
    ROOT,
    AppConfig,
    ExecutionConfig,
    LiveConfig,
    MarketConfig,
    PaperConfig,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "FILE",
    "ROOT",
    "AppConfig",
    "ExecutionConfig",
    "LiveConfig",
    "LiveCredentials",
    "MarketConfig",
    "PaperConfig",
    "check_config",
    "check_writable_paths",
    "live_credentials",
    "load_config",
    "read_secret",
    "with_strategy_kind",
    "yaml_path",
]
