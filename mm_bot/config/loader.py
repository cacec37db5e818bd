"""Loading ``config.yaml``: env overrides, secret checks, validation, and rendering of every
validation problem as ``(yaml_path, message)``. See ``mm_bot.config``; the file itself is read (and
hostile YAML refused) by ``yaml_reader``."""

from __future__ import annotations

import difflib
import math
import os
import re
import tempfile
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, SecretStr, ValidationError

from mm_bot.config.base import ENV_PREFIX, ROOT, Loc, yaml_path
from mm_bot.config.defaults import apply_defaults
from mm_bot.config.models import AppConfig, LiveConfig
from mm_bot.config.yaml_reader import Refused, read_value, read_yaml
from mm_bot.errors import ConfigError

_MAX_SHOWN_CHARS = 80  # a bad value is echoed in an error message up to this length
_SECRET_KEYS = {  # normalized key -> the live.* field naming its env var
    "apikey": "api_key_env",
    "key": "api_key_env",
    "secret": "api_secret_env",
    "apisecret": "api_secret_env",
    "secretkey": "api_secret_env",
    "privatekey": "api_secret_env",
    "password": "api_password_env",
    "passphrase": "api_password_env",
    "token": "api_key_env",
}

# --- secrets ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiveCredentials:
    api_key: SecretStr
    api_secret: SecretStr
    password: SecretStr | None


def read_secret(env_var: str, field_path: str, environ: Mapping[str, str] | None = None) -> SecretStr:
    """The value of ``env_var`` as a SecretStr; ConfigError at ``field_path`` (the YAML key naming
    the variable) if it is unset or empty."""
    value = (os.environ if environ is None else environ).get(env_var, "")
    if not value:
        raise ConfigError(
            [(field_path, f"environment variable {env_var} is not set (or empty)")], "environment"
        )
    return SecretStr(value)


def live_credentials(live: LiveConfig, environ: Mapping[str, str] | None = None) -> LiveCredentials:
    """Read the live API credentials from the environment, reporting every missing variable."""
    wanted = [("api_key_env", live.api_key_env), ("api_secret_env", live.api_secret_env)]
    if live.api_password_env is not None:
        wanted.append(("api_password_env", live.api_password_env))
    got: list[SecretStr] = []
    problems: list[tuple[str, str]] = []
    for field, var in wanted:
        try:
            got.append(read_secret(var, f"live.{field}", environ))
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems, "environment")
    return LiveCredentials(got[0], got[1], got[2] if len(got) > 2 else None)


# --- loading ------------------------------------------------------------------------------------


def load_config(
    path: str | Path,
    environ: Mapping[str, str] | None = None,
    *,
    sets: Sequence[tuple[str, str]] = (),
    sets_origin: str = "the caller",
) -> AppConfig:
    """Read, override from ``environ`` (default os.environ), then set ``sets`` (dotted path such as
    ``markets.0.strategy.gamma``, value text parsed as the file would be; a problem with one says
    "set by ``sets_origin``"), fill in the defaults (``defaults``), validate. Raises only ConfigError."""
    path = Path(path)
    raw, lines = read_yaml(path)
    problems: list[tuple[str, str]] = []
    overrides = _apply_env_overrides(raw, os.environ if environ is None else environ, problems)
    for dotted, text in sets:
        origin = f"{sets_origin} {dotted}"
        loc = _set_at(raw, dotted.split("."), text, origin, problems)
        if loc is not None:
            overrides[loc] = origin
    problems += _find_secrets(raw, ())
    if not isinstance(raw, dict):
        kind = "an empty document" if raw is None else type(raw).__name__
        problems.append(
            (ROOT, f"the top level must be a mapping of sections (markets, paper, ...), got {kind}")
        )
        raise ConfigError(problems, f"config {path}")
    apply_defaults(raw)
    try:
        cfg = AppConfig.model_validate(raw)
    except ValidationError as exc:
        problems += _render(exc, lines, overrides)
        raise ConfigError(problems, f"config {path}") from None
    if problems:
        raise ConfigError(problems, f"config {path}")
    return cfg


