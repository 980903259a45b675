from celery import shared_task

from .services import tickets_auto_complete


@shared_task(ignore_result=True)
def auto_complete_tickets() -> int:
    return tickets_auto_complete()
