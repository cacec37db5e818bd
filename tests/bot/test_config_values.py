"""Values that parse but make no sense are refused at their YAML path: non-finite numbers in every
numeric field, a tick or lot too coarse for the market, an empty metrics host."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from mm_bot.config import AppConfig, load_config, yaml_path
from mm_bot.config.loader import _unwrap  # the loader's own reading of a field's type
from mm_bot.errors import ConfigError

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"
Loc = tuple[str | int, ...]


def default_data() -> dict[str, Any]:
    return dict(yaml.safe_load(REPO_CONFIG.read_text()))


def problems_of(
    data: dict[str, Any], tmp_path: Path, environ: dict[str, str] | None = None
) -> dict[str, str]:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ConfigError) as info:
        load_config(path, environ or {})
    return dict(info.value.problems)


def numeric_fields(tp: Any, data: Any, loc: Loc = ()) -> list[tuple[Loc, type]]:
    """Every int/float field of the model ``tp``, found from the models themselves (so new fields are
    covered), at the list indices and dict keys present in ``data``."""
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        out: list[tuple[Loc, type]] = []
        for name, field in tp.model_fields.items():
            key = field.alias or name
            sub = data.get(key) if isinstance(data, dict) else None
            out += numeric_fields(field.annotation, sub, (*loc, key))
        return out
    if typing.get_origin(tp) is list:
        return [
            r
            for i, item in enumerate(data or [{}])
            for r in numeric_fields(typing.get_args(tp)[0], item, (*loc, i))
        ]
    if typing.get_origin(tp) is dict:
        return [
            r for k, v in (data or {}).items() for r in numeric_fields(typing.get_args(tp)[1], v, (*loc, k))
        ]
    if tp in (int, float):
        return [(loc, tp)]
    return []


def set_at(data: dict[str, Any], loc: Loc, value: object) -> None:
    node: Any = data
    for part in loc[:-1]:
        node = node.setdefault(part, {}) if isinstance(node, dict) else node[part]
    node[loc[-1]] = value


FIELDS = numeric_fields(AppConfig, default_data())


def test_every_numeric_field_is_found() -> None:
    """The field walk reaches nested models, list items, dict values and Annotated types."""
    paths = {yaml_path(loc) for loc, _ in FIELDS}
    assert {
        "markets[0].tick_size",
        "markets[0].risk.max_position_base",
        "paper.balances.USDT",
        "paper.balances.BTC",
        'paper.synthetic.markets["BTC/USDT"].garch.alpha',
        'paper.synthetic.markets["BTC/USDT"].flow.limit_size_mean_lots',
        "paper.fees.maker_bps",
        "metrics.port",
        "verify.timeout_ms",
    } <= paths
    assert len(paths) > 60


@pytest.mark.parametrize("text", [".nan", ".inf", "-.inf", "1e400"])
def test_non_finite_numbers_are_refused_in_every_numeric_field(tmp_path: Path, text: str) -> None:
    """NaN and +-inf (also 1e400, which overflows to inf) are refused at each numeric field's path."""
    data = default_data()
    value = yaml.safe_load(f"x: {text}")["x"] if text != "1e400" else float("inf")
    for loc, _ in FIELDS:
        set_at(data, loc, value)
    problems = problems_of(data, tmp_path)
    for loc, kind in FIELDS:
        message = problems.get(yaml_path(loc), "")
        expected = "finite number" if kind is float else "valid integer"
        assert expected in message, (yaml_path(loc), message)


@pytest.mark.parametrize("text", [".nan", ".inf", "-.inf", "1e400"])
def test_non_finite_env_overrides_are_refused(tmp_path: Path, text: str) -> None:
    """MM_BOT__...=.nan (and inf) is refused at the overridden path, naming the variable."""
    env = {"MM_BOT__" + "__".join(str(p) for p in loc): text for loc, _ in FIELDS}
    with pytest.raises(ConfigError) as info:
        load_config(REPO_CONFIG, env)
    problems = dict(info.value.problems)
    for loc, _ in FIELDS:
        message = problems.get(yaml_path(loc), "")
        assert "set by environment variable MM_BOT__" in message, (yaml_path(loc), message)


# --- tick and lot against the market ---------------------------------------------------------------


def test_tick_too_coarse_for_the_max_spread_is_refused(tmp_path: Path) -> None:
    """tick_size 1000 at mid_min 10000 is 1000 bps a tick: refused at markets[0].tick_size with the
    numbers, instead of quoting far beyond max_spread_bps."""
    data = default_data()
    data["markets"][0]["tick_size"] = 1000.0
    message = problems_of(data, tmp_path)["markets[0].tick_size"]
    assert "1000.0" in message and "10000.0" in message and "20.0" in message, message
    assert "max_spread_bps" in message


def test_tick_check_boundary(tmp_path: Path) -> None:
    """Two ticks at mid_min exactly equal to max_spread_bps pass; a little more is refused."""
    data = default_data()
    m = data["markets"][0]
    m["tick_size"] = m["quoting"]["max_spread_bps"] / 2 * m["verify"]["mid_min"] / 1e4  # 10.0
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(data))
    assert load_config(path, {}).markets[0].tick_size == 10.0
    m["tick_size"] = 10.5
    assert "markets[0].tick_size" in problems_of(data, tmp_path)


def test_order_smaller_than_one_lot_says_so(tmp_path: Path) -> None:
    """An order below one lot is reported as such, not as 'not a multiple'."""
    data = default_data()
    data["markets"][0]["lot_size"] = 0.01  # order_size_base 0.001
    message = problems_of(data, tmp_path)["markets[0].order_size_base"]
    assert "smaller than one lot_size 0.01" in message, message


def test_lot_size_absurdly_fine_is_refused(tmp_path: Path) -> None:
    """A lot so fine that one order is more than 1e9 lots is refused (lot counts stay exact ints)."""
    data = default_data()
    data["markets"][0]["lot_size"] = 1e-13  # order_size_base 0.001 = 1e10 lots
    message = problems_of(data, tmp_path)["markets[0].lot_size"]
    assert "1e-13" in message and "lots" in message, message


# --- metrics host -----------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["", " ", "local host", "127.0.0.1\n"])
def test_metrics_host_must_be_a_host(tmp_path: Path, host: str) -> None:
    """An empty or whitespace-containing metrics.host is refused at its path."""
    data = default_data()
    data["metrics"]["host"] = host
    assert "metrics.host" in problems_of(data, tmp_path)
