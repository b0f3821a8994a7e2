"""Bounds on JSON and YAML read from outside (request bodies, sequence files).

Without them a hostile document is a 500, not a 4xx: deep nesting raises RecursionError (in the
parser, or later in whatever walks the result), an integer over 4,300 digits makes `int()` raise
ValueError, and `1e400` becomes an infinity that json.dumps writes as `Infinity`, which
PostgreSQL's JSON rejects. Every problem is a `DocumentError` whose message says what is wrong.
"""

from __future__ import annotations

import json
import math
from typing import Any

import yaml

MAX_DEPTH = 64  # arrays/objects inside each other; real bodies and sequence files need under 10
MAX_INT_DIGITS = 100
MAX_YAML_NODES = 100_000  # counted with aliases expanded, so `&a [*b, *b, ...]` chains stay small


class DocumentError(ValueError):
    pass


def _too_deep() -> DocumentError:
    return DocumentError(f"nested deeper than {MAX_DEPTH} levels")


def _int(text: str) -> int:
    if len(text.lstrip("+-")) > MAX_INT_DIGITS:
        raise DocumentError(f"an integer has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise DocumentError(f"the number {text[:30]} is out of range")
    return value


def _constant(name: str) -> Any:
    raise DocumentError(f"{name} is not a JSON number")


def loads_json(raw: bytes | str) -> Any:
    """Parse JSON (UTF-8) within the bounds above."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except UnicodeDecodeError as exc:
        raise DocumentError("not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise DocumentError(f"not valid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})") from exc
    except RecursionError as exc:  # the C parser gives up before MAX_DEPTH only on a nearly full stack
        raise _too_deep() from exc
    _check_depth(value)
    return value


def _check_depth(value: Any) -> None:
    """Iterative, so checking a deep value cannot itself recurse too deeply."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > MAX_DEPTH:
            raise _too_deep()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


_INT_TAG = "tag:yaml.org,2002:int"


def compose_yaml(text: str) -> yaml.Node | None:
    """The composed tree of one YAML (or JSON) document, checked against the bounds above.

    Depth is measured on the parser's events first: the composer and constructor recurse once per
    level, so they only ever see a document already known to be shallow."""
    depth = 0
    # libyaml when present: PyYAML's own scanner is quadratic in flow depth (`[[[[...` of 5,000
    # levels takes seconds, holding the GIL) before the first event can stop it.
    for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark is not None else "?"
                raise DocumentError(f"line {line}: {_too_deep()}")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    _check_scalars(root)
    return root


def _check_scalars(root: yaml.Node | None) -> None:
    """Integers `construct` would fail on, with their line. (Floats never fail there: `.inf` or an
    overflowing `1e400` reach the models, whose bounds name the field.)"""
    stack = [root] if root is not None else []
    seen = 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_YAML_NODES:
            raise DocumentError(f"more than {MAX_YAML_NODES} values once aliases are expanded")
        if isinstance(node, yaml.ScalarNode) and node.tag == _INT_TAG:
            try:
                _int(node.value.replace("_", ""))
            except DocumentError as exc:
                raise DocumentError(f"line {node.start_mark.line + 1}: {exc}") from exc
            except ValueError:
                pass  # 0x.., 0o.., sexagesimal: the constructor reads those, and they are short
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))


def construct_yaml(root: yaml.Node | None) -> Any:
    """The Python value of a tree from `compose_yaml` (None for an empty document)."""
    if root is None:
        return None
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(root)
    finally:
        loader.dispose()
