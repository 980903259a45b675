"""gunicorn settings for production (``make serve``; gunicorn reads this file from the working
directory by itself). Everything comes from the environment; flags on the command line win.

    gunicorn marketplace.wsgi

Threads (gthread) because pages wait on PostgreSQL and sellers' servers more than they compute.
Each process opens its own connections after the fork (no preload), and is replaced after about
``GUNICORN_MAX_REQUESTS`` requests, at different times thanks to the jitter.
"""

import logging
import multiprocessing
import os
import sys

from gunicorn import glogging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from marketplace.core.logging import JsonFormatter, PlainFormatter


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = os.environ.get("BIND") or f"0.0.0.0:{os.environ.get('PORT') or 8000}"
workers = _env_int("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1)
worker_class = "gthread"
threads = _env_int("GUNICORN_THREADS", 4)
timeout = _env_int("GUNICORN_TIMEOUT", 30)  # a request running longer than this is killed
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)  # behind a proxy that keeps connections open
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 100)
preload_app = False
# Heartbeat files in memory, not on a disk that may stall (containers mount /tmp on overlayfs).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# gunicorn's control socket has one default path per user, which two servers on a host would share.
control_socket_disable = True
# Only the proxy in front may say the request came over https (X-Forwarded-Proto).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"

# As in settings.py: plain with DEBUG on (the default), JSON with it off.
_debug = os.environ.get("DEBUG", "true").lower() in ("true", "on", "ok", "y", "yes", "1")
LOG_FORMAT = os.environ.get("LOG_FORMAT") or ("plain" if _debug else "json")
LOG_LEVEL = (os.environ.get("LOG_LEVEL") or "INFO").upper()
loglevel = LOG_LEVEL.lower()
errorlog = "-"
# One access line per request on stdout; INFO records, so LOG_LEVEL=WARNING turns them off too.
accesslog = "-" if logging.getLevelName(LOG_LEVEL) in (logging.DEBUG, logging.INFO) else None
# Plain format: Apache's combined format plus the request id.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms %({x-request-id}o)s'


class StructuredLogger(glogging.Logger):
    """gunicorn's logger writing the platform's format; JSON access lines carry the request's fields."""

    def setup(self, cfg):
        super().setup(cfg)
        formatter = JsonFormatter() if LOG_FORMAT == "json" else PlainFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if log is self.error_log or LOG_FORMAT == "json":
                    handler.setFormatter(formatter)

    def access(self, resp, req, environ, request_time):
        if LOG_FORMAT != "json":
            return super().access(resp, req, environ, request_time)
        if not self.access_log_enabled:
            return None
        status = str(resp.status).split(None, 1)[0]
        headers = dict((k.lower(), v) for k, v in resp.headers)
        fields = {
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING") or None,
            "status": int(status) if status.isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "remote_addr": environ.get("HTTP_X_FORWARDED_FOR") or environ.get("REMOTE_ADDR"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "request_id": headers.get("x-request-id"),
        }
        try:
            self.access_log.info("%s %s %s", fields["method"], fields["path"], status, extra=fields)
        except Exception:
            self.exception("access log failed")
        return None


logger_class = StructuredLogger