def with_strategy_kind(cfg: AppConfig, market: int, kind: str, origin: str = "the caller") -> AppConfig:
    """``cfg`` with market ``market``'s strategy kind replaced, defaulted and validated as a file saying
    that kind would be: the new kind's own parameters, when the config leaves them out, take their
    defaults (``fixed_half_spread_bps`` for fixed, ``gamma`` and ``tau_s`` for as and glft). A
    problem is a ConfigError naming the path, "set by ``origin``"."""
    raw = cfg.model_dump(by_alias=True)
    section = raw["markets"][market]["strategy"]
    raw["markets"][market]["strategy"] = {**{k: v for k, v in section.items() if v is not None}, "kind": kind}
    apply_defaults(raw)
    loc: Loc = ("markets", market, "strategy", "kind")
    try:
        return AppConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_render(exc, {}, {loc: origin}), "config") from None


def check_writable_paths(
    cfg: AppConfig, mode: str, summary_json: Path | None, report_dir: Path | None = None
) -> None:
    """Refuse, before trading, output files the run could not write: the journal of ``mode``
    ("paper" or "live"), ``summary_json`` and the report in ``report_dir``. Missing parent
    directories are created, as the run would; no journal, summary or report is created (a probe
    file in the directory is deleted at once)."""
    targets = [cfg.journal.location(mode)]
    if summary_json is not None:
        targets.append(("--summary-json", summary_json))
    if report_dir is not None:
        targets.append(("--report", report_dir / "index.html"))
    problems = [(where, why) for where, path in targets if (why := _unwritable(path)) is not None]
    if problems:
        raise ConfigError(problems, "output paths")


def _unwritable(path: Path) -> str | None:
    """Why a file cannot be written at ``path``, or None if it can."""
    if path.is_dir():
        return f"{path} is a directory, not a file"
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        return f"cannot create the directory {parent}: part of that path is a file"
    except OSError as exc:
        return f"cannot create the directory {parent}: {exc.strerror or exc}"
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".mm-bot-write-check-"):
            pass
        if path.exists():
            with path.open("r+b"):  # opened for writing, left unchanged
                pass
    except OSError as exc:
        return f"cannot write {path}: {exc.strerror or exc}"
    return None


