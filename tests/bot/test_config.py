"""Strict configuration: the default loads; every class of problem names its YAML path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from mm_bot.config import (
    FILE,
    ROOT,
    AppConfig,
    check_config,
    live_credentials,
    load_config,
    read_secret,
    with_strategy_kind,
    yaml_path,
)
from mm_bot.errors import ConfigError

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


@pytest.fixture
def default_data() -> dict[str, Any]:
    return dict(yaml.safe_load(REPO_CONFIG.read_text()))


def write(tmp_path: Path, data: object, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def problems_of(path: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    """{yaml_path: message} of a config that must fail."""
    with pytest.raises(ConfigError) as info:
        load_config(path, environ or {})
    return dict(info.value.problems)


def market(data: dict[str, Any], i: int = 0) -> dict[str, Any]:
    m: dict[str, Any] = data["markets"][i]
    return m


# --- the default ----------------------------------------------------------------------------------


def test_default_config_loads() -> None:
    """The shipped config.yaml is valid: one BTC/USDT market on sim, paper on a synthetic market."""
    cfg = load_config(REPO_CONFIG, {})
    assert isinstance(cfg, AppConfig)
    assert [m.symbol for m in cfg.markets] == ["BTC/USDT"]
    m = cfg.markets[0]
    assert (m.venue, m.base_asset, m.quote_asset, m.order_size_lots) == ("sim", "BTC", "USDT", 100)
    assert m.risk.max_position_base == 0.01
    assert cfg.paper.market_data == "synthetic"
    assert cfg.paper.synthetic.markets["BTC/USDT"].s0 == 60000.0
    assert cfg.journal.paper_path != cfg.journal.live_path
    assert check_config(REPO_CONFIG, {}) == []


def test_models_are_frozen() -> None:
    """Loaded config cannot be changed in place, at any depth."""
    cfg = load_config(REPO_CONFIG, {})
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        cfg.markets[0].risk.max_position_base = 1.0
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        cfg.paper = cfg.paper


def test_execution_and_feed_guard_defaults(tmp_path: Path, default_data: dict[str, Any]) -> None:
    """execution, the risk feed guards and journal.synchronous have documented defaults when omitted."""
    del default_data["execution"]
    for key in ("max_mid_jump_bps", "jump_confirm_books", "max_clock_skew_ms"):
        del market(default_data)["risk"][key]
    default_data["journal"].pop("synchronous", None)
    cfg = load_config(write(tmp_path, default_data), {})
    e = cfg.execution
    assert (e.request_timeout_ms, e.max_in_flight, e.reconcile_interval_s) == (5000, 4, 30.0)
    assert (e.cancel_retry_ms, e.cancel_max_retries, e.status_retry_ms, e.shutdown_timeout_s) == (
        500,
        3,
        1000,
        5.0,
    )
    r = cfg.markets[0].risk
    assert (r.max_mid_jump_bps, r.jump_confirm_books, r.max_clock_skew_ms) == (500.0, 3, 5000)
    assert cfg.journal.synchronous == "auto"


def test_new_keys_are_validated(tmp_path: Path, default_data: dict[str, Any]) -> None:
    """The execution and feed-guard keys are strict: positive, ints where counts or ms are meant."""
    default_data["execution"].update(reconcile_interval_s=0, cancel_max_retries=1.5, request_timeout_ms=-1)
    market(default_data)["risk"].update(max_mid_jump_bps=-5, jump_confirm_books=0, max_clock_skew_ms="5s")
    default_data["execution"]["retries"] = 3
    problems = problems_of(write(tmp_path, default_data))
    assert problems["execution.reconcile_interval_s"].startswith("Input should be greater than 0")
    assert problems["execution.cancel_max_retries"].startswith("Input should be a valid integer")
    assert problems["execution.request_timeout_ms"].startswith("Input should be greater than 0")
    assert problems["execution.retries"].startswith("unknown key")
    risk = "markets[0].risk"
    assert problems[f"{risk}.max_mid_jump_bps"].startswith("Input should be greater than 0")
    assert problems[f"{risk}.jump_confirm_books"].startswith("Input should be greater than 0")
    assert problems[f"{risk}.max_clock_skew_ms"].startswith("Input should be a valid integer")


def test_removed_keys_are_unknown(tmp_path: Path, default_data: dict[str, Any]) -> None:
    """runtime (keep_warm_ms, gc) and journal.intent_ring_dir are gone: a config with them is refused."""
    default_data["runtime"] = {"keep_warm_ms": 1, "gc": "idle"}
    default_data["journal"]["intent_ring_dir"] = "auto"
    problems = problems_of(write(tmp_path, default_data))
    assert problems["runtime"].startswith("unknown key")
    assert problems["journal.intent_ring_dir"].startswith("unknown key")


def test_round_trip_of_default_data(tmp_path: Path, default_data: dict[str, Any]) -> None:
    """The default re-dumped by PyYAML (1e-05 style floats included) still loads."""
    assert load_config(write(tmp_path, default_data), {}).markets[0].lot_size == 1e-5


# --- file level -----------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is a ConfigError at <file>, not a traceback."""
    problems = problems_of(tmp_path / "nope.yaml")
    assert "file not found" in problems[FILE]


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    """A YAML syntax error reports its line and column."""
    path = write(tmp_path, "markets:\n  - symbol: BTC/USDT\n    venue: [sim\npaper: {}\n")
    message = problems_of(path)[FILE]
    assert message.startswith("YAML syntax error at line 4, column")


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    """PyYAML would silently keep the last of two equal keys; we report the second one's line."""
    message = problems_of(write(tmp_path, "paper: 1\nmarkets: []\npaper: 2\n"))[FILE]
    assert "line 3" in message
    assert "duplicate key 'paper'" in message


