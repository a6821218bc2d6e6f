"""Structured logs through structlog: JSON lines for machines, readable lines on a terminal.
Every line carries the request id of the request (or socket event) that wrote it. The stdlib's
loggers (ours, uvicorn, arq, Litestar, SQLAlchemy) go through the same processors."""

import logging
import sys
from contextvars import ContextVar

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def add_request_id(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """The id of the request being served, if any (set by app.kit.http and realtime)."""
    request_id = request_id_var.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    return event_dict


#: What every line gets, whether a stdlib logger or a structlog one wrote it.
SHARED_PROCESSORS: list[Processor] = [
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.contextvars.merge_contextvars,
    add_request_id,
]


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


def formatter(as_json: bool, colors: bool = False) -> structlog.stdlib.ProcessorFormatter:
    """Renders any record: one JSON object a line (``message``, ``level``, ``logger``,
    ``time``, ``request_id``, the record's extra fields, ``exception``), or a readable line."""
    renderer: list[Processor]
    if as_json:
        renderer = [
            structlog.processors.format_exc_info,
            structlog.processors.EventRenamer("message"),
            structlog.processors.JSONRenderer(default=str),
        ]
    else:
        renderer = [
            structlog.dev.ConsoleRenderer(
                colors=colors,
                timestamp_key="time",
                # A plain traceback: a fancy one would print local variables (tokens, secrets).
                exception_formatter=structlog.dev.plain_traceback,
            )
        ]
    return structlog.stdlib.ProcessorFormatter(
        # A stdlib record's ``extra={...}`` fields become the line's fields.
        foreign_pre_chain=[*SHARED_PROCESSORS, structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
    )


def configure_logging(level: str = "INFO", as_json: bool | None = None) -> None:
    """Send every log line to stderr. ``as_json`` None: JSON unless stderr is a terminal."""
    terminal = sys.stderr.isatty()
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(not terminal if as_json is None else as_json, terminal))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
    for name in ("uvicorn", "uvicorn.error", "arq", "litestar", "sqlalchemy"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    jobs = logging.getLogger("arq.worker")
    if not any(isinstance(f, QuietJobs) for f in jobs.filters):
        jobs.addFilter(QuietJobs())
