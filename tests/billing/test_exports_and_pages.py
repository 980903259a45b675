"""Seller center > settlement > bill management: pages, PDF, exports and the API, and who may see them."""

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader
from rest_framework.test import APIClient

from billing.models import ExportJob, LedgerEntry, Statement
from billing.services import statement_countersign, statement_send, statements_generate
from billing.services.exports import exports_purge
from invoicing.services import seller_invoice_submit
from marketplace.accounts.models import User
from tests.factories import PASSWORD, PDF_BYTES, SellerFactory, pdf_upload, seller_member

from .builders import adjust, bj, buy, make_statement, make_statements, product_plan, state

pytestmark = pytest.mark.django_db

FEBRUARY, MARCH = date(2026, 2, 1), date(2026, 3, 1)


@dataclass
class World:
    seller: object
    admin: User
    finance: User
    statement: Statement  # March 2026, general: three orders, a correction and February's carry-over
    carried: Statement  # February 2026, below the minimum
    lines: list


@pytest.fixture
def world(seller, seller_user, buyer_user, ops_user) -> World:
    seller_user.language = "en"
    seller_user.save(update_fields=["language"])
    finance = seller_member(seller, "finance")
    _p, plan = product_plan(seller, price="1000.00", name_zh="云盘企业版")
    _p, small = product_plan(seller, price="400.00")
    buy(buyer_user, small, now=bj(2026, 2, 10, 10))
    statements_generate(period=FEBRUARY, now=bj(2026, 3, 3))
    lines = [buy(buyer_user, plan, now=bj(2026, 3, day, 10)) for day in (5, 6, 7)]
    adjust(ops_user, seller, "general", "-25.00", bj(2026, 3, 20, 10), reason="Correction, see ticket 7\nsecond line")
    statements_generate(period=MARCH, now=bj(2026, 4, 3))
    march = Statement.objects.get(seller=seller, period=MARCH)
    statement_send(actor=ops_user, statement_id=march.pk, now=bj(2026, 4, 4))  # sellers see sent statements
    return World(
        seller=seller,
        admin=seller_user,
        finance=finance,
        statement=Statement.objects.get(seller=seller, period=MARCH),
        carried=Statement.objects.get(seller=seller, period=FEBRUARY),
        lines=lines,
    )


def send_generated(actor, seller) -> None:
    """Operations send what is waiting: sellers see their statements once sent."""
    for statement in Statement.objects.filter(seller=seller, status=Statement.Status.GENERATED):
        statement_send(actor=actor, statement_id=statement.pk, now=statement.generated_at)


def client_for(user) -> Client:
    """A signed-in browser that chose English (pages are Chinese unless the cookie says otherwise)."""
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def api_for(user) -> APIClient:
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def export(client, statement, fmt, capture) -> ExportJob:
    with capture(execute=True):
        response = client.post(f"/seller/settlement/{statement.pk}/export/", {"format": fmt})
    assert (response.status_code, response["Location"]) == (302, "/seller/settlement/exports/")
    return ExportJob.objects.filter(statement=statement, format=fmt).latest("pk")


def content(response) -> bytes:
    return b"".join(response.streaming_content)


# --- pages --------------------------------------------------------------------------------------


def test_bill_management_has_one_tab_per_trade_mode(world, ops_user):
    joint = make_statement(ops_user, world.seller, "joint", "8000.00", month=(2026, 4))
    hidden = client_for(world.admin).get("/seller/settlement/?mode=joint")
    assert list(hidden.context["page"]) == []  # not sent yet: not shown
    send_generated(ops_user, world.seller)
    client = client_for(world.admin)

    general_page = client.get("/seller/settlement/")
    joint_page = client.get("/seller/settlement/?mode=joint")

    assert general_page.status_code == 200
    assert [(t["code"], t["count"], t["on"]) for t in general_page.context["tabs"]] == [
        ("general", 2, True),
        ("joint", 1, False),
        ("strict", 0, False),
        ("strict_self", 0, False),
        ("platform", 0, False),
    ]
    assert [s.pk for s in general_page.context["page"]] == [world.statement.pk, world.carried.pk]
    assert general_page.content.decode().count('data-testid="statement-row"') == 2
    assert [s.pk for s in joint_page.context["page"]] == [joint.pk]
    assert [t["code"] for t in joint_page.context["tabs"] if t["on"]] == ["joint"]
    filtered = client.get("/seller/settlement/?mode=general&status=carried_over")
    assert [s.pk for s in filtered.context["page"]] == [world.carried.pk]


