"""Structured JSON logs, each line carrying the request id of the request that wrote it."""

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


# arq's lines (arq.worker, 0.28): "→" when a job starts, "←" with its result when it ends.
_JOB_STARTED = "%6.2fs → "
_JOB_FINISHED = "%6.2fs ← "
_HEALTH = "recording health"
#: What a job's ``repr(result)`` reads when it did nothing (a sweep that found no work).
_NOTHING_DONE = frozenset({"", "0", "None", "False", "[]", "{}", "()"})


class QuietJobs(logging.Filter):
    """One line per real event from the worker. arq writes two INFO lines per job run and one
    per health record; the pool-lock cron runs every second, so that was most of the log. The
    start line and health records move to DEBUG; the end line stays at INFO (with the result)
    unless the job is a cron that did nothing (returned 0 or None), which moves to DEBUG too.
    Retries, failures and warnings are untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not isinstance(record.msg, str):
            return True
        if record.msg.startswith((_JOB_STARTED, _HEALTH)) or self._idle_cron(record):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True

    @staticmethod
    def _idle_cron(record: logging.LogRecord) -> bool:
        if not record.msg.startswith(_JOB_FINISHED) or not isinstance(record.args, tuple):
            return False
        _, ref, result = (*record.args, None, None, None)[:3]
        # A cron job's ref is "<job id>:<function>", and a cron's function is "cron:<name>".
        return "cron:" in str(ref) and str(result) in _NOTHING_DONE


def configure_logging(level: str = "INFO", as_json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if as_json else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
    for name in ("uvicorn", "uvicorn.error", "arq", "litestar"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    jobs = logging.getLogger("arq.worker")
    if not any(isinstance(f, QuietJobs) for f in jobs.filters):
        jobs.addFilter(QuietJobs())
