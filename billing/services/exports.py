"""Exports of a statement's lines to CSV or XLSX, produced in the background and kept a few days.

The rows come from the database in keyset batches (memory does not grow with the statement):
on PostgreSQL, CSV batches stream through ``COPY (...) TO STDOUT``; XLSX rows go through
openpyxl's write-only workbook. Progress is saved between batches for the page to show.

The rows are read from the read replica when there is one (``reporting_db``): a generated
statement's entries never change, so replication lag cannot show a different file. A run holds a
PostgreSQL advisory lock on its job, so a redelivered task or the sweep never writes the same file
at the same time; a worker that dies releases it with its connection, and the sweep
(``exports_resume``) runs the job again.
"""

import csv
import io
import os
from contextlib import contextmanager
from datetime import datetime

import xlsxwriter
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from marketplace.accounts.models import User
from marketplace.core.db_router import reporting_db
from marketplace.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed, as_id
from marketplace.core.resilience import send_after_commit
from marketplace.core.uploads import private_storage

from ..models import BillingSettings, ExportJob, Statement
from ..selectors import visible_to_seller

BATCH = 50_000
EXPORT_LOCKS = 0x6578  # advisory lock namespace of export jobs ("ex")

# (name, SQL expression, spreadsheet cell type: number or string)
COLUMNS = [
    ("entry", "e.id", "n"),
    ("kind", "e.kind", "s"),
    ("order", "o.number", "s"),
    ("order_line", "e.order_line_id", "n"),
    ("product", "p.name_zh", "s"),
    ("customer", "b.name", "s"),
    ("occurred_at", "{occurred}", "s"),
    ("posted_at", "{posted}", "s"),
    ("gross", "e.gross", "n"),
    ("fee_rate", "e.fee_rate", "n"),
    ("fee", "e.fee", "n"),
    ("net", "e.net", "n"),
    ("reason", "e.reason", "s"),
]


def _header() -> list[str]:
    labels = {
        "entry": _("Entry"),
        "kind": _("Kind"),
        "order": _("Order number"),
        "order_line": _("Order line"),
        "product": _("Product"),
        "customer": _("Customer"),
        "occurred_at": _("Occurred (Beijing time)"),
        "posted_at": _("Posted (Beijing time)"),
        "gross": _("Gross"),
        "fee_rate": _("Fee rate"),
        "fee": _("Fee"),
        "net": _("Net"),
        "reason": _("Reason"),
    }
    return [str(labels[name]) for name, _expr, _type in COLUMNS]


