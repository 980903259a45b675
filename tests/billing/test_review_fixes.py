"""Settlement holes found in review: each one stays closed."""

from datetime import date

import pytest

from billing.models import SettlementPeriod, Statement
from billing.services import statement_countersign, statement_send, statements_generate_due
from invoicing.services import seller_invoice_submit
from marketplace.core.errors import ValidationFailed
from tests.factories import pdf_upload, seller_member

from .builders import adjust, bj, make_statement

pytestmark = pytest.mark.django_db


def test_the_scheduled_job_catches_up_a_month_a_missed_run_left_open(seller, ops_user):
    adjust(ops_user, seller, "general", "2000.00", bj(2026, 1, 10, 10))
    adjust(ops_user, seller, "general", "3000.00", bj(2026, 2, 10, 10))

    result = statements_generate_due(now=bj(2026, 3, 3, 0, 5))

    assert result["period"] == "2026-02"
    assert list(
        SettlementPeriod.objects.filter(closed_at__isnull=False).values_list("period", flat=True).order_by("period")
    ) == [
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]
    assert list(Statement.objects.order_by("period").values_list("period", "net_payable")) == [
        (date(2026, 1, 1), 2000),
        (date(2026, 2, 1), 3000),
    ]


def test_sellers_see_a_statement_only_once_operations_sent_it(client, seller, seller_user, ops_user):
    statement = make_statement(ops_user, seller, "general", "5000.00", month=(2026, 3))
    client.force_login(seller_user)
    assert client.get(f"/seller/settlement/{statement.pk}/").status_code == 404
    assert client.get(f"/seller/settlement/{statement.pk}/pdf/").status_code == 404
    assert client.post(f"/seller/settlement/{statement.pk}/export/", {"format": "csv"}).status_code == 404
    statement_send(actor=ops_user, statement_id=statement.pk, now=bj(2026, 4, 4))
    assert client.get(f"/seller/settlement/{statement.pk}/").status_code == 200


def test_an_invoice_needs_a_real_date_and_a_number_that_fits(seller, ops_user, private_media):
    statement = make_statement(ops_user, seller, "joint", "5000.00", month=(2026, 3))
    statement_send(actor=ops_user, statement_id=statement.pk, now=bj(2026, 4, 4))
    second = seller_member(seller, "finance")
    statement_countersign(actor=ops_user, statement_id=statement.pk, now=bj(2026, 4, 5))
    from .builders import staff

    statement_countersign(actor=staff("finance"), statement_id=statement.pk, now=bj(2026, 4, 5))
    base = dict(actor=second, statement_id=statement.pk, amount="5000.00", tax_rate="0.06", file=pdf_upload("i.pdf"))
    for number, issued_on in [("X" * 33, date(2026, 4, 6)), ("INV-1", None), ("INV-1", date(2099, 1, 1))]:
        with pytest.raises(ValidationFailed):
            seller_invoice_submit(number=number, issued_on=issued_on, **base)
    assert not statement.seller_invoices.exists()
