"""The page cache: a visitor's repeat view of a page is served from the cache until a table the page
read has been written.

The pages people come back to — the seller and buyer centers' main pages, the catalog, the API's
lists — are marked with :func:`page_cache`. The first view renders as usual while every statement
the page sends to the database is watched: the tables it reads are stored with the page, together
with each table's *generation* as it was before the page was rendered. A later view by the same
visitor (session and CSRF cookie, or API token; same language, host, URL and Accept header) is
served from the cache if none of those generations has moved, without loading the user, running
the view or rendering a template.

Every statement any process sends through Django — web, workers, management commands, raw SQL —
passes :func:`_watch`: a write gives its table a new generation (after the commit when it runs in
a transaction; a rolled-back write changes nothing), a statement that is neither a known read nor
a plain INSERT/UPDATE/DELETE moves every page's generation. A page is therefore never served
after a change to what it shows, except for changes made outside Django (by hand in psql: the
entries' lifetime, ``PAGE_CACHE_TIMEOUT`` seconds, bounds those) and in the instant between a
commit and its generation moving. What does not come from the database — the clock ("overdue in
5 minutes") — may lag by that lifetime too.

Not cached: anything but a 200 to a GET, a response that sets a cookie, says ``no-store`` or
``private, no-cache``, or adds a flash message; a request with pending flash messages, an htmx
request, a request whose own connection holds uncommitted writes (it would see data nobody else
sees yet). ``Cache-Control: no-cache`` in the request renders the page afresh (a browser's hard
reload). The response says which it was in ``X-Page-Cache`` (hit, miss, bypass). With the cache
unreachable every view renders (ResilientRedisCache answers nothing).
"""

import hashlib
import re
import secrets
from functools import lru_cache

from django.apps import apps
from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers

ALL = "*"  # the generation every page depends on: moved by writes whose table is not known
_PREFIX = "pagecache:"
_READS = frozenset({"SELECT", "DECLARE", "FETCH", "CLOSE", "SHOW", "EXPLAIN", "SAVEPOINT", "RELEASE", "ROLLBACK",
                    "SET", "BEGIN", "COMMIT", "START", "VALUES"})  # fmt: skip
_TABLES_READ = re.compile(r'\b(?:FROM|JOIN)\s+"?([A-Za-z_][A-Za-z0-9_$]*)', re.IGNORECASE)
_TABLE_WRITTEN = re.compile(
    r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([A-Za-z_][A-Za-z0-9_$]*)"?\s', re.IGNORECASE
)
# Read, but not a dependency: a session's content that matters (who, which CSRF secret) is in the key.
_NOT_DEPENDENCIES = frozenset({"django_session"})
_KEPT_HEADERS = ("X-Request-ID", "X-Page-Cache", "Set-Cookie")
# The tables each view's page read when it was last stored, in this process: fetched with the page.
_last_dependencies: dict[str, tuple[str, ...]] = {}


def page_cache(view=None, *, timeout=None):
    """Mark a view (a function, or a class-based/DRF view class) as one whose pages may be cached,
    for ``timeout`` seconds (default PAGE_CACHE_TIMEOUT, read at each request)."""

    def mark(view):
        view.page_cache = timeout or True
        return view

    return mark(view) if view is not None else mark


def _timeout_of(view_func) -> int:
    """The marked view's entry lifetime; 0 when it is not marked or the page cache is off."""
    mark = getattr(view_func, "page_cache", None)
    if mark is None:  # DRF viewsets and class-based views carry the mark on their class
        mark = getattr(getattr(view_func, "cls", None) or getattr(view_func, "view_class", None), "page_cache", None)
    if not mark or not settings.PAGE_CACHE_TIMEOUT:
        return 0
    return settings.PAGE_CACHE_TIMEOUT if mark is True else mark


def _cache():
    return caches[settings.PAGE_CACHE_ALIAS]


def _generation_key(table: str) -> str:
    return f"{_PREFIX}g:{table}"


