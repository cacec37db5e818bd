"""Hostile YAML (alias bombs, deep nesting, huge files and values) is refused fast, at <file>."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mm_bot.config import FILE, load_config
from mm_bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def alias_bomb(levels: int = 20, width: int = 60) -> str:
    """Each anchor is a list of ``width`` aliases of the one before: width**levels nodes in ~8 KB."""
    lines = ["a0: &a0 [lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def mapping_bomb(levels: int = 20, width: int = 40) -> str:
    """The same with mappings: each anchor maps ``width`` keys to the anchor before."""
    lines = ["m0: &m0 {x: 1}"]
    lines += [
        f"m{i}: &m{i} {{{', '.join(f'k{j}: *m{i - 1}' for j in range(width))}}}" for i in range(1, levels)
    ]
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int = 20, width: int = 40) -> str:
    """Merge keys repeat the previous mapping's pairs ``width`` times per level."""
    lines = ["g0: &g0 {x: 1}"]
    lines += [f"g{i}: &g{i} {{<<: [{', '.join([f'*g{i - 1}'] * width)}]}}" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


BOMBS = {"list": alias_bomb(), "mapping": mapping_bomb(), "merge": merge_bomb()}

DEEP = {
    "flow_list": "a: " + "[" * 10_000 + "]" * 10_000 + "\n",
    "flow_mapping": "a: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
    "block_list": "a:\n" + "- " * 10_000 + "x\n",
    "block_mapping": "".join("  " * i + f"k{i}:\n" for i in range(500)) + "  " * 500 + "v\n",
    # every anchor nests the one before: shallow as written, 3000 deep once the aliases are expanded
    "alias_chain": "c0: &c0 [1]\n" + "".join(f"c{i}: &c{i} [*c{i - 1}]\n" for i in range(1, 3000)),
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def file_problem(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ or {})
    problems = dict(info.value.problems)
    assert FILE in problems, problems
    return problems[FILE]


def test_bombs_are_about_8_kb() -> None:
    """The corpus is what an attacker could paste: small files that expand enormously."""
    assert all(2_000 < len(text) < 10_000 for text in BOMBS.values())


# Bombs are loaded in a child limited to 2 GiB of address space, so a regression fails the test with
# a MemoryError instead of exhausting the machine.
_CHILD = """
import json, sys, time, tracemalloc
from mm_bot.config import load_config
from mm_bot.errors import ConfigError
tracemalloc.start()
start = time.perf_counter()
try:
    load_config(sys.argv[1], json.loads(sys.argv[2]))
    problems = {}
except ConfigError as exc:
    problems = dict(exc.problems)
elapsed_s = time.perf_counter() - start
peak_bytes = tracemalloc.get_traced_memory()[1]
print(json.dumps({"problems": problems, "elapsed_s": elapsed_s, "peak_bytes": peak_bytes}))
"""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))


def run_limited(args: list[str], timeout_s: float = 15.0) -> subprocess.CompletedProcess[str]:
    """Run ``python args`` in a child with at most 2 GiB of memory and ``timeout_s`` of time."""
    try:
        return subprocess.run(
            [sys.executable, *args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            env={k: v for k, v in os.environ.items() if not k.startswith("MM_BOT__")},
            preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout_s} s: {args[:2]}")


def load_limited(path: Path, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """load_config in a memory-limited child: its problems, elapsed seconds and traced peak bytes."""
    proc = run_limited(["-c", _CHILD, str(path), json.dumps(environ or {})])
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_alias_bomb_is_refused_fast_in_little_memory(tmp_path: Path, kind: str) -> None:
    """A billion-laughs file is refused at <file> within a second and a few MB, not after GBs."""
    result = load_limited(write(tmp_path, BOMBS[kind]))
    message = result["problems"].get(FILE, "")
    assert message.startswith("too many nodes after alias expansion"), result["problems"]
    assert result["elapsed_s"] < 1.0
    assert result["peak_bytes"] < 20 * 2**20


def test_alias_bomb_as_a_mapping_key_is_refused(tmp_path: Path) -> None:
    """A bomb used as a key (``? *a19``) is refused without expanding it."""
    result = load_limited(write(tmp_path, alias_bomb() + "? *a19\n: 1\n"))
    message = result["problems"].get(FILE, "")
    assert "too many nodes" in message or "keys must be plain scalars" in message, result["problems"]


def test_alias_bomb_in_an_env_override_is_refused(tmp_path: Path) -> None:
    """The same bomb in MM_BOT__... is a problem at the overridden path, not a hang."""
    result = load_limited(ROOT / "config.yaml", {"MM_BOT__paper__synthetic__seed": alias_bomb()})
    message = result["problems"].get("paper.synthetic.seed", "")
    assert "MM_BOT__paper__synthetic__seed" in message and "too many nodes" in message, result["problems"]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", sorted(DEEP))
def test_deep_nesting_is_refused_without_recursion_error(tmp_path: Path, kind: str) -> None:
    """10,000-deep lists/mappings (as written or through aliases) name the depth limit at <file>."""
    start = time.perf_counter()
    message = file_problem(write(tmp_path, DEEP[kind]))
    assert "max depth 64" in message, message
    assert time.perf_counter() - start < 1.0


def test_nesting_up_to_the_limit_is_read(tmp_path: Path) -> None:
    """The depth limit is not off by one: 64 levels (the top mapping included) still parse."""
    text = "a: " + "[" * 63 + "]" * 63 + "\n"  # the top mapping + 63 lists
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), {})
    assert FILE not in dict(info.value.problems)  # read fine; only the schema complains
    assert "max depth 64" in file_problem(write(tmp_path, "a: " + "[" * 64 + "]" * 64 + "\n"))


def test_file_over_1_mb_is_refused_unread(tmp_path: Path) -> None:
    """A config file over 1 MiB is refused before parsing (a real one is a few KB)."""
    path = write(tmp_path, "# " + "x" * 2**20 + "\n")
    start = time.perf_counter()
    assert file_problem(path).startswith("file is larger than 1048576 bytes")
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1" + "0" * 5000 + "\n", "line 1"),  # Python refuses int() of > 4300 digits
        ("a: 2001-13-45\n", "line 1"),  # a timestamp with month 13
        ("? [1, 2]\n: 3\n", "keys must be plain scalars"),
    ],
)
def test_unconstructible_values_are_config_errors(tmp_path: Path, text: str, expected: str) -> None:
    """Values PyYAML cannot build (huge ints, impossible dates, list keys) are reported at <file>."""
    assert expected in file_problem(write(tmp_path, text))


CORPUS = {**{f"bomb_{k}": v for k, v in BOMBS.items()}, **{f"deep_{k}": v for k, v in DEEP.items()}}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_cli_refuses_hostile_yaml_with_exit_2(tmp_path: Path, name: str) -> None:
    """`mm-bot check-config` on each hostile file exits 2 naming <file>, with no traceback, quickly."""
    path = write(tmp_path, CORPUS[name])
    start = time.perf_counter()
    proc = run_limited(["-m", "mm_bot.cli", "check-config", "--config", str(path)])
    elapsed_s = time.perf_counter() - start
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"{FILE}: " in proc.stderr
    assert "Traceback" not in proc.stderr
    assert elapsed_s < 3.0  # interpreter start and imports included