@pytest.mark.parametrize(("text", "got"), [("", "an empty document"), ("- a\n- b\n", "list")])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, got: str) -> None:
    """An empty file or a list at the top is reported at <root>."""
    assert problems_of(write(tmp_path, text))[ROOT].endswith(f"got {got}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &x [*x]\n", "recursive alias"),
        ("markets: !!python/object:os.system {}\n", "could not determine a constructor"),
        ("a: 1\n---\nb: 2\n", "expected a single document"),
    ],
)
def test_hostile_yaml_is_a_config_error(tmp_path: Path, text: str, expected: str) -> None:
    """Cycles, Python tags and multiple documents are reported, never a traceback."""
    assert expected in problems_of(write(tmp_path, text))[FILE]


def test_undecodable_file(tmp_path: Path) -> None:
    """A file that is not UTF-8 is reported at <file>."""
    path = tmp_path / "config.yaml"
    path.write_bytes(b"\xff\xfe\x00")
    assert problems_of(path)[FILE].startswith("cannot read")


def test_yaml_12_floats_and_merge_keys(tmp_path: Path) -> None:
    """1e-5 is a number (PyYAML alone reads a string); merge keys can share a block."""
    text = REPO_CONFIG.read_text().replace("lot_size: 0.00001", "lot_size: 1e-5", 1)
    text = text.replace("    lockouts:\n", "    lockouts:\n      <<: {after_reject_ms: 7}\n", 1)
    text = text.replace("      after_reject_ms: 1000\n", "", 1)
    cfg = load_config(write(tmp_path, text), {})
    assert (cfg.markets[0].lot_size, cfg.markets[0].lockouts.after_reject_ms) == (1e-5, 7)


# --- field level ----------------------------------------------------------------------------------


def test_unknown_key_names_path_and_suggests(tmp_path: Path, default_data: dict[str, Any]) -> None:
    """A misspelt key is an unknown key at its path, with the closest valid key suggested."""
    risk = market(default_data)["risk"]
    risk["max_postion_base"] = risk.pop("max_position_base")
    problems = problems_of(write(tmp_path, default_data))
    assert problems["markets[0].risk.max_postion_base"].startswith(
        "unknown key; did you mean 'max_position_base'?"
    )
    assert problems["markets[0].risk.max_position_base"].startswith("required key missing")


def test_unknown_top_level_section(tmp_path: Path, default_data: dict[str, Any]) -> None:
    """Unknown sections list the valid ones when nothing is close."""
    default_data["zzz"] = {"a": 1}
    assert "expected one of: markets, paper" in problems_of(write(tmp_path, default_data))["zzz"]


