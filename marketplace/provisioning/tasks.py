from celery import shared_task

from .services import instances_release_expired, message_deliver, messages_deliver_due


@shared_task(ignore_result=True)
def deliver_message(message_id: int) -> None:
    message_deliver(message_id=message_id)


@shared_task(ignore_result=True)
def deliver_due_messages() -> int:
    """Every minute: retries that came due, and whatever a lost broker message left behind."""
    return messages_deliver_due()


@shared_task(ignore_result=True)
def release_expired_instances() -> int:
    return instances_release_expired()