def test_the_statement_detail_pages_its_lines_and_searches_by_order_number(world, ops_user, buyer_user):
    for n in range(50):
        adjust(ops_user, world.seller, "general", "1.00", bj(2026, 4, 1 + n % 20, 10), reason=f"Bonus {n}")
    _p, plan = product_plan(world.seller, price="500.00")
    april_line = buy(buyer_user, plan, now=bj(2026, 4, 28, 10))
    statements_generate(period=date(2026, 4, 1), now=bj(2026, 5, 6))
    april = Statement.objects.get(seller=world.seller, period=date(2026, 4, 1))
    client = client_for(world.admin)

    first = client.get(f"/seller/settlement/{april.pk}/")
    second = client.get(f"/seller/settlement/{april.pk}/?page=2")
    found = client.get(f"/seller/settlement/{world.statement.pk}/", {"q": world.lines[1].order.number})
    partial = client.get(f"/seller/settlement/{april.pk}/", {"q": april_line.order.number[-6:]})

    entries = list(LedgerEntry.objects.filter(period=date(2026, 4, 1)).order_by("id").values_list("pk", flat=True))
    assert (april.line_count, len(entries)) == (51, 51)
    assert [e.pk for e in first.context["page"]] == entries[:50]
    assert first.content.decode().count('data-testid="statement-line"') == 50
    assert [e.pk for e in second.context["page"]] == entries[50:]
    assert [e.order_line_id for e in found.context["page"]] == [world.lines[1].pk]
    assert found.content.decode().count('data-testid="statement-line"') == 1
    assert [e.order_line_id for e in partial.context["page"]] == [april_line.pk]
    march = client.get(f"/seller/settlement/{world.statement.pk}/").content.decode()
    assert '<strong data-testid="net-payable">¥3,205.00</strong>' in march
    assert march.count('<div class="what">Generated</div>') == 1  # the timeline starts with generation


def test_another_seller_and_other_roles_cannot_open_a_statement(world, other_seller_user):
    pk = world.statement.pk
    outsider, support = client_for(other_seller_user), client_for(seller_member(world.seller, "support"))
    before = state()

    for path in (f"/seller/settlement/{pk}/", f"/seller/settlement/{pk}/pdf/"):
        assert outsider.get(path).status_code == 404
        assert support.get(path).status_code == 403
    for action in ("confirm", "dispute", "export", "invoice"):
        assert outsider.post(f"/seller/settlement/{pk}/{action}/", {"reason": "x", "format": "csv"}).status_code == 404
        assert support.post(f"/seller/settlement/{pk}/{action}/", {"reason": "x", "format": "csv"}).status_code == 403
    assert client_for(world.admin).post(f"/seller/settlement/{pk}/nonsense/").status_code == 404

    assert state() == before


