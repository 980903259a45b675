from celery import shared_task
from django.utils import timezone

from .models import OutboundEmail
from .services import email_deliver


@shared_task(ignore_result=True)
def deliver_email(email_id: int) -> None:
    email_deliver(email_id=email_id)


@shared_task(ignore_result=True)
def deliver_emails(email_ids: list[int]) -> None:
    """Several at once (what one batch of notices queued): one broker message instead of many."""
    for pk in email_ids:
        email_deliver(email_id=pk)


@shared_task(ignore_result=True)
def deliver_pending_emails() -> int:
    """Sweep the outbox: deliver what a lost broker message or a failure left behind."""
    ids = list(
        OutboundEmail.objects.filter(
            status=OutboundEmail.Status.PENDING, next_attempt_at__lte=timezone.now()
        ).values_list("pk", flat=True)[:500]
    )
    return sum(email_deliver(email_id=pk) for pk in ids)
