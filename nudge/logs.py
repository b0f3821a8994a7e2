"""Logging for the long-running commands, configured in one place: `nudge serve`, `nudge worker`
and uvicorn (its own worker processes too) all apply `logging_config`.

Quiet by default: our INFO lines, while libraries that narrate every step (APScheduler logs each
one-second tick, httpx each provider call) speak only at WARNING unless DEBUG is asked for.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any, Literal, get_args

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LogFormat = Literal["text", "json"]
LEVELS: tuple[LogLevel, ...] = get_args(LogLevel)
CHATTY = ("apscheduler", "httpx", "httpcore", "chromadb", "alembic")


class SkippedTickFilter(logging.Filter):
    """Drops APScheduler's warning that a tick was skipped because the previous one still runs:
    the dispatcher tick is max_instances=1 on purpose (scheduler/service.py), so under load this
    would be a line per second saying that all is as designed."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_config(level: str, fmt: LogFormat) -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: everything to stderr through the root logger."""
    level = level.upper()
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    chatty = level if level == "DEBUG" else max(level, "WARNING", key=LEVELS.index)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"nudge": formatter},
        "filters": {"skipped_tick": {"()": f"{__name__}.SkippedTickFilter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "nudge", "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            # uvicorn's loggers propagate to the root instead of keeping handlers of their own.
            **{name: {"level": level, "handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.access")},
            **{name: {"level": chatty} for name in CHATTY},
            "apscheduler.scheduler": {"level": chatty, "filters": ["skipped_tick"]},
        },
    }


def configure_logging(level: str, fmt: LogFormat = "text") -> dict[str, Any]:
    """Apply the configuration to this process and return it (uvicorn takes it for its workers)."""
    config = logging_config(level, fmt)
    logging.config.dictConfig(config)
    return config
