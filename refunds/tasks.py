from celery import shared_task

from .services import refund_pay, refunds_escalate_due, refunds_pay_due


@shared_task(ignore_result=True)
def pay_refund(request_id: int) -> bool:
    return refund_pay(request_id=request_id)


@shared_task(ignore_result=True)
def pay_due_refunds() -> int:
    return refunds_pay_due()


@shared_task(ignore_result=True)
def escalate_unanswered_refunds() -> int:
    return refunds_escalate_due()
