"""Reading config files safely: bytes to text to plain data, in bounded time and memory.

A config is a few dozen lines, so everything beyond what one could plausibly hold is refused
before it costs anything: files that are not regular files (a FIFO would block forever, a
symlink to ``/dev/zero`` would never end), more than ``MAX_CONFIG_BYTES``, bytes that are not
UTF-8, nesting deeper than ``MAX_DEPTH``, more than ``MAX_VALUES`` values (counted after YAML
aliases are expanded, so an alias bomb stops at the limit) and numbers longer than Python reads.
Duplicate keys are errors naming both lines (TOML's own parser already refuses them).

Each parser returns the data and a map from key paths to line numbers, built without expanding
aliases, so ``profiler.config`` can point validation errors at the right line.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer

from profiler import yaml_errors

MAX_CONFIG_BYTES = 256 * 1024
MAX_DEPTH = 64
MAX_VALUES = 10_000

Lines = dict[tuple[str, ...], int]


class ParseError(ValueError):
    """Why a config's text cannot be read as data, with the line when known."""

    def __init__(self, message: str, line: int | None = None, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.field = field


def read_config_text(path: Path) -> str:
    """The text of the regular file at ``path`` (at most ``MAX_CONFIG_BYTES``, UTF-8).

    Raises ParseError for anything else: a folder, pipe or device, a bigger file, other bytes;
    OSError when the file cannot be opened.
    """
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "a pipe, socket or device"
        raise ParseError(f"not a regular file ({kind}); give the path of a config file")
    with os.fdopen(fd, "rb") as f:
        data = f.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ParseError(_too_big())
    return decode_config_bytes(data)


def decode_config_bytes(data: bytes) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark is dropped); ParseError otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ParseError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded); "
            "save the file as UTF-8",
            line=line,
        ) from None