def test_wrong_type_names_path_value_and_line(tmp_path: Path) -> None:
    """A string where a number belongs is not coerced; the message shows the value and line."""
    text = REPO_CONFIG.read_text().replace("tick_size: 0.01 ", 'tick_size: "0.01"', 1)
    lineno = next(i for i, s in enumerate(text.splitlines(), 1) if "tick_size" in s)
    message = problems_of(write(tmp_path, text))["markets[0].tick_size"]
    assert message == f"Input should be a valid number (got '0.01') (line {lineno})"


def test_missing_required_field(tmp_path: Path, default_data: dict[str, Any]) -> None:
    """A missing required key (a market's order size and position limit) is named by its full path."""
    del market(default_data)["order_size_base"]
    del market(default_data)["risk"]["max_position_base"]
    problems = problems_of(write(tmp_path, default_data))
    assert problems["markets[0].order_size_base"].startswith("required key missing")
    assert problems["markets[0].risk.max_position_base"].startswith("required key missing")


def test_a_missing_optional_key_takes_its_default(tmp_path: Path, default_data: dict[str, Any]) -> None:
    del market(default_data)["lockouts"]["after_fill_ms"]
    del default_data["paper"]["fees"]
    cfg = load_config(write(tmp_path, default_data))
    assert cfg.markets[0].lockouts.after_fill_ms == 250
    assert (cfg.paper.fees.maker_bps, cfg.paper.fees.taker_bps) == (-0.5, 4.0)


def test_bad_literal_and_ranges(tmp_path: Path, default_data: dict[str, Any]) -> None:
    """Enums list their choices; negative sizes and out-of-range ports are rejected."""
    market(default_data)["venue"] = "binance"
    market(default_data)["order_size_base"] = -1.0
    default_data["metrics"]["port"] = 70000
    default_data["journal"]["synchronous"] = "OFF"
    default_data["execution"] = {"max_in_flight": 0}
    problems = problems_of(write(tmp_path, default_data))
    assert problems["journal.synchronous"].startswith(
        "Input should be 'auto', 'NORMAL' or 'FULL' (got 'OFF')"
    )
    assert problems["execution.max_in_flight"].startswith("Input should be greater than 0")
    assert problems["markets[0].venue"].startswith("Input should be 'sim', 'ccxt' or 'grpc' (got 'binance')")
    assert problems["markets[0].order_size_base"].startswith("Input should be greater than 0")
    assert problems["metrics.port"].startswith("Input should be less than or equal to 65535")


def test_symbol_keyed_paths_are_quoted(tmp_path: Path, default_data: dict[str, Any]) -> None:
    """Keys that are not identifiers (symbols) render as ["BTC/USDT"] in paths."""
    default_data["paper"]["synthetic"]["markets"]["BTC/USDT"]["process"] = "levy"
    problems = problems_of(write(tmp_path, default_data))
    assert 'paper.synthetic.markets["BTC/USDT"].process' in problems


# --- cross-field ----------------------------------------------------------------------------------


def test_cross_field_errors_name_the_field(tmp_path: Path, default_data: dict[str, Any]) -> None:
    """Each cross-field rule reports at the field to fix, all at once, with the reason."""
    m = market(default_data)
    m["quoting"]["min_spread_bps"] = 30.0  # > max_spread_bps 20
    m["quoting"]["tolerance_bps"] = 20.0  # >= min_spread / 2
    m["volatility"]["floor"] = 100.0  # > cap 50
    m["intensity"].update(a_per_s=50.0, a_max=10.0)  # prior above a_max
    m["risk"]["hard_position_base"] = 0.005  # <= max_position_base
    m["verify"]["mid_min"] = 300000.0  # >= mid_max
    problems = problems_of(write(tmp_path, default_data))
    q = "markets[0].quoting"
    assert problems[f"{q}.min_spread_bps"].startswith("min_spread_bps 30.0 must be <= max_spread_bps 20.0")
    assert "wrong side of mid" in problems[f"{q}.tolerance_bps"]
    assert problems["markets[0].volatility.floor"].startswith("floor 100.0 must be <= cap 50.0")
    assert "must lie in [a_min, a_max]" in problems["markets[0].intensity.a_per_s"]
    assert "must be > max_position_base" in problems["markets[0].risk.hard_position_base"]
    assert "must be < mid_max" in problems["markets[0].verify.mid_min"]