def _local_time(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"to_char({column} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS')"
    return f"strftime('%%Y-%%m-%%d %%H:%%M:%%S', {column}, '+8 hours')"


def rows_sql(*, numbers_as_float: bool = False) -> str:
    """One batch of a statement's lines, in entry order, after a given entry id. For a spreadsheet,
    amounts come as floating point (what a spreadsheet stores anyway)."""

    def column(expr, kind):
        expr = expr.format(occurred=_local_time("e.occurred_at"), posted=_local_time("e.posted_at"))
        if numbers_as_float and kind == "n" and expr in ("e.gross", "e.fee_rate", "e.fee", "e.net"):
            return f"CAST({expr} AS DOUBLE PRECISION)"
        return expr

    select = ", ".join(column(expr, kind) for _n, expr, kind in COLUMNS)
    # Built from the constants above only; the values travel as parameters.
    return (
        f"SELECT {select} FROM billing_ledgerentry e "  # noqa: S608
        "LEFT JOIN orders_orderline l ON l.id = e.order_line_id "
        "LEFT JOIN orders_order o ON o.id = l.order_id "
        "LEFT JOIN catalog_product p ON p.id = l.product_id "
        "LEFT JOIN accounts_buyer b ON b.id = o.buyer_id "
        "WHERE e.period = %(period)s AND e.seller_id = %(seller)s AND e.trade_mode = %(mode)s AND e.id > %(after)s "
        "ORDER BY e.id LIMIT %(limit)s"
    )


def carried_rows(statement: Statement) -> list[list]:
    """Statements carried into this one appear as one line each, after the entries."""
    return [
        [
            "",
            "carried_over",
            "",
            "",
            _("Carried over from %(period)s") % {"period": s.period.strftime("%Y-%m")},
            "",
            "",
            "",
            "",
            "",
            "",
            s.net_payable,
            "",
        ]
        for s in statement.carried_from.order_by("period")
    ]


def export_request(*, actor: User, statement_id, fmt: str, now: datetime | None = None) -> ExportJob:
    """Queue an export of one of the actor's seller's statements (administrators and finance)."""
    now = now or timezone.now()
    if fmt not in ExportJob.Format.values:
        raise ValidationFailed(_("Choose CSV or XLSX."), field_errors={"format": [_("Choose CSV or XLSX.")]})
    membership = getattr(actor, "seller_membership", None)
    if membership is None:
        raise NotFound(_("No such statement."))
    if membership.role not in ("admin", "finance"):
        raise NotAllowed(_("Only the seller's administrators and finance staff can export bills."))
    statement = visible_to_seller(membership.seller_id).filter(pk=as_id(statement_id, _("No such statement."))).first()
    if statement is None:
        raise NotFound(_("No such statement."))
    if ExportJob.objects.filter(
        statement=statement, format=fmt, status__in=[ExportJob.Status.PENDING, ExportJob.Status.RUNNING]
    ).exists():
        raise Conflict(_("This export is already being produced."))
    from ..tasks import run_export

    job = ExportJob.objects.create(
        statement=statement,
        seller_id=statement.seller_id,
        requested_by=actor,
        format=fmt,
        rows_total=statement.line_count + statement.carried_from.count(),
        created_at=now,
        expires_at=now + timezone.timedelta(days=BillingSettings.current().export_ttl_days),
    )
    send_after_commit(lambda: run_export.delay(job.pk))
    return job


def _claim(job_id: int) -> ExportJob | None:
    with transaction.atomic():
        job = (
            ExportJob.objects.select_for_update(skip_locked=True)
            .select_related("statement", "requested_by")
            .filter(pk=job_id, status__in=[ExportJob.Status.PENDING, ExportJob.Status.RUNNING])
            .first()
        )
        if job is None:
            return None
        job.status = ExportJob.Status.RUNNING
        job.rows_done = 0
        job.save(update_fields=["status", "rows_done"])
        return job


def _progress(job: ExportJob, rows: int) -> None:
    ExportJob.objects.filter(pk=job.pk).update(rows_done=rows)


@contextmanager
def _running(job_id: int):
    """True when this process may run the job: no other run holds it. The advisory lock lives on
    the connection, so a worker that dies mid-export lets go of it at once."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [EXPORT_LOCKS, job_id])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held and connection.is_usable():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [EXPORT_LOCKS, job_id])


def export_run(*, job_id: int) -> ExportJob | None:
    """Produce the file. Safe to run again: a finished job is left alone, one being produced by
    another worker too, a broken one redone."""
    with _running(job_id) as mine:
        return _run(job_id) if mine else None


def _run(job_id: int) -> ExportJob | None:
    job = _claim(job_id)
    if job is None:
        return None
    statement = job.statement
    relative = f"exports/{statement.seller_id}/{job.pk}-{statement.period:%Y-%m}-{statement.trade_mode}.{job.format}"
    path = private_storage().path(relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    params = {"period": statement.period, "seller": statement.seller_id, "mode": statement.trade_mode}
    try:
        with translation.override(job.requested_by.language or settings.LANGUAGE_CODE):
            if job.format == ExportJob.Format.CSV:
                rows = _write_csv(path, params, job, statement)
            else:
                rows = _write_xlsx(path, params, job, statement)
    except Exception as exc:
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.DONE,
        rows_done=rows,
        rows_total=rows,
        file_path=relative,
        size=os.path.getsize(path),
        finished_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def _batches(params: dict, *, numbers_as_float: bool = False):
    """Yield lists of rows, BATCH at a time, in entry order."""
    sql = rows_sql(numbers_as_float=numbers_as_float)
    after = 0
    while True:
        with connections[reporting_db()].cursor() as cursor:
            cursor.execute(sql, {**params, "after": after, "limit": BATCH})
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def _write_csv(path: str, params: dict, job: ExportJob, statement: Statement) -> int:
    written = 0
    with open(path, "w", newline="", encoding="utf-8-sig") as out:  # the BOM lets Excel read Chinese
        writer = csv.writer(out, lineterminator="\n")  # the same line ends as COPY
        writer.writerow(_header())
        if connection.vendor == "postgresql":
            written = _copy_csv(out, params, job)
        else:
            for rows in _batches(params):
                writer.writerows(rows)
                written += len(rows)
                _progress(job, written)
        extra = carried_rows(statement)
        writer.writerows(extra)
    return written + len(extra)


def _copy_csv(out: io.TextIOBase, params: dict, job: ExportJob) -> int:
    """Stream batches with COPY; each batch starts after the entry id of the previous one's last row."""
    sql = rows_sql()
    after, written = 0, 0
    with connections[reporting_db()].cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor
        while True:
            query = raw.mogrify(sql, {**params, "after": after, "limit": BATCH})
            buffer = bytearray()
            with raw.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy:
                for chunk in copy:
                    buffer += chunk
            if not buffer:
                return written
            text = buffer.decode("utf-8")
            out.write(text)
            count = text.count("\n") - _quoted_newlines(text)
            written += count
            _progress(job, written)
            if count < BATCH:
                return written
            after = _last_id(text)


def _last_id(text: str) -> int:
    """The entry id of a batch's last row: the first field of the last line that starts a row (a
    newline inside a quoted field, a reason typed on several lines, does not start one)."""
    start = text.rfind("\n", 0, len(text) - 1)  # the batch ends with its last row's newline
    while start != -1 and text.count('"', 0, start) % 2:
        start = text.rfind("\n", 0, start)
    return int(text[start + 1 :].split(",", 1)[0])


def _quoted_newlines(text: str) -> int:
    """Newlines inside quoted fields (a reason with a line break) do not end a row."""
    if '"' not in text:
        return 0
    return sum(row.count("\n") for row in text.split('"')[1::2])


def _write_xlsx(path: str, params: dict, job: ExportJob, statement: Statement) -> int:
    # XlsxWriter's constant-memory mode streams each row to disk as it is written.
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet(statement.period.strftime("%Y-%m"))
    sheet.write_row(0, 0, _header())
    # Typed writes: a tenth faster than letting write_row guess each cell's type.
    writers = [sheet.write_number if kind == "n" else sheet.write_string for _n, _e, kind in COLUMNS]
    written = 0
    for rows in _batches(params, numbers_as_float=True):
        for row in rows:
            written += 1
            for col, (write, value) in enumerate(zip(writers, row, strict=True)):
                if value is not None and value != "":
                    write(written, col, value)
        _progress(job, written)
    extra = carried_rows(statement)
    for offset, row in enumerate(extra, start=1):
        sheet.write_row(written + offset, 0, row)
    book.close()
    return written + len(extra)


def export_file_for(*, actor: User, job_id) -> ExportJob:
    """A finished export of the actor's seller, for download (administrators and finance)."""
    membership = getattr(actor, "seller_membership", None)
    job = (
        ExportJob.objects.filter(pk=as_id(job_id, _("No such export.")), seller_id=membership.seller_id).first()
        if membership
        else None
    )
    if job is None:
        raise NotFound(_("No such export."))
    if membership.role not in ("admin", "finance"):
        raise NotAllowed(_("Only the seller's administrators and finance staff can download bills."))
    if job.status != ExportJob.Status.DONE or job.expires_at <= timezone.now():
        raise Conflict(_("This export is not available (not ready, or expired)."))
    return job


def exports_resume() -> int:
    """The sweep: queue again every export waiting or running that no run holds: its task was lost
    (the broker was down when it was requested) or its worker died. A job whose task is merely
    still queued gets a second one, which finds it done (or held) and does nothing."""
    from ..tasks import run_export

    waiting = ExportJob.objects.filter(status__in=[ExportJob.Status.PENDING, ExportJob.Status.RUNNING])
    resumed = 0
    for pk in waiting.order_by("pk").values_list("pk", flat=True)[:100]:
        with _running(pk) as free:
            if not free:
                continue  # a worker is producing it
        run_export.delay(pk)
        resumed += 1
    return resumed


def exports_purge(*, now: datetime | None = None) -> int:
    """Delete export files past their keeping time."""
    now = now or timezone.now()
    purged = 0
    for job in ExportJob.objects.filter(expires_at__lte=now).exclude(status=ExportJob.Status.EXPIRED):
        if job.file_path and private_storage().exists(job.file_path):
            private_storage().delete(job.file_path)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.EXPIRED, file_path="")
        purged += 1
    return purged
