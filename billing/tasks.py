from celery import shared_task

from .services import ledger_settle_due, statements_generate_due, statements_remind_invoices


@shared_task(ignore_result=True)
def settle_due_lines() -> int:
    return ledger_settle_due()


@shared_task(ignore_result=True)
def generate_due_statements() -> dict | None:
    return statements_generate_due()


@shared_task(ignore_result=True)
def generate_statements(period: str) -> dict:
    """One month's statements ("YYYY-MM"), as ``manage.py generate_statements`` does, in a worker.
    Idempotent: a retry, a redelivery or a second worker adds nothing."""
    from .services import parse_period, statements_generate

    return statements_generate(period=parse_period(period))


@shared_task(ignore_result=True)
def remind_invoice_deadlines() -> int:
    return statements_remind_invoices()


@shared_task(ignore_result=True)
def run_export(job_id: int) -> None:
    from .services.exports import export_run

    export_run(job_id=job_id)


@shared_task(ignore_result=True)
def resume_exports() -> int:
    """Every few minutes: exports whose task was lost or whose worker died are queued again."""
    from .services.exports import exports_resume

    return exports_resume()


@shared_task(ignore_result=True)
def purge_expired_exports() -> int:
    from .services.exports import exports_purge

    return exports_purge()