def test_the_statement_pdf_shows_the_seller_the_period_and_the_net_payable(world):
    response = client_for(world.finance).get(f"/seller/settlement/{world.statement.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="statement-2026-03-general.pdf"'
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert world.statement.net_payable == Decimal("3205.00")  # 3 × 950 − 25, plus 380 carried in
    assert world.seller.name in text
    assert "2026-03" in text
    assert "3,205.00" in text
    assert world.lines[0].order.number in text
    assert "云盘企业版" in text


def test_the_seller_confirms_disputes_and_invoices_from_the_statement_page(
    world, ops, finance, finance2, private_files
):
    made = make_statements(ops, world.seller, {"joint": "5000.00", "strict": "6000.00"}, month=(2024, 11))
    statement_send(actor=ops, statement_id=made["joint"].pk, now=bj(2024, 12, 10))
    statement_send(actor=ops, statement_id=made["strict"].pk, now=bj(2024, 12, 24))
    for approver in (finance, finance2):
        statement_countersign(actor=approver, statement_id=made["strict"].pk)
    client = client_for(world.finance)
    joint, strict = made["joint"].pk, made["strict"].pk

    disputed = client.post(f"/seller/settlement/{joint}/dispute/", {"reason": "Line 3 twice"})
    blocked = client.post(f"/seller/settlement/{joint}/confirm/", follow=True)
    invoiced = client.post(
        f"/seller/settlement/{strict}/invoice/",
        {
            "number": "INV-77",
            "issued_on": "2026-04-20",
            "amount": "6000.00",
            "tax_rate": "0.06",
            "file": pdf_upload("invoice.pdf"),
        },
    )

    assert (disputed.status_code, disputed["Location"]) == (302, f"/seller/settlement/{joint}/")
    assert Statement.objects.get(pk=joint).disputes.get().reason == "Line 3 twice"
    assert "Wait for the answer to your dispute before confirming." in blocked.content.decode()
    assert Statement.objects.get(pk=joint).status == "awaiting_confirmation"
    assert invoiced.status_code == 302
    assert list(Statement.objects.get(pk=strict).seller_invoices.values_list("number", "amount", "status")) == [
        ("INV-77", Decimal("6000.00"), "submitted")
    ]
    page = client.get(f"/seller/settlement/{strict}/").content.decode()
    assert "INV-77" in page


def test_the_sellers_invoice_pdf_is_served_to_its_seller_and_to_finance_staff_only(
    world, ops, finance, finance2, other_seller_user, private_files
):
    statement = make_statement(ops, world.seller, "joint", "7000.00", month=(2026, 4))
    statement_send(actor=ops, statement_id=statement.pk, now=bj(2026, 5, 8))
    for approver in (finance, finance2):
        statement_countersign(actor=approver, statement_id=statement.pk, now=bj(2026, 5, 9))
    invoice = seller_invoice_submit(
        actor=world.finance,
        statement_id=statement.pk,
        number="INV-5",
        issued_on=date(2026, 5, 20),
        amount="7000.00",
        tax_rate="0.06",
        file=pdf_upload("i.pdf"),
    )
    url = f"/invoicing/seller-invoices/{invoice.pk}/file/"

    for user in (world.admin, world.finance, finance):
        response = client_for(user).get(url)
        assert (response.status_code, response["Content-Type"]) == (200, "application/pdf")
        assert content(response) == PDF_BYTES
    for user in (other_seller_user, seller_member(world.seller, "support"), seller_member(world.seller, "developer")):
        assert client_for(user).get(url).status_code == 404
    assert Client().get(url).status_code == 302  # to the sign-in page


# --- exports ------------------------------------------------------------------------------------


def test_a_csv_export_holds_every_entry_and_the_carried_over_line(
    world, private_files, django_capture_on_commit_callbacks
):
    job = export(client_for(world.finance), world.statement, "csv", django_capture_on_commit_callbacks)

    assert (job.status, job.rows_done, job.rows_total, job.requested_by, job.error) == ("done", 5, 5, world.finance, "")
    assert (private_files / job.file_path).exists()
    response = client_for(world.admin).get(f"/seller/settlement/exports/{job.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(content(response).decode("utf-8-sig"))))
    entries = list(LedgerEntry.objects.filter(seller=world.seller, period=MARCH).order_by("id"))
    assert [r[0] for r in rows[1:5]] == [str(e.pk) for e in entries]
    assert [(r[1], r[8], r[9], r[10], r[11]) for r in rows[1:5]] == [
        (e.kind, str(e.gross), str(e.fee_rate), str(e.fee), str(e.net)) for e in entries
    ]
    first = world.lines[0]
    assert rows[1][2:8] == [
        first.order.number,
        str(first.pk),
        "云盘企业版",
        first.order.buyer.name,
        "2026-03-05 10:00:00",
        "2026-03-05 10:00:00",
    ]
    assert rows[4][12] == "Correction, see ticket 7\nsecond line"
    assert rows[5][1] == "carried_over"
    assert rows[5][11] == "380.00"
    assert rows[5][4].endswith("2026-02")
    assert len(rows) == 6


def test_an_xlsx_export_has_the_same_rows(world, private_files, django_capture_on_commit_callbacks):
    job = export(client_for(world.admin), world.statement, "xlsx", django_capture_on_commit_callbacks)

    assert (job.status, job.rows_done, job.rows_total) == ("done", 5, 5)
    response = client_for(world.finance).get(f"/seller/settlement/exports/{job.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = openpyxl.load_workbook(io.BytesIO(content(response)), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert len(rows) == 6
    entries = list(LedgerEntry.objects.filter(seller=world.seller, period=MARCH).order_by("id"))
    assert [(r[0], r[1], Decimal(str(r[11]))) for r in rows[1:5]] == [(e.pk, e.kind, e.net) for e in entries]
    assert (rows[5][1], Decimal(str(rows[5][11]))) == ("carried_over", Decimal("380.00"))
    assert book.active.title == "2026-03"


def test_the_export_records_page_lists_jobs_and_the_status_endpoint_reports_progress(
    world, private_files, django_capture_on_commit_callbacks
):
    client = client_for(world.admin)
    done = export(client, world.statement, "csv", django_capture_on_commit_callbacks)
    client.post(f"/seller/settlement/{world.statement.pk}/export/", {"format": "xlsx"})  # queued, not run
    queued = ExportJob.objects.get(format="xlsx")

    page = client.get("/seller/settlement/exports/")

    assert [j.pk for j in page.context["page"]] == [queued.pk, done.pk]
    html = page.content.decode()
    assert f'data-export="{done.pk}"' in html and f'data-export="{queued.pk}"' in html
    assert f'href="/seller/settlement/exports/{done.pk}/download/"' in html
    assert f"/seller/settlement/exports/{queued.pk}/download/" not in html
    assert client.get(f"/seller/settlement/exports/{done.pk}/status/").json() == {
        "status": "done",
        "status_label": "Ready",
        "progress": 100,
        "rows_done": 5,
        "rows_total": 5,
        "download": f"/seller/settlement/exports/{done.pk}/download/",
    }
    assert client.get(f"/seller/settlement/exports/{queued.pk}/status/").json() == {
        "status": "pending",
        "status_label": "Queued",
        "progress": 0,
        "rows_done": 0,
        "rows_total": 5,
        "download": None,
    }
    ExportJob.objects.filter(pk=queued.pk).update(status="running", rows_done=2)
    running = client.get(f"/seller/settlement/exports/{queued.pk}/status/").json()
    assert (running["status"], running["progress"], running["download"]) == ("running", 40, None)
    assert client.get(f"/seller/settlement/exports/{queued.pk}/download/").status_code == 302


def test_the_same_export_is_not_queued_twice(world, private_files):
    client = client_for(world.admin)
    client.post(f"/seller/settlement/{world.statement.pk}/export/", {"format": "csv"})
    before = state()

    response = client.post(f"/seller/settlement/{world.statement.pk}/export/", {"format": "csv"}, follow=True)

    assert "This export is already being produced." in response.content.decode()
    assert state() == before


def test_downloads_are_for_the_sellers_admin_and_finance_users_only(
    world, other_seller_user, private_files, django_capture_on_commit_callbacks
):
    job = export(client_for(world.admin), world.statement, "csv", django_capture_on_commit_callbacks)
    download = f"/seller/settlement/exports/{job.pk}/download/"
    status = f"/seller/settlement/exports/{job.pk}/status/"

    assert client_for(world.admin).get(download).status_code == 200
    assert client_for(world.finance).get(download).status_code == 200
    outsider = client_for(other_seller_user)
    assert (outsider.get(download).status_code, outsider.get(status).status_code) == (404, 404)
    assert [j.pk for j in outsider.get("/seller/settlement/exports/").context["page"]] == []
    for role in ("support", "developer"):
        member = client_for(seller_member(world.seller, role))
        assert (member.get(download).status_code, member.get(status).status_code) == (403, 403)
    assert client_for(world.admin).get(f"/seller/settlement/exports/{job.pk + 1000}/download/").status_code == 404


def test_exports_are_deleted_after_three_days_and_cannot_be_downloaded_then(
    world, private_files, django_capture_on_commit_callbacks
):
    job = export(client_for(world.admin), world.statement, "csv", django_capture_on_commit_callbacks)
    assert job.expires_at == job.created_at + timedelta(days=3)
    path = private_files / job.file_path
    client = client_for(world.finance)

    assert exports_purge(now=job.expires_at - timedelta(seconds=1)) == 0
    assert path.exists()
    with time_machine.travel(job.expires_at, tick=False):
        assert client.get(f"/seller/settlement/exports/{job.pk}/download/").status_code == 302  # expired
    assert exports_purge(now=job.expires_at) == 1

    job.refresh_from_db()
    assert (job.status, job.file_path) == ("expired", "")
    assert not path.exists()
    response = client.get(f"/seller/settlement/exports/{job.pk}/download/", follow=True)
    assert response.redirect_chain == [("/seller/settlement/exports/", 302)]
    assert "This export is not available (not ready, or expired)." in response.content.decode()
    assert exports_purge(now=job.expires_at + timedelta(days=1)) == 0


# --- query counts -------------------------------------------------------------------------------


def queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_bill_management_page_makes_a_fixed_number_of_queries(seller, seller_user, ops_user):
    client = client_for(seller_user)
    for month in (1, 2):
        make_statement(ops_user, seller, "general", "5000.00", month=(2025, month))
    send_generated(ops_user, seller)
    few = queries(client, "/seller/settlement/")
    for month in range(3, 11):
        make_statement(ops_user, seller, "general", str(50 * month), month=(2025, month))  # some carried over
    send_generated(ops_user, seller)
    many = queries(client, "/seller/settlement/")

    assert Statement.objects.filter(seller=seller).count() == 10
    assert many == few


def test_the_statement_detail_makes_a_fixed_number_of_queries(seller, seller_user, buyer_user, ops_user):
    client = client_for(seller_user)
    _p, plan = product_plan(seller, price="100.00")
    small = make_statement(ops_user, seller, "general", "10.00", month=(2026, 1))
    for day in (2, 3):
        buy(buyer_user, plan, now=bj(2026, 2, day, 10))
    statements_generate(period=date(2026, 2, 1), now=bj(2026, 3, 3))
    few_statement = Statement.objects.get(seller=seller, period=date(2026, 2, 1))
    for day in range(2, 22):
        buy(buyer_user, plan, now=bj(2026, 3, day, 10))
    statements_generate(period=MARCH, now=bj(2026, 4, 3))
    many_statement = Statement.objects.get(seller=seller, period=MARCH)
    send_generated(ops_user, seller)

    small.refresh_from_db()
    few = queries(client, f"/seller/settlement/{few_statement.pk}/")
    many = queries(client, f"/seller/settlement/{many_statement.pk}/")

    assert (small.carried_into, few_statement.line_count, many_statement.line_count) == (few_statement, 2, 20)
    assert many == few


# --- API ----------------------------------------------------------------------------------------


def test_the_api_lists_and_details_statements_and_their_lines(world):
    api = api_for(world.finance)

    listed = api.get("/api/v1/seller/statements/").json()
    detail = api.get(f"/api/v1/seller/statements/{world.statement.pk}/").json()
    lines = api.get(f"/api/v1/seller/statements/{world.statement.pk}/lines/").json()
    searched = api.get(
        f"/api/v1/seller/statements/{world.statement.pk}/lines/", {"search": world.lines[2].order.number}
    ).json()

    assert listed["count"] == 2
    assert [(s["id"], s["period"], s["status"], s["net_payable"]) for s in listed["results"]] == [
        (world.statement.pk, "2026-03", "countersigning", "3205.00"),
        (world.carried.pk, "2026-02", "carried_over", "380.00"),
    ]
    assert (detail["line_count"], detail["carried_in"], detail["gross"], detail["fee"]) == (
        4,
        "380.00",
        "2975.00",
        "150.00",
    )
    assert (detail["generated_at"], detail["disputes"]) == ("2026-04-03T00:00:00+08:00", [])
    assert [(e["from_status"], e["to_status"], e["message"]) for e in detail["events"]] == [
        ("generated", "countersigning", "Sent to the seller")
    ]
    entries = LedgerEntry.objects.filter(seller=world.seller, period=MARCH).order_by("id")
    assert [(line["id"], line["net"], line["order_number"]) for line in lines["results"]] == [
        (e.pk, str(e.net), e.order_line.order.number if e.order_line else None) for e in entries
    ]
    assert [line["order_line"] for line in searched["results"]] == [world.lines[2].pk]


def test_the_api_confirms_and_disputes_a_statement(ops, world):
    old = make_statement(ops, world.seller, "joint", "5000.00", month=(2024, 11))
    statement_send(actor=ops, statement_id=old.pk, now=bj(2024, 12, 10))
    other = make_statement(ops, world.seller, "strict", "5000.00", month=(2026, 4))
    statement_send(actor=ops, statement_id=other.pk, now=bj(2026, 5, 8))
    api = api_for(world.admin)

    confirmed = api.post(f"/api/v1/seller/statements/{old.pk}/confirm/")
    disputed = api.post(f"/api/v1/seller/statements/{other.pk}/dispute/", {"reason": "Line 2 is wrong"}, format="json")
    empty = api.post(f"/api/v1/seller/statements/{other.pk}/dispute/", {"reason": ""}, format="json")
    generated = api.post(f"/api/v1/seller/statements/{world.statement.pk}/confirm/")

    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "countersigning")
    assert disputed.status_code == 201
    assert (disputed.json()["status"], disputed.json()["reason"]) == ("open", "Line 2 is wrong")
    assert (empty.status_code, empty.json()["error"]) == (400, "invalid")
    assert (generated.status_code, generated.json()["error"]) == (409, "invalid_transition")


def test_the_api_requests_an_export_and_downloads_it(world, private_files, django_capture_on_commit_callbacks):
    api = api_for(world.finance)

    with django_capture_on_commit_callbacks(execute=True):
        requested = api.post(f"/api/v1/seller/statements/{world.statement.pk}/exports/", {"format": "csv"})

    assert requested.status_code == 202
    job_id = requested.json()["id"]
    assert (requested.json()["status"], requested.json()["rows_total"]) == ("pending", 5)
    progress = api.get(f"/api/v1/seller/exports/{job_id}/").json()
    assert (progress["status"], progress["progress"], progress["rows_done"]) == ("done", 100, 5)
    assert [j["id"] for j in api.get("/api/v1/seller/exports/").json()["results"]] == [job_id]
    download = api.get(f"/api/v1/seller/exports/{job_id}/download/")
    assert download.status_code == 200
    assert len(list(csv.reader(io.StringIO(content(download).decode("utf-8-sig"))))) == 6
    pdf = api.get(f"/api/v1/seller/statements/{world.statement.pk}/pdf/")
    assert (pdf.status_code, pdf["Content-Type"], pdf.content[:5]) == (200, "application/pdf", b"%PDF-")
    bad = api.post(f"/api/v1/seller/statements/{world.statement.pk}/exports/", {"format": "pdf"})
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid")
    with time_machine.travel(timezone.now() + timedelta(days=3, seconds=1)):
        expired = api.get(f"/api/v1/seller/exports/{job_id}/download/")
    assert (expired.status_code, expired.json()["error"]) == (409, "conflict")


def test_another_seller_gets_404_from_every_statement_endpoint(
    world, private_files, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job_id = (
            api_for(world.admin)
            .post(f"/api/v1/seller/statements/{world.statement.pk}/exports/", {"format": "csv"})
            .json()["id"]
        )
    outsider = APIClient()
    outsider.force_authenticate(SellerFactory().memberships.get().user)
    pk = world.statement.pk
    before = state()

    responses = [
        outsider.get(f"/api/v1/seller/statements/{pk}/"),
        outsider.get(f"/api/v1/seller/statements/{pk}/lines/"),
        outsider.get(f"/api/v1/seller/statements/{pk}/pdf/"),
        outsider.post(f"/api/v1/seller/statements/{pk}/confirm/"),
        outsider.post(f"/api/v1/seller/statements/{pk}/dispute/", {"reason": "x"}, format="json"),
        outsider.post(f"/api/v1/seller/statements/{pk}/exports/", {"format": "csv"}, format="json"),
        outsider.post(f"/api/v1/seller/statements/{pk}/invoice/", {"number": "X"}, format="multipart"),
        outsider.get(f"/api/v1/seller/exports/{job_id}/"),
        outsider.get(f"/api/v1/seller/exports/{job_id}/download/"),
    ]

    assert [(r.status_code, r.json()["error"]) for r in responses] == [(404, "not_found")] * len(responses)
    assert outsider.get("/api/v1/seller/statements/").json()["count"] == 0
    assert outsider.get("/api/v1/seller/exports/").json()["count"] == 0
    assert state() == before


def test_the_api_takes_the_sellers_invoice(world, ops, finance, finance2, private_files):
    statement = make_statement(ops, world.seller, "joint", "7000.00", month=(2026, 4))
    statement_send(actor=ops, statement_id=statement.pk, now=bj(2026, 5, 8))
    for approver in (finance, finance2):
        statement_countersign(actor=approver, statement_id=statement.pk, now=bj(2026, 5, 9))
    api = api_for(world.finance)
    body = {"number": "INV-9", "issued_on": "2026-05-20", "amount": "7000.00", "tax_rate": "0.06"}

    wrong = api.post(
        f"/api/v1/seller/statements/{statement.pk}/invoice/",
        {**body, "amount": "6999.00", "file": pdf_upload("i.pdf")},
        format="multipart",
    )
    taken = api.post(
        f"/api/v1/seller/statements/{statement.pk}/invoice/", {**body, "file": pdf_upload("i.pdf")}, format="multipart"
    )

    assert (wrong.status_code, wrong.json()["fields"]) == (400, {"amount": ["Must equal the net payable."]})
    assert (taken.status_code, taken.json()["status"]) == (200, "awaiting_invoice")
    assert [e["message"] for e in taken.json()["events"]][-1] == "Invoice INV-9 submitted"
    assert list(statement.seller_invoices.values_list("number", "status")) == [("INV-9", "submitted")]


@pytest.mark.parametrize("role", ["support", "developer"])
def test_other_roles_of_the_seller_get_403_from_the_statement_api(world, role):
    member = APIClient()
    member.force_authenticate(seller_member(world.seller, role))
    pk = world.statement.pk

    responses = [
        member.get("/api/v1/seller/statements/"),
        member.get(f"/api/v1/seller/statements/{pk}/"),
        member.get(f"/api/v1/seller/statements/{pk}/lines/"),
        member.post(f"/api/v1/seller/statements/{pk}/exports/", {"format": "csv"}, format="json"),
        member.get("/api/v1/seller/exports/"),
    ]

    assert [r.status_code for r in responses] == [403] * len(responses)
    assert ExportJob.objects.count() == 0
