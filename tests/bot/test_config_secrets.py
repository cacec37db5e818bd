"""A secret pasted where a config value belongs is refused without ever being echoed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mm_bot.cli import main

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"

SECRETS = [
    "sk_live_4f9a8b7c6d5e4f3a2b1c",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",  # 64 hex chars
    "xQzPbWkVrTyLmNsJdHgFcXvB",  # mixed-case random letters, no digits
]


def config_with(tmp_path: Path, old: str, new: str) -> Path:
    text = REPO_CONFIG.read_text()
    assert old in text
    path = tmp_path / "config.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("secret", SECRETS)
def test_secret_in_an_env_name_field_is_not_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], secret: str
) -> None:
    """live.api_key_env holding the key itself: exit 2 at live.api_key_env, the value nowhere."""
    path = config_with(tmp_path, "api_key_env: MM_API_KEY", f'api_key_env: "{secret}"')
    assert main(["check-config", "--config", str(path)]) == 2
    out = capsys.readouterr()
    assert "live.api_key_env" in out.err
    assert "value not shown" in out.err
    assert secret not in out.out + out.err


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize(
    "var", ["MM_BOT__live__api_key_env", "MM_BOT__live__api_secret_env", "MM_BOT__metrics__port"]
)
def test_secret_in_an_env_override_is_not_echoed(tmp_path: Path, secret: str, var: str) -> None:
    """MM_BOT__...=<secret> on an *_env field or any other field: refused, never echoed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MM_BOT__")}
    proc = subprocess.run(
        [sys.executable, "-m", "mm_bot.cli", "check-config", "--config", str(REPO_CONFIG)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, var: secret},
    )
    assert proc.returncode == 2, proc.stderr
    assert var in proc.stderr
    assert secret not in proc.stdout + proc.stderr


def test_env_name_fields_never_echo_even_short_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An *_env field's bad value is withheld even when it does not look random (short passwords)."""
    path = config_with(tmp_path, "api_secret_env: MM_API_SECRET", 'api_secret_env: "hunter2!"')
    assert main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "live.api_secret_env" in err and "hunter2" not in err


def test_ordinary_bad_values_are_still_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Only secret-looking values are withheld: a wrong venue is still echoed to help the user."""
    path = config_with(tmp_path, "venue: sim ", "venue: binance ")
    assert main(["check-config", "--config", str(path)]) == 2
    assert "(got 'binance')" in capsys.readouterr().err


def test_long_bad_values_are_cut_short(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A huge bad value (here 100,000 characters) is shown cut short, not echoed in full."""
    path = config_with(tmp_path, "venue: sim ", f"venue: {'x' * 100_000} ")
    assert main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "markets[0].venue" in err and "100000 characters" in err
    assert len(err) < 2_000
