from celery import shared_task

from .services import buyer_invoices


@shared_task(ignore_result=True)
def stamp_letter(letter_id: int) -> bool:
    return buyer_invoices.letter_stamp(letter_id=letter_id)


@shared_task(ignore_result=True)
def stamp_due_letters() -> int:
    return buyer_invoices.letters_stamp_due()


@shared_task(ignore_result=True)
def remind_invoice_requests() -> int:
    return buyer_invoices.invoices_remind_due()
