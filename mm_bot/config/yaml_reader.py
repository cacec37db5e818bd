"""Reading ``config.yaml`` safely: YAML 1.2-ish parsing that records the line of every key.

Hostile YAML is refused at ``<file>`` before it can cost time or memory: files over
``MAX_FILE_BYTES``, documents with more than ``MAX_NODES`` nodes once aliases are expanded (an alias
counts each time it is reached, so a "billion laughs" file stops at the limit), and nesting deeper
than ``MAX_DEPTH`` mappings and lists (PyYAML's composer is recursive). Duplicate keys, non-scalar
keys and recursive aliases are errors. YAML 1.1 surprises are read as YAML 1.2: ``1e-5`` is a float
and ``14:30`` a string."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from mm_bot.config.base import FILE, Loc, yaml_path
from mm_bot.errors import ConfigError

MAX_FILE_BYTES = 1 << 20  # a real config is a few KB
MAX_NODES = 10_000  # after alias expansion; the default config has a few hundred
MAX_DEPTH = 64  # levels of mappings and lists; the default config has 6
_YAML12_FLOAT = re.compile(r"^[-+]?(\d[\d_]*)?\.?\d*[eE][-+]?\d+$")  # 1e-5, 2.5E3: floats YAML 1.1 misses


class Refused(Exception):
    """The YAML is refused before (or while) it is built: too large, too deep, not a config value."""


def _at(mark: Any) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}"


def _too_many_nodes() -> Refused:
    return Refused(f"too many nodes after alias expansion: more than {MAX_NODES} (an alias bomb?)")


def _too_deep(mark: Any) -> Refused:
    return Refused(f"nested too deeply{_at(mark)}: max depth {MAX_DEPTH} levels of mappings and lists")


def read_yaml(path: Path) -> tuple[Any, dict[Loc, int]]:
    """Read and parse ``path``: the data and the line of every key. File and syntax problems become
    ConfigError at ``<file>``."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)  # never more, whatever the file is (/dev/zero)
        if len(data) > MAX_FILE_BYTES:
            raise Refused(f"file is larger than {MAX_FILE_BYTES} bytes (a config is a few KB)")
        return _parse_yaml(data.decode("utf-8"))
    except FileNotFoundError:
        problem = f"file not found: {path}"
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"cannot read {path}: {exc}"
    except Refused as exc:
        problem = str(exc)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = _at(mark) if mark is not None else ""
        what = ": ".join(str(s) for s in (getattr(exc, "context", None), getattr(exc, "problem", None)) if s)
        problem = f"YAML syntax error{where}: {what or exc}"
    raise ConfigError([(FILE, problem)], f"config {path}")


def read_value(text: str) -> Any:
    """One value given outside the file (an environment override), parsed as the file would be and
    refused (``Refused``) as it would be."""
    try:
        return _parse_yaml(text)[0]
    except yaml.YAMLError:
        return text  # not YAML: take it as a plain string


class _BoundedLoader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader that stops composing at MAX_NODES nodes and MAX_DEPTH levels (before the recursive
    composer exhausts the stack) and reports a value Python cannot build (an int of 5000 digits, a
    date in month 13) with its line instead of a ValueError."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._nodes = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _too_many_nodes()
        return super().compose_node(parent, index)

    def compose_sequence_node(self, anchor: Any) -> Any:
        return self._compose_nested(super().compose_sequence_node, anchor)

    def compose_mapping_node(self, anchor: Any) -> Any:
        return self._compose_nested(super().compose_mapping_node, anchor)

    def _compose_nested(self, compose: Any, anchor: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _too_deep(self.peek_event().start_mark)
            return compose(anchor)
        finally:
            self._depth -= 1

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except ValueError as exc:
            raise Refused(f"cannot read the value{_at(node.start_mark)}: {exc}") from None


def _parse_yaml(text: str) -> tuple[Any, dict[Loc, int]]:
    """Parse as YAML 1.2-ish (see module doc); return the data and the line of every key."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        walk = _NodeWalk()
        walk.visit(node, (), ())
        return loader.construct_document(node), walk.lines
    finally:
        loader.dispose()


class _NodeWalk:
    """One pass over the composed node graph with aliases expanded, before anything is constructed:
    records the line of every key, rejects duplicate and non-scalar keys and recursive aliases,
    retags YAML 1.1 surprises, and refuses more than MAX_NODES nodes or MAX_DEPTH levels."""

    def __init__(self) -> None:
        self.lines: dict[Loc, int] = {}
        self.nodes = 0

    def visit(self, node: Any, loc: Loc, up: tuple[Any, ...]) -> None:
        """``up`` holds the ancestors of ``node``; an alias of one of them is a cycle."""
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _too_many_nodes()
        if any(node is ancestor for ancestor in up):
            raise yaml.constructor.ConstructorError(None, None, "recursive alias", node.start_mark)
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and len(up) >= MAX_DEPTH:
            raise _too_deep(node.start_mark)
        up = (*up, node)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise Refused(f"mapping keys must be plain scalars{_at(key_node.start_mark)}")
                key = str(key_node.value)
                if key in seen and key_node.tag != "tag:yaml.org,2002:merge":
                    raise yaml.constructor.ConstructorError(
                        f"in the mapping at {yaml_path(loc)}",
                        None,
                        f"duplicate key {key!r}",
                        key_node.start_mark,
                    )
                seen.add(key)
                self.lines.setdefault((*loc, key), key_node.start_mark.line + 1)
                self.visit(value_node, (*loc, key), up)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.lines.setdefault((*loc, i), item.start_mark.line + 1)
                self.visit(item, (*loc, i), up)
        elif isinstance(node, yaml.ScalarNode) and node.style is None:
            if node.tag == "tag:yaml.org,2002:str" and _YAML12_FLOAT.match(node.value):
                node.tag = "tag:yaml.org,2002:float"
            elif node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and ":" in node.value:
                node.tag = "tag:yaml.org,2002:str"  # 14:30 is a time, not 870
