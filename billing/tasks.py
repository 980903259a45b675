from celery import shared_task

from .services import ledger_settle_due, statements_generate_due, statements_remind_invoices


@shared_task(ignore_result=True)
def settle_due_lines() -> int:
    return ledger_settle_due()


@shared_task(ignore_result=True)
def generate_due_statements() -> dict | None:
    return statements_generate_due()


@shared_task(ignore_result=True)
def remind_invoice_deadlines() -> int:
    return statements_remind_invoices()


@shared_task(ignore_result=True)
def run_export(job_id: int) -> None:
    from .services.exports import export_run

    export_run(job_id=job_id)


@shared_task(ignore_result=True)
def purge_expired_exports() -> int:
    from .services.exports import exports_purge

    return exports_purge()