def parse_text(text: str, suffix: str) -> tuple[Any, Lines]:
    """The data in ``text`` (format by ``suffix``) and the line of each key path."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ParseError(_too_big())
    if suffix in (".yaml", ".yml"):
        data, lines = _parse_yaml(text)
    elif suffix == ".toml":
        data, lines = _parse_toml(text), {}
    elif suffix == ".json":
        data = _parse_json(text)
        _check_shape(data)
        lines = _json_lines(text)
    else:
        raise ParseError(f"unsupported file type {suffix!r}; use .yaml, .toml or .json")
    _check_shape(data)
    return data, lines


def _too_big() -> str:
    return f"larger than {MAX_CONFIG_BYTES // 1024} KiB: a config is a few dozen lines"


def _too_deep() -> str:
    return f"nested more than {MAX_DEPTH} levels deep"


def _too_many() -> str:
    return f"more than {MAX_VALUES:,} values (YAML aliases counted expanded)"


def _check_shape(data: Any) -> None:
    """Refuse data nested deeper than ``MAX_DEPTH`` or holding more than ``MAX_VALUES`` values.

    Iterative, and it stops at the limit: shared (aliased) objects are counted each time they
    appear, as validation would see them, and a structure that contains itself ends too.
    """
    stack: list[tuple[Any, int]] = [(data, 1)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ParseError(_too_many())
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise ParseError(_too_deep())
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)


def _number_error(text: str, exc: ValueError) -> ParseError:
    """Python refuses to read integers of more than ``sys.get_int_max_str_digits()`` digits."""
    limit = sys.get_int_max_str_digits()
    found = re.search(rf"\d{{{limit + 1},}}", text)
    if found is None:
        return ParseError(str(exc))
    line = text.count("\n", 0, found.start()) + 1
    return ParseError(f"a number of {len(found.group()):,} digits (at most {limit:,})", line=line)


# -- YAML -----------------------------------------------------------------------------------


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing deep nesting and many nodes while it composes.

    The composer recurses once per level, so the depth is checked before it goes deeper.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        self._nodes += 1
        if self._nodes > MAX_VALUES:
            raise ParseError(_too_many(), line=event.start_mark.line + 1)
        nests = isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent)
        self._depth += nests
        try:
            if self._depth > MAX_DEPTH:
                raise ParseError(_too_deep(), line=event.start_mark.line + 1)
            node: yaml.Node | None = Composer.compose_node(self, parent, index)
            return node
        finally:
            self._depth -= nests


def _parse_yaml(text: str) -> tuple[Any, Lines]:
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text)  # it checks that every character is printable
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _check_expansion(node)
        lines: Lines = {}
        _yaml_lines(node, (), lines, set())
        return loader.construct_document(node), lines
    except yaml.YAMLError as exc:
        words, line = yaml_errors.explain(exc, text)  # plain words, at the line to fix
        raise ParseError(f"invalid YAML: {words}", line=line) from None
    except ValueError as exc:
        if isinstance(exc, ParseError):
            raise
        # a 5,000-digit integer, a timestamp such as 2024-13-45
        error = _number_error(text, exc)
        raise ParseError(f"invalid YAML: {error.message}", line=error.line) from None
    finally:
        if loader is not None:
            loader.dispose()


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph whose aliases expand to more than ``MAX_VALUES`` values, or that
    contains itself (``&a [*a]``), without expanding it: each node's size is counted once."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise ParseError("an alias refers to its own anchor", line=node.start_mark.line + 1)
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        open_nodes.discard(key)
        if total > MAX_VALUES:
            raise ParseError(_too_many(), line=node.start_mark.line + 1)
        sizes[key] = total
        return total

    size(root)


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _yaml_lines(node: yaml.Node, path: tuple[str, ...], out: Lines, seen: set[int]) -> None:
    """Record the line of every key path; an aliased node is walked once, where it is defined,
    so the map never grows with the aliases. Duplicate keys in one mapping are errors."""
    out[path] = node.start_mark.line + 1
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_TAG:
                if (key.tag, key.value) in first:
                    raise _duplicate(key.value, first[(key.tag, key.value)], line, path)
                first[(key.tag, key.value)] = line
            child = (*path, str(key.value))
            _yaml_lines(value, child, out, seen)
            out[child] = line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _yaml_lines(item, (*path, str(i)), out, seen)


def _duplicate(key: str, first: int, again: int, path: tuple[str, ...]) -> ParseError:
    where = f"twice on line {again}" if first == again else f"lines {first} and {again}"
    return ParseError(
        f"duplicate key {key!r} ({where}); keep one of them",
        line=again,
        field=".".join((*path, key)),
    )


# -- TOML and JSON --------------------------------------------------------------------------


def _parse_toml(text: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParseError(f"invalid TOML: {exc}") from None
    except RecursionError:
        raise ParseError(_too_deep()) from None
    except ValueError as exc:
        error = _number_error(text, exc)
        raise ParseError(f"invalid TOML: {error.message}", line=error.line) from None


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    except RecursionError:
        raise ParseError(_too_deep()) from None
    except ValueError as exc:
        error = _number_error(text, exc)
        raise ParseError(f"invalid JSON: {error.message}", line=error.line) from None


# Strings, punctuation, other scalars (numbers, true, false, null) and line ends of valid JSON.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+|\n')


@dataclass
class _Container:
    """A JSON object or array being read: where it is, and its current key or index."""

    path: tuple[str, ...]
    is_object: bool
    key: str = ""
    index: int = 0
    seen: dict[str, int] = field(default_factory=dict)  # key -> line, for duplicates

    def child(self) -> tuple[str, ...]:
        return (*self.path, self.key if self.is_object else str(self.index))


def _json_lines(text: str) -> Lines:
    """The line of every key path of valid JSON ``text``; duplicate keys in an object are
    errors. Iterative: the depth was checked on the parsed data before."""
    out: Lines = {}
    stack: list[_Container] = []
    expect_key = False
    line = 1
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        top = stack[-1] if stack else None
        if token == "\n":
            line += 1
        elif token in ("}", "]"):
            stack.pop()
        elif token == ",":
            if top is not None and top.is_object:
                expect_key = True
            elif top is not None:
                top.index += 1
        elif top is not None and top.is_object and expect_key:
            key = json.loads(token)
            if key in top.seen:
                raise _duplicate(key, top.seen[key], line, top.path)
            top.seen[key] = line
            top.key = key
            out[top.child()] = line
            expect_key = False
        elif token != ":":
            path = () if top is None else top.child()
            if top is not None and not top.is_object:
                out[path] = line
            if token in ("{", "["):
                stack.append(_Container(path, is_object=token == "{"))
                expect_key = token == "{"
    return out
