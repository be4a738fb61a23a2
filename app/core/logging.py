"""Structured JSON logs, one object per line. Request bodies are never logged, so secrets in
them (passwords, token secrets) cannot leak through a log line."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson

from app.core.middleware import access_fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **access_fields(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The access log is a line per request; at INFO it would dominate a benchmark's cost.
    logging.getLogger("kplane.access").setLevel(max(logging.getLevelName(level), logging.INFO))
