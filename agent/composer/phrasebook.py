"""Phrasings per message kind and language, loaded from the YAML files beside this module."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PHRASES_DIR = Path(__file__).parent / "phrases"
_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class Phrase:
    id: str
    text: str
    subject: str | None
    placeholders: frozenset[str]
    channels: frozenset[str] | None  # None: any channel


class PhrasebookError(ValueError):
    pass


def placeholders_of(*texts: str | None) -> frozenset[str]:
    names: set[str] = set()
    for text in texts:
        if text:
            names.update(field for _, field, _, _ in _FORMATTER.parse(text) if field)
    return frozenset(names)


class Phrasebook:
    def __init__(self, phrases: dict[tuple[str, str], tuple[Phrase, ...]]) -> None:
        self._phrases = phrases

    def get(self, kind: str, language: str) -> tuple[Phrase, ...]:
        """Phrases for the language ('pt-BR' → 'pt'); English only when the language has none."""
        base = language.lower().replace("_", "-").split("-")[0]
        return self._phrases.get((kind, base)) or self._phrases.get((kind, "en"), ())

    def kinds(self, language: str) -> set[str]:
        return {kind for kind, lang in self._phrases if lang == language}

    def languages(self) -> set[str]:
        return {lang for _, lang in self._phrases}


def _parse_language(language: str, data: Any, source: str) -> dict[tuple[str, str], tuple[Phrase, ...]]:
    if not isinstance(data, dict):
        raise PhrasebookError(f"{source}: top level must map message kinds to lists of phrases")
    parsed: dict[tuple[str, str], tuple[Phrase, ...]] = {}
    seen_ids: set[str] = set()
    for kind, items in data.items():
        if not isinstance(items, list) or not items:
            raise PhrasebookError(f"{source}: '{kind}' must be a non-empty list")
        phrases = []
        for item in items:
            if not isinstance(item, dict) or "id" not in item or "text" not in item:
                raise PhrasebookError(f"{source}: each phrase of '{kind}' needs an id and a text")
            unknown = set(item) - {"id", "text", "subject", "channels"}
            if unknown:
                raise PhrasebookError(f"{source}: phrase {kind}.{item['id']} has unknown keys {sorted(unknown)}")
            channels_value = item.get("channels")
            if channels_value is not None and (
                not isinstance(channels_value, list) or not set(channels_value) <= {"whatsapp", "sms", "email"}
            ):
                raise PhrasebookError(f"{source}: {kind}.{item['id']}: channels must be a list of whatsapp/sms/email")
            phrase_id = f"{language}.{kind}.{item['id']}"
            if phrase_id in seen_ids:
                raise PhrasebookError(f"{source}: duplicate phrase id {item['id']} in '{kind}'")
            seen_ids.add(phrase_id)
            text = re.sub(r"[ \t]+\n", "\n", str(item["text"]).strip())
            subject = item.get("subject")
            channels = item.get("channels")
            phrases.append(
                Phrase(
                    id=phrase_id,
                    text=text,
                    subject=str(subject) if subject else None,
                    placeholders=placeholders_of(text, subject),
                    channels=frozenset(channels) if channels else None,
                )
            )
        parsed[(str(kind), language)] = tuple(phrases)
    return parsed


def load_phrasebook_from(directory: Path) -> Phrasebook:
    phrases: dict[tuple[str, str], tuple[Phrase, ...]] = {}
    for path in sorted(directory.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            phrases.update(_parse_language(path.stem, yaml.safe_load(handle), path.name))
    if not phrases:
        raise PhrasebookError(f"no phrase files found in {directory}")
    return Phrasebook(phrases)


@lru_cache(maxsize=1)
def load_phrasebook() -> Phrasebook:
    """The packaged phrasebook, parsed once per process."""
    return load_phrasebook_from(PHRASES_DIR)