def check_config(path: str | Path, environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Every problem of the config at ``path`` as (yaml_path, message); empty when it is valid."""
    try:
        load_config(path, environ)
    except ConfigError as exc:
        return exc.problems
    return []


def _find_secrets(data: Any, loc: Loc) -> list[tuple[str, str]]:
    """Report and remove secret-looking keys so they are not also reported as unknown."""
    found: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for key in list(data):
            env_field = _SECRET_KEYS.get(re.sub(r"[^a-z]", "", str(key).lower()))
            if env_field is not None:
                del data[key]
                found.append(
                    (
                        yaml_path((*loc, str(key))),
                        "secrets are never read from config files: remove "
                        f"this key and put the value in the environment variable named by live.{env_field}",
                    )
                )
            else:
                found += _find_secrets(data[key], (*loc, str(key)))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            found += _find_secrets(item, (*loc, i))
    return found


def _apply_env_overrides(
    data: Any, environ: Mapping[str, str], problems: list[tuple[str, str]]
) -> dict[Loc, str]:
    """Apply ``MM_BOT__a__b=value`` in place; return {overridden loc: where its value came from}."""
    done: dict[Loc, str] = {}
    for name in sorted(n for n in environ if n.startswith(ENV_PREFIX)):
        origin = f"environment variable {name}"
        loc = _set_at(data, name[len(ENV_PREFIX) :].split("__"), environ[name], origin, problems)
        if loc is not None:
            done[loc] = origin
    return done


def _set_at(
    data: Any, parts: Sequence[str], text: str, origin: str, problems: list[tuple[str, str]]
) -> Loc | None:
    """Set the value ``text`` (read as YAML) at the path ``parts`` of ``data`` in place (a list index
    must exist; missing mappings are created; keys match case-insensitively); the loc set, or None
    after adding the problem."""
    node: Any = data
    loc: Loc = ()
    for i, seg in enumerate(parts):
        key: str | int
        if isinstance(node, list) and seg.isdigit() and int(seg) < len(node):
            key = int(seg)
        elif isinstance(node, dict) and seg:
            key = next((k for k in node if str(k).lower() == seg.lower()), seg)
        else:
            problems.append((yaml_path(loc), f"{origin}: cannot set {seg!r} here"))
            return None
        loc = (*loc, key)
        if i == len(parts) - 1:
            try:
                node[key] = read_value(text)
            except Refused as exc:
                problems.append((yaml_path(loc), f"{origin}: {exc}"))
                return None
            return loc
        if isinstance(node, dict) and key not in node:
            node[key] = {}
        node = node[key]
    return None


def _render(exc: ValidationError, lines: dict[Loc, int], overrides: dict[Loc, str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for err in exc.errors():
        loc: Loc = tuple(err["loc"])
        if err["type"] == "cross_field":
            items = [((*loc, *sub), msg) for sub, msg in err["ctx"]["problems"]]
        elif err["type"] == "extra_forbidden":
            items = [(loc, _unknown_key(loc))]
        elif err["type"] == "missing":
            items = [(loc, "required key missing")]
        else:
            items = [(loc, err["msg"] + _shown(loc, err["input"]))]
        for where, msg in items:
            out.append((yaml_path(where), msg + _origin(where, lines, overrides)))
    return out


def _shown(loc: Loc, value: Any) -> str:
    """`` (got <value>)`` for a scalar input, unless it could be a secret: a value given for an
    ``*_env`` field (where a pasted key lands) or one that looks like a key or token."""
    if not (isinstance(value, str | int | float | bool) or value is None):
        return ""
    if (loc and str(loc[-1]).endswith("_env")) or (
        isinstance(value, str | int) and _looks_like_secret(str(value))
    ):
        return " (value not shown: it may be a secret)"
    shown = repr(value)
    if len(shown) > _MAX_SHOWN_CHARS:
        shown = f"{shown[:_MAX_SHOWN_CHARS]}... ({len(str(value))} characters)"
    return f" (got {shown})"


def _looks_like_secret(text: str) -> bool:
    """True for a token of 16+ characters without whitespace that mixes letters and digits (API
    keys, hex digests) or mixes cases with high entropy (random letters); paths and names pass."""
    if len(text) < 16 or any(c.isspace() for c in text):
        return False
    if any(c.isalpha() for c in text) and any(c.isdigit() for c in text):
        return True
    mixed_case = any(c.islower() for c in text) and any(c.isupper() for c in text)
    return mixed_case and _entropy_bits_per_char(text) >= 4.0


def _entropy_bits_per_char(text: str) -> float:
    counts = [text.count(c) for c in set(text)]
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts)


def _origin(loc: Loc, lines: dict[Loc, int], overrides: dict[Loc, str]) -> str:
    for n in range(len(loc), -1, -1):
        if loc[:n] in overrides:
            return f" (set by {overrides[loc[:n]]})"
        if loc[:n] in lines:
            return f" (line {lines[loc[:n]]})"
    return ""


def _unknown_key(loc: Loc) -> str:
    valid = _fields_at(loc[:-1])
    close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.6)
    hint = (
        f"; did you mean {close[0]!r}?"
        if close
        else f"; expected one of: {', '.join(valid)}"
        if valid
        else ""
    )
    return f"unknown key{hint}"


def _fields_at(loc: Loc) -> list[str]:
    """Field names (YAML spelling) of the model at ``loc``, or [] if it is not a model."""
    tp: Any = AppConfig
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            by_yaml = {f.alias or n: f for n, f in tp.model_fields.items()}
            if part not in by_yaml:
                return []
            tp = by_yaml[str(part)].annotation
        elif typing.get_origin(tp) in (list, dict):
            tp = typing.get_args(tp)[-1]
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    while True:
        if typing.get_origin(tp) is Annotated:
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp
