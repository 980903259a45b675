from celery import shared_task

from .services import orders_close_unpaid, subscriptions_expire


@shared_task(ignore_result=True)
def close_unpaid_orders() -> int:
    return orders_close_unpaid()


@shared_task(ignore_result=True)
def expire_subscriptions() -> int:
    return subscriptions_expire()
