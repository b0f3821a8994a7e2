"""Helpers shared by the commands: settings with a readable failure."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.console import Console

from nudge.settings import ConfigError, Settings, load_settings

console = Console()
errors = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


def settings_or_exit(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        raise fail(str(exc)) from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise fail(f"invalid configuration: {problems}") from exc