@lru_cache(maxsize=1)
def _known_tables() -> tuple[str, ...]:
    tables = {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
    return (*sorted(tables - _NOT_DEPENDENCIES), ALL)


def bump(tables) -> None:
    """Give these tables new generations: every cached page that read one of them is out of date."""
    _cache().set_many({_generation_key(table): secrets.token_hex(8) for table in tables}, timeout=None)


# -- watching the statements -----------------------------------------------------------------------


def install(connection, **kwargs) -> None:
    """connection_created receiver: watch every statement of this connection (first in the chain, so
    that ``connection.execute_wrapper()`` blocks, which pop the last wrapper, leave it in place)."""
    if _watch not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _watch)


def _statement_tables(sql: str) -> tuple[str, tuple[str, ...]]:
    """("read", tables read) or ("write", tables written) of one statement."""
    words = sql.lstrip(" \n\t(").split(None, 1)
    verb = words[0].upper() if words else ""
    if verb in _READS:
        return "read", tuple(table.lower() for table in _TABLES_READ.findall(sql))
    written = _TABLE_WRITTEN.match(sql)
    return "write", ((written.group(1).lower(),) if written else (ALL,))


def _watch(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    connection = context["connection"]
    kind, tables = _statement_tables(sql if isinstance(sql, str) else str(sql))
    if kind == "read":
        reads = getattr(connection, "page_cache_reads", None)
        if reads is not None:
            reads.update(tables)
    elif connection.in_atomic_block:
        _bump_on_commit(connection, tables)
    else:
        bump(tables)  # autocommit: the statement is committed already
    return result


class _OnCommit:
    """The bump a transaction owes at its commit (one per set of tables and savepoint)."""

    def __init__(self, tables):
        self.tables = tables

    def __call__(self):
        bump(self.tables)


def _bump_on_commit(connection, tables) -> None:
    savepoints = tuple(connection.savepoint_ids)
    for sids, func, _robust in connection.run_on_commit:
        if sids == savepoints and isinstance(func, _OnCommit) and func.tables == tables:
            return
    connection.on_commit(_OnCommit(tables), robust=True)


def _uncommitted_writes() -> bool:
    return any(
        isinstance(func, _OnCommit) for c in connections.all(initialized_only=True) for _s, func, _r in c.run_on_commit
    )


# -- serving ----------------------------------------------------------------------------------------


def _key(request) -> str | None:
    """The visitor's cookies and token, language and URL a page is stored under; None when the
    page may not be cached. Who the session belongs to is checked against the entry (_visitor)."""
    cookies = request.COOKIES
    if request.headers.get("HX-Request") or "messages" in cookies:
        return None
    parts = (request.LANGUAGE_CODE, request.scheme, request.get_host(), request.get_full_path(),
             request.headers.get("Accept", ""), request.headers.get("Authorization", ""),
             cookies.get(settings.SESSION_COOKIE_NAME, ""), cookies.get(settings.CSRF_COOKIE_NAME, ""))  # fmt: skip
    return _PREFIX + "p:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _session_cache_key(request) -> str | None:
    """Where a cached_db session keeps its data in the cache (read with the page, in one round trip)."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES or settings.SESSION_CACHE_ALIAS != settings.PAGE_CACHE_ALIAS:
        return None
    if not hasattr(request.session, "cache_key") or not request.session.session_key:
        return None  # a session kept elsewhere, or a cookie that is no session key
    return request.session.cache_key  # cached_db and cache sessions


def _visitor(request, session_data) -> tuple | None:
    """(user id, password hash) of the visitor's session, () without one; None when the session has
    flash messages waiting (the page must be rendered to show them)."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return ()
    if session_data is None:  # not in the cache: the session store reads its database
        session_data = {k: request.session.get(k) for k in ("_auth_user_id", "_auth_user_hash", "_messages")}
    if session_data.get("_messages"):
        return None
    return (session_data.get("_auth_user_id"), session_data.get("_auth_user_hash"))


def _generations(tables) -> dict:
    keys = [_generation_key(t) for t in tables]
    found = _cache().get_many(keys)
    return {table: found.get(key) for table, key in zip(tables, keys, strict=True)}


def _start_generations() -> dict:
    """Every table's generation before a page is rendered; a table that has none is given one."""
    generations = _generations(_known_tables())
    missing = [table for table, generation in generations.items() if generation is None]
    if missing:
        fresh = {table: secrets.token_hex(8) for table in missing}
        _cache().set_many({_generation_key(t): g for t, g in fresh.items()}, timeout=None)
        generations.update(fresh)
    return generations


class PageCacheMiddleware:
    """Serves and stores the pages of views marked with :func:`page_cache` (last in MIDDLEWARE: its
    process_view runs after CSRF's, and a hit still passes every other middleware's response half)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        miss = getattr(request, "_page_cache_miss", None)
        if miss is not None:
            reads, replica = set(), False
            for connection in connections.all(initialized_only=True):
                read = getattr(connection, "page_cache_reads", None) or set()
                # A replica lags behind the commits that moved the generations: not cached.
                replica |= bool(read) and connection.alias != DEFAULT_DB_ALIAS
                reads |= read
                connection.page_cache_reads = None
            stored = not replica and self._store(request, response, *miss, reads)
            response.headers["X-Page-Cache"] = "miss" if stored else "bypass"
        elif getattr(request, "_page_cache_bypass", False):
            response.headers["X-Page-Cache"] = "bypass"
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        timeout = _timeout_of(view_func)
        if not timeout or request.method != "GET":
            return None
        key = _key(request)
        if key is None or _uncommitted_writes():
            request._page_cache_bypass = True
            return None
        reload = "no-cache" in f"{request.headers.get('Cache-Control', '')} {request.headers.get('Pragma', '')}"
        # One round trip for a repeat view: the page, the session and the generations of the tables
        # this view read last time.
        view = f"{view_func.__module__}.{view_func.__qualname__}"
        session_key = _session_cache_key(request)
        tables = _last_dependencies.get(view, ())
        keys = [key, *([session_key] if session_key else []), *(_generation_key(t) for t in tables)]
        found = {} if reload else _cache().get_many(keys)
        visitor = _visitor(request, found.get(session_key) if session_key else None)
        if visitor is None:
            request._page_cache_bypass = True
            return None
        entry = found.get(key)
        if entry is not None and entry["visitor"] == visitor:
            current = {t: found.get(_generation_key(t)) for t in entry["generations"] if t in tables}
            unknown = [t for t in entry["generations"] if t not in current]
            if unknown:
                current |= _generations(unknown)
            if current == entry["generations"]:
                return self._replay(entry)
        generations = _start_generations()
        for connection in connections.all():
            connection.page_cache_reads = set()
        request._page_cache_miss = (key, timeout, generations, view, visitor)
        return None

    @staticmethod
    def _replay(entry):
        response = HttpResponse(entry["body"], status=200)
        for name, value in entry["headers"]:
            response.headers[name] = value
        patch_vary_headers(response, ("Cookie",))  # as the session and CSRF middleware say of a render
        response.headers["X-Page-Cache"] = "hit"
        return response

    def _store(self, request, response, key, timeout, generations, view, visitor, reads) -> bool:
        cache_control = response.get("Cache-Control", "")
        storage = getattr(request, "_messages", None)
        if (
            response.status_code != 200
            or response.streaming
            or response.cookies
            # Cookies the outer middleware will set: a new CSRF secret (not the renewal of the
            # visitor's own that every page with a form asks for), a changed session.
            or request.META.get("CSRF_COOKIE", "") != request.COOKIES.get(settings.CSRF_COOKIE_NAME, "")
            or getattr(getattr(request, "session", None), "modified", False)
            or "no-store" in cache_control
            or "private, no-cache" in cache_control
            or (storage is not None and storage._queued_messages)
            or _uncommitted_writes()
        ):
            return False
        reads -= _NOT_DEPENDENCIES
        if not reads <= generations.keys():  # a table Django does not know: nothing to watch it by
            return False
        depends = {table: generations[table] for table in reads} | {ALL: generations[ALL]}
        headers = [(name, value) for name, value in response.items() if name not in _KEPT_HEADERS]
        entry = {"visitor": visitor, "generations": depends, "headers": headers, "body": response.content}
        _cache().set(key, entry, timeout=timeout)
        _last_dependencies[view] = tuple(depends)
        return True
