"""Every upload endpoint, pages and API: a file of a type not accepted (an .exe), a .pdf that is not a
PDF, and a file over UPLOAD_MAX_BYTES are refused (a form error, a 400) and nothing is stored, in the
database or on disk; the same request with a real PDF is taken, so the refusal is the file's.

``marketplace.core.uploads.validate_upload`` itself is tested with each service (tests/accounts,
tests/tickets, tests/billing, tests/benefits); this is the sweep over the ways in.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.utils import timezone

from marketplace.accounts.services import api_token_issue
from marketplace.core import calendar
from tests.factories import PDF_BYTES, application_data

from .sweep_world import World, changed_tables, snapshot

pytestmark = pytest.mark.django_db

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
BIG_PDF = PDF_BYTES + b"%" + b"0" * 4096


@dataclass(frozen=True)
class Upload:
    user: Callable[[World], object]
    url: Callable[[World], str]
    data: Callable[[World], dict]
    field: str = "files"
    api: bool = False
    method: str = "post"
    days_later: int = 0  # acceptance materials come after the activity


def today() -> str:
    return calendar.today().isoformat()


def marketing_data(w) -> dict:
    return {
        "activity_name": "Upload sweep",
        "starts_on": (calendar.today() + timedelta(days=20)).isoformat(),
        "ends_on": (calendar.today() + timedelta(days=30)).isoformat(),
        "channels": ["marketplace"],
        "budget": "30000",
        "proposal": "A plan.",
    }


def statement_invoice(w) -> dict:
    return {
        "number": "UP-1",
        "issued_on": today(),
        "amount": str(w.statement_to_invoice.net_payable),
        "tax_rate": "0.06",
    }


def invoice_issue(request) -> Callable[[World], dict]:
    def data(w) -> dict:
        target = getattr(w, request)
        return {
            "invoice_number": "04400001",
            "invoice_code": "044001900111",
            "issued_on": today(),
            "amount": str(target.amount),
            "tax_rate": "0.06",
        }

    return data


def seller(w):
    return w.seller_a_admin


def buyer(w):
    return w.buyer_a_admin


TICKET = {"category": "fault", "title": "Upload sweep", "description": "It does not start."}

UPLOADS = {
    # --- pages
    "onboarding documents": Upload(
        lambda w: w.applicant,
        lambda w: "/accounts/seller-apply/",
        lambda w: {k: str(v) for k, v in application_data(9100001).items()},
        field="business_license",
    ),
    "statement invoice (page)": Upload(
        seller, lambda w: f"/seller/settlement/{w.statement_to_invoice.pk}/invoice/", statement_invoice, field="file"
    ),
    "buyer's invoice issued by the seller (page)": Upload(
        seller,
        lambda w: f"/seller/invoices/{w.invoice_request_waiting.pk}/",
        lambda w: {"action": "issue", **invoice_issue("invoice_request_waiting")(w)},
        field="file",
    ),
    "buyer's invoice issued by the platform (admin)": Upload(
        lambda w: w.ops,
        lambda w: f"/admin/invoicing/invoicerequest/{w.platform_invoice_request.pk}/issue/",
        invoice_issue("platform_invoice_request"),
        field="file",
    ),
    "marketing support, new (page)": Upload(
        seller, lambda w: "/seller/cooperation/marketing-support/new/", marketing_data
    ),
    "marketing support, edit (page)": Upload(
        seller, lambda w: f"/seller/cooperation/marketing-support/{w.marketing.pk}/edit/", marketing_data
    ),
    "marketing support, acceptance (page)": Upload(
        seller,
        lambda w: f"/seller/cooperation/marketing-support/{w.marketing_approved.pk}/acceptance/",
        lambda w: {"report": "Done."},
        days_later=5,
    ),
    "ticket, open (page)": Upload(buyer, lambda w: f"/buyer/tickets/new/{w.product.pk}/", lambda w: TICKET),
    "ticket, seller's reply (page)": Upload(
        seller, lambda w: f"/seller/tickets/{w.ticket.pk}/", lambda w: {"action": "reply", "body": "See this."}
    ),
    "ticket, buyer's reply (page)": Upload(
        buyer, lambda w: f"/buyer/tickets/{w.ticket.pk}/", lambda w: {"action": "reply", "body": "See this."}
    ),
    # --- API
    "statement invoice (API)": Upload(
        seller,
        lambda w: f"/api/v1/seller/statements/{w.statement_to_invoice.pk}/invoice/",
        statement_invoice,
        field="file",
        api=True,
    ),
    "buyer's invoice issued by the seller (API)": Upload(
        seller,
        lambda w: f"/api/v1/seller/invoice-requests/{w.invoice_request_waiting.pk}/issue/",
        invoice_issue("invoice_request_waiting"),
        field="file",
        api=True,
    ),
    "marketing support, new (API)": Upload(
        seller, lambda w: "/api/v1/seller/marketing-support/", marketing_data, api=True
    ),
    "marketing support, edit (API)": Upload(
        seller,
        lambda w: f"/api/v1/seller/marketing-support/{w.marketing.pk}/",
        marketing_data,
        api=True,
        method="put",
    ),
    "marketing support, acceptance (API)": Upload(
        seller,
        lambda w: f"/api/v1/seller/marketing-support/{w.marketing_approved.pk}/acceptance/",
        lambda w: {"report": "Done."},
        api=True,
        days_later=5,
    ),
    "ticket, open (API)": Upload(
        buyer, lambda w: "/api/v1/buyer/tickets/", lambda w: {"product": w.product.pk, **TICKET}, api=True
    ),
    "ticket, seller's reply (API)": Upload(
        seller, lambda w: f"/api/v1/seller/tickets/{w.ticket.pk}/reply/", lambda w: {"body": "See this."}, api=True
    ),
    "ticket, buyer's reply (API)": Upload(
        buyer, lambda w: f"/api/v1/buyer/tickets/{w.ticket.pk}/reply/", lambda w: {"body": "See this."}, api=True
    ),
}

BAD_FILES = {
    "an executable": ("setup.exe", EXE, "application/octet-stream"),
    "a PDF that is not one": ("invoice.pdf", EXE, "application/pdf"),
    "a PDF over the size limit": ("invoice.pdf", BIG_PDF, "application/pdf"),
}


def files_in(folder) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def client_for(world: World, upload: Upload) -> Client:
    user = upload.user(world)
    client = Client()
    if upload.api:
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {api_token_issue(user=user)}"
    else:
        client.force_login(user)
    return client


def send(client: Client, world: World, upload: Upload, name: str, content: bytes, content_type: str):
    data = {**upload.data(world), upload.field: SimpleUploadedFile(name, content, content_type=content_type)}
    with time_machine.travel(timezone.now() + timedelta(days=upload.days_later)):
        if upload.method == "post":
            return client.post(upload.url(world), data)
        return getattr(client, upload.method)(
            upload.url(world), encode_multipart(BOUNDARY, data), content_type=MULTIPART_CONTENT
        )


def refused(response, upload: Upload) -> bool:
    """A 400 from the API; a page shown again with a form error (200 or 400), or sent back with an error
    message."""
    if upload.api:
        return response.status_code == 400 and response["Content-Type"].startswith("application/json")
    if response.status_code in (200, 400):
        context = response.context
        shown = [context[key] for key in context.keys()] if context is not None else []  # noqa: SIM118 - a ContextList
        forms = [v.form if hasattr(v, "form") and hasattr(v, "fieldsets") else v for v in shown]
        return any(getattr(f, "is_bound", False) and f.errors for f in forms)
    if response.status_code == 302:
        return any(m.level_tag == "error" for m in get_messages(response.wsgi_request))
    return False


@pytest.mark.parametrize("endpoint", list(UPLOADS))
def test_a_real_pdf_is_taken(world, endpoint, private_media):
    upload = UPLOADS[endpoint]
    client = client_for(world, upload)
    files_before, rows_before = files_in(private_media), snapshot()

    response = send(client, world, upload, "proof.pdf", PDF_BYTES, "application/pdf")

    assert response.status_code in (200, 201, 302), (response.status_code, response.content[:500])
    assert not refused(response, upload)
    assert files_in(private_media) - files_before, "nothing was stored"
    assert changed_tables(rows_before, snapshot())


@pytest.mark.parametrize("bad", list(BAD_FILES))
@pytest.mark.parametrize("endpoint", list(UPLOADS))
def test_a_wrong_or_oversize_file_is_refused_and_nothing_is_stored(world, endpoint, bad, private_media, settings):
    settings.UPLOAD_MAX_BYTES = 1024  # the real PDF is smaller, the big one larger
    upload = UPLOADS[endpoint]
    client = client_for(world, upload)
    files_before, rows_before = files_in(private_media), snapshot()

    response = send(client, world, upload, *BAD_FILES[bad])

    assert refused(response, upload), (response.status_code, response.content[:500])
    assert files_in(private_media) == files_before
    assert changed_tables(rows_before, snapshot()) == []
