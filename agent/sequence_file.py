"""Reading a sequence from YAML or JSON text, with errors that name the field and the line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from agent.channels import CHANNELS
from agent.profile import BusinessProfile
from agent.sequence import AUTHORING, Sequence
from nudge.documents import DocumentError, compose_yaml, construct_yaml

MAX_SEQUENCE_BYTES = 200_000


class SequenceError(ValueError):
    """Every problem found, one per line, each naming the field (and the line when known)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _locate(node: yaml.Node | None, path: tuple[Any, ...]) -> int | None:
    """1-based line of the node at `path` in a composed YAML tree (JSON is YAML too)."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            match = next((value for k, value in node.value if getattr(k, "value", None) == str(key)), None)
            if match is None:
                # An unknown key: point at the key itself.
                key_node = next((k for k, _ in node.value if getattr(k, "value", None) == str(key)), None)
                return key_node.start_mark.line + 1 if key_node is not None else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


def describe(errors: list[Any], root: yaml.Node | None, source: str | None) -> list[str]:
    problems = []
    for error in errors:
        path = tuple(error.get("loc", ()))
        field = ".".join(str(p) for p in path) or "sequence"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        line = _locate(root, path) if root is not None else None
        where = f"{source}:{line}: " if source and line else (f"line {line}: " if line else "")
        problems.append(f"{where}{field}: {message}")
    return problems


@dataclass(frozen=True)
class SequenceDocument:
    sequence: Sequence
    profile: dict[str, Any] | None  # the business profile, when the file has a `profile` section


def parse_sequence_text(text: str, source: str | None = None, *, read_only: tuple[str, ...] = ()) -> Sequence:
    """The sequence alone (a `profile` section is checked, then left out)."""
    return parse_sequence_document(text, source, read_only=read_only).sequence


def parse_sequence_document(
    text: str, source: str | None = None, *, read_only: tuple[str, ...] = ()
) -> SequenceDocument:
    """The sequence and, when present, the business profile; every problem in both is reported.
    `read_only`: top-level keys a GET returned that a PUT may send back unchanged."""
    if len(text.encode()) > MAX_SEQUENCE_BYTES:
        raise SequenceError([f"{source or 'sequence'}: larger than {MAX_SEQUENCE_BYTES} bytes"])
    try:
        root = compose_yaml(text)
        data = construct_yaml(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source or 'sequence'}:{mark.line + 1}" if mark is not None else (source or "sequence")
        raise SequenceError([f"{where}: not valid YAML/JSON ({getattr(exc, 'problem', exc)})"]) from exc
    except DocumentError as exc:
        raise SequenceError([f"{source or 'sequence'}: {exc}"]) from exc
    if not isinstance(data, dict):
        raise SequenceError([f"{source or 'sequence'}: expected a mapping with a 'touches' list"])
    for key in read_only:
        data.pop(key, None)
    problems: list[str] = []
    profile: dict[str, Any] | None = None
    if "profile" in data:
        try:
            profile = BusinessProfile.model_validate(data.pop("profile")).model_dump(exclude_unset=True)
        except ValidationError as exc:
            errors = [{**error, "loc": ("profile", *error["loc"])} for error in exc.errors()]
            problems += describe(errors, root, source)
    try:
        sequence = Sequence.model_validate(data, context=AUTHORING)
    except ValidationError as exc:
        problems += describe(exc.errors(), root, source)
    if problems:
        raise SequenceError(problems)
    return SequenceDocument(sequence, profile)


def channel_problems(sequence: Sequence, configured: dict[str, bool]) -> list[str]:
    """Touches that name a channel the business cannot send on (no sender number/address)."""
    setting = {channel: f"{channel}_from" for channel in CHANNELS}
    problems = []
    for index, touch in enumerate(sequence.touches):
        for position, channel in enumerate(touch.channels):
            if not configured.get(channel):
                problems.append(
                    f"touches.{index}.channels.{position}: the business has no {channel} sender "
                    f"(set {setting[channel]} with PATCH /v1/business, or take {channel} out of this touch)"
                )
        for number, variant in enumerate(touch.variants):
            for position, channel in enumerate(variant.channels or []):
                if not configured.get(channel):
                    problems.append(
                        f"touches.{index}.variants.{number}.channels.{position}: the business has no {channel} "
                        f"sender (set {setting[channel]} with PATCH /v1/business, or take {channel} out of this "
                        "variant)"
                    )
    return problems
