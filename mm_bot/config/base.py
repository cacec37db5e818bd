"""What every config model shares: the strict base model, the constrained number types, the YAML
path of a problem and the cross-field problem helpers. See ``mm_bot.config.models`` for the rules
all models follow (frozen, no unknown keys, no coercion, units in field names)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

DEFAULT_CONFIG_PATH = Path("config.yaml")
ENV_PREFIX = "MM_BOT__"
FILE = "<file>"  # yaml path of problems with the file itself
ROOT = "<root>"  # yaml path of the whole document

Loc = tuple[str | int, ...]
Pos = Annotated[float, Field(gt=0)]
NonNeg = Annotated[float, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, lt=1)]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # a key yaml_path writes as .key, not ["key"]


Problem = tuple[Loc, str]


def _when(bad: bool, where: str | Loc, message: str) -> list[Problem]:
    """One cross-field problem at ``where`` (a field name or a path inside the model) if ``bad``."""
    return [((where,) if isinstance(where, str) else where, message)] if bad else []


def _required(model: BaseModel, names: Sequence[str], why: str) -> list[Problem]:
    return [((n,), f"required {why}") for n in names if getattr(model, n) is None]


def _cross(problems: list[Problem]) -> None:
    """Raise every cross-field problem of one model at once; ``loader._render`` expands them by path."""
    if problems:
        ctx = {"summary": "; ".join(m for _, m in problems), "problems": tuple(dict.fromkeys(problems))}
        raise PydanticCustomError("cross_field", "{summary}", ctx)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


def yaml_path(loc: Sequence[str | int]) -> str:
    """Render a location like ``markets[0].risk.max_position_base`` or ``x.markets["BTC/USDT"]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(part):
            out += f".{part}" if out else part
        else:
            out += f'["{part}"]'
    return out or ROOT
