"""Structured logs: one line per record, with the request id of the request being served, or of the
request that queued the task being run.

``RequestIdMiddleware`` (marketplace/core/middleware.py) binds the id for a request; the Celery
signals below carry it in a task message's headers (``request_id``) and bind it again in the worker
while the task runs. Eager tasks (development, tests) run inside the request and simply keep it.

``JsonFormatter`` (``LOG_FORMAT=json``, the default with ``DEBUG`` off) writes ``time``, ``level``,
``logger``, ``message``, ``request_id``, ``user_id``, ``path`` (and ``task``, ``task_id`` in a
worker, ``exc`` with a traceback, and any ``extra=`` fields); ``PlainFormatter`` writes the same
context at the end of a readable line.

Imported by settings' LOGGING, by the Celery app and by gunicorn.conf.py: Django's settings are
never read at import time.
"""

import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun

_context: ContextVar[dict[str, Any] | None] = ContextVar("marketplace_log_context", default=None)

# Header of a task message that carries the id; also the attribute of ``task.request`` in a worker.
TASK_HEADER = "request_id"
# An id a client or proxy sends in X-Request-ID is kept when it looks like one: a short token.
_SANE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")

logger = logging.getLogger("marketplace.tasks")


def new_request_id(candidate: str | None = None) -> str:
    """``candidate`` when it is a sane token (X-Request-ID from a proxy), else a fresh uuid4 hex."""
    if candidate and _SANE_ID.match(candidate):
        return candidate
    return uuid.uuid4().hex


def current() -> dict[str, Any]:
    return _context.get() or {}


def get_request_id() -> str | None:
    return current().get("request_id")


def bind(**values: Any) -> Token:
    """Add ``values`` to the log context; give the token back to ``unbind``."""
    return _context.set({**current(), **values})


def unbind(token: Token) -> None:
    try:
        _context.reset(token)
    except ValueError:  # set in another context (a thread that outlived it): start clean
        _context.set(None)


@contextmanager
def log_context(**values: Any) -> Iterator[None]:
    token = bind(**values)
    try:
        yield
    finally:
        unbind(token)


def _user_id(request) -> int | None:
    """The signed-in user's id when the request has already loaded its user; never a query (a
    query here would log, and logging is what called us)."""
    user = getattr(request, "__dict__", {}).get("user")
    wrapped = getattr(user, "_wrapped", user)  # a SimpleLazyObject not evaluated yet holds `empty`
    if not getattr(wrapped, "is_authenticated", False):
        return None
    return getattr(wrapped, "pk", None)


# LogRecord attributes that are not ``extra=`` fields.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's context: from the log context, else from the ``request`` Django attaches to
    ``django.request`` records (logged after the middleware has returned)."""
    ctx = current()
    request = ctx.get("request") or getattr(record, "request", None)
    fields = {
        "request_id": getattr(record, "request_id", None)
        or ctx.get("request_id")
        or getattr(request, "request_id", None),
        "user_id": _user_id(request) if request is not None else None,
        "path": getattr(request, "path", None),
    }
    for key in ("task", "task_id"):
        if key in ctx:
            fields[key] = ctx[key]
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(_fields(record))
        for key, value in record.__dict__.items():  # extra= fields, which may also give the context's
            if key not in _RESERVED and data.get(key) is None:
                data[key] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exc"] = record.exc_text
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """``time LEVEL logger message [request_id=... user_id=... path=...]``: for people."""

    default_format = "%(asctime)s %(levelname)s %(name)s %(message)s"

    def __init__(self, fmt: str | None = None, *args, **kwargs):
        super().__init__(fmt or self.default_format, *args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(f"{k}={v}" for k, v in _fields(record).items() if v is not None)
        if not context:
            return line
        first, newline, rest = line.partition("\n")  # keep a traceback below the context
        return f"{first} [{context}]{newline}{rest}"


# Celery: the id travels in the task message's headers and is bound while the task runs.
_task_tokens: dict[str, tuple[Token, float]] = {}


@before_task_publish.connect(dispatch_uid="marketplace.log.publish")
def add_request_id_header(headers: dict | None = None, **kwargs) -> None:
    request_id = get_request_id()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


def _request_id_of(task) -> str | None:
    request = getattr(task, "request", None)
    if request is None:
        return None
    return getattr(request, TASK_HEADER, None) or (getattr(request, "headers", None) or {}).get(TASK_HEADER)


@task_prerun.connect(dispatch_uid="marketplace.log.prerun")
def bind_task_context(task_id: str | None = None, task=None, **kwargs) -> None:
    """In a worker the id comes from the message; an eager task keeps the one already bound."""
    values = {"task": getattr(task, "name", None), "task_id": task_id}
    if request_id := _request_id_of(task):
        values["request_id"] = request_id
    _task_tokens[task_id or ""] = (bind(**values), time.monotonic())


@task_postrun.connect(dispatch_uid="marketplace.log.postrun")
def unbind_task_context(task_id: str | None = None, task=None, state: str | None = None, **kwargs) -> None:
    token, started = _task_tokens.pop(task_id or "", (None, None))
    if started is not None:
        logger.debug("task %s %s in %.3fs", getattr(task, "name", "?"), state, time.monotonic() - started)
    if token is not None:
        unbind(token)