def test_order_size_rules(tmp_path: Path, default_data: dict[str, Any]) -> None:
    """Order size must be a lot multiple (float-tolerant) and not above the max position."""
    market(default_data)["order_size_base"] = 0.0010000000000001  # float noise: accepted
    assert load_config(write(tmp_path, default_data), {}).markets[0].order_size_lots == 100
    market(default_data)["order_size_base"] = 0.000015  # 1.5 lots
    assert "multiple of lot_size" in problems_of(write(tmp_path, default_data))["markets[0].order_size_base"]
    market(default_data)["order_size_base"] = 0.02
    problems = problems_of(write(tmp_path, default_data))
    assert "must be <= risk.max_position_base" in problems["markets[0].order_size_base"]


def test_conditional_requirements(tmp_path: Path, default_data: dict[str, Any]) -> None:
    """Fields a chosen mode needs and that have no default are required; the daily window must not
    be empty. Those with a default (a fixed strategy's half-spread, the fit's trade count) get it."""
    m = market(default_data)
    m["strategy"] = {"kind": "fixed"}
    m["horizon"] = {"kind": "daily", "daily_start_utc": "08:00", "daily_end_utc": "08:00"}
    m["intensity"]["source"] = "estimated"
    del m["intensity"]["min_trades"]
    problems = problems_of(write(tmp_path, default_data))
    assert problems["markets[0].horizon.at_end"].startswith("required when kind is 'daily'")
    assert "must differ from daily_start_utc" in problems["markets[0].horizon.daily_end_utc"]
    assert not any(
        p.startswith("markets[0].strategy") or p.startswith("markets[0].intensity") for p in problems
    )
    m["horizon"] = {"kind": "session", "at_end": "flatten"}
    problems = problems_of(write(tmp_path, default_data))
    assert problems["markets[0].horizon.session_length_s"].startswith("required when kind is 'session'")
    m["horizon"]["session_length_s"] = 60.0
    cfg = load_config(write(tmp_path, default_data), {})
    assert (cfg.markets[0].strategy.fixed_half_spread_bps, cfg.markets[0].intensity.min_trades) == (1.0, 30)


def test_unquoted_time_is_read_as_text(tmp_path: Path) -> None:
    """14:30 unquoted stays a time (PyYAML alone would read the number 870); bad times are named."""
    text = REPO_CONFIG.read_text().replace(
        "    horizon:\n      kind: infinite\n",
        "    horizon:\n      kind: daily\n      daily_start_utc: 14:30\n      daily_end_utc: 25:00\n"
        "      at_end: flatten\n",
    )
    problems = problems_of(write(tmp_path, text))
    assert list(problems) == ["markets[0].horizon.daily_end_utc"]
    assert problems["markets[0].horizon.daily_end_utc"].startswith('must be a UTC time "HH:MM"')


def test_top_level_cross_checks(tmp_path: Path, default_data: dict[str, Any]) -> None:
    """Duplicate symbols and missing balances are reported where they belong; a market with no
    synthetic market of its own gets the default one."""
    eth = copy.deepcopy(market(default_data))
    eth["symbol"] = "ETH/USDT"
    default_data["markets"] += [copy.deepcopy(market(default_data)), eth]
    problems = problems_of(write(tmp_path, default_data))
    assert problems["markets[1].symbol"].startswith("duplicate symbol 'BTC/USDT' (also markets[0])")
    assert problems["paper.balances"].startswith("no starting balance for ETH")
    assert not any(p.startswith("paper.synthetic") for p in problems)


def test_exchange_market_data_needs_an_exchange(tmp_path: Path, default_data: dict[str, Any]) -> None:
    """paper.market_data: exchange takes its book from live.exchange_id: without one, refused there."""
    default_data["paper"]["market_data"] = "exchange"
    default_data["live"]["exchange_id"] = None
    assert "needs live.exchange_id" in problems_of(write(tmp_path, default_data))["paper.market_data"]
    default_data["live"]["exchange_id"] = "binance"
    assert load_config(write(tmp_path, default_data), {}).paper.market_data == "exchange"


def test_many_problems_reported_at_once(tmp_path: Path, default_data: dict[str, Any]) -> None:
    """Problems in different sections and classes all come back in one ConfigError."""
    market(default_data)["lockouts"]["after_fill_ms"] = "soon"
    market(default_data)["quoting"]["max_spread_bps"] = 0.5
    default_data["logging"]["colour"] = True
    default_data["paper"]["latency"]["order_ms"] = -1
    default_data["live"]["secret"] = "s3cr3t"
    problems = problems_of(write(tmp_path, default_data))
    assert {
        "markets[0].lockouts.after_fill_ms",
        "markets[0].quoting.min_spread_bps",
        "logging.colour",
        "paper.latency.order_ms",
        "live.secret",
    } <= set(problems)
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, default_data), {})
    assert "markets[0].lockouts.after_fill_ms: " in str(info.value)  # what the CLI prints


# --- secrets and environment ----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["api_key", "secret", "apiKey", "password"])
def test_secret_in_yaml_is_rejected(tmp_path: Path, default_data: dict[str, Any], key: str) -> None:
    """Secret-looking keys anywhere are refused with a pointer to the env var, and not echoed."""
    default_data["live"][key] = "hunter2-value"
    problems = problems_of(write(tmp_path, default_data))
    assert list(problems) == [f"live.{key}"]
    assert "environment variable" in problems[f"live.{key}"]
    assert "hunter2" not in problems[f"live.{key}"]


def test_env_var_name_must_look_like_a_name(tmp_path: Path, default_data: dict[str, Any]) -> None:
    """Pasting the secret itself into api_key_env is caught."""
    default_data["live"]["api_key_env"] = "aB3x9-kk"
    problems = problems_of(write(tmp_path, default_data))
    assert problems["live.api_key_env"].startswith("must be the NAME of an environment variable")


def test_secrets_come_from_environment() -> None:
    """Credentials are read from the named variables as SecretStr; all missing ones are reported."""
    live = load_config(REPO_CONFIG, {}).live
    creds = live_credentials(live, {"MM_API_KEY": "k", "MM_API_SECRET": "s"})
    assert creds.api_key.get_secret_value() == "k"
    assert "s" not in repr(creds.api_secret)
    with pytest.raises(ConfigError) as info:
        live_credentials(live, {})
    assert [p for p, _ in info.value.problems] == ["live.api_key_env", "live.api_secret_env"]
    with pytest.raises(ConfigError, match="MY_VAR is not set"):
        read_secret("MY_VAR", "live.api_key_env", {"MY_VAR": ""})


def test_env_overrides(tmp_path: Path) -> None:
    """MM_BOT__a__b=value replaces one value (parsed as YAML); bad values name the variable."""
    env = {"MM_BOT__MARKETS__0__RISK__MAX_POSITION_BASE": "0.015", "MM_BOT__paper__synthetic__seed": "7"}
    cfg = load_config(REPO_CONFIG, env)
    assert (cfg.markets[0].risk.max_position_base, cfg.paper.synthetic.seed) == (0.015, 7)
    problems = problems_of(
        REPO_CONFIG, {"MM_BOT__logging__level": "loud", "MM_BOT__markets__3__venue": "sim"}
    )
    assert problems["logging.level"].endswith("(set by environment variable MM_BOT__logging__level)")
    assert "MM_BOT__markets__3__venue" in problems["markets"]


def test_yaml_path_rendering() -> None:
    """Locations render as YAML paths."""
    assert yaml_path(("markets", 0, "risk", "max_position_base")) == "markets[0].risk.max_position_base"
    assert yaml_path(("paper", "synthetic", "markets", "BTC/USDT")) == 'paper.synthetic.markets["BTC/USDT"]'
    assert yaml_path(()) == ROOT


def test_switching_the_strategy_kind_validates_as_a_file_would() -> None:
    cfg = load_config(REPO_CONFIG)
    assert with_strategy_kind(cfg, 0, cfg.markets[0].strategy.kind) == cfg
    glft = with_strategy_kind(cfg, 0, "glft", "--compare")
    assert glft.markets[0].strategy.kind == "glft" and cfg.markets[0].strategy.kind == "as"
    with pytest.raises(ConfigError) as err:
        with_strategy_kind(cfg, 0, "naive", "--compare")
    assert "markets[0].strategy.kind" in str(err.value) and "(set by --compare)" in str(err.value)
