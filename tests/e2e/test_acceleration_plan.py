"""A seller above the GMV bar signs the merchant marketing support payment agreement in the browser;
operations approve the acceleration plan in the admin; the seller applies for marketing support with
every field and a file and submits it; operations approve it in the admin; the seller sees it approved.

The seller browses in the default language (Chinese): assertions go by data-testid and data-status.
Screenshots of each page go to /tmp/shots/.
"""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from benefits.models import AccelerationPlan, AgreementSignature, MarketingSupport
from marketplace.core import calendar
from tests.benefits.test_services import ledger
from tests.factories import PASSWORD, PNG_BYTES, SellerFactory, UserFactory

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def admin_action(browser, live_server, operator, changelist: str, pk: int, action: str, *, confirm_form=False):
    """Operations select one row in an admin list and run an action on it (a form first, if it asks)."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=live_server.url)
    try:
        ops = context.new_page()
        ops.set_default_timeout(15000)
        ops.goto("/admin/login/")
        ops.fill("#id_username", operator.email)
        ops.fill("#id_password", PASSWORD)
        ops.click("input[type=submit]")
        ops.goto(changelist)
        ops.check(f"input[name=_selected_action][value='{pk}']")
        ops.select_option("select[name=action]", value=action)
        ops.click("button[name=index]")
        if confirm_form:
            expect(ops.locator("input[name=apply]")).to_have_count(1)
            ops.click("input[type=submit].default")
        expect(ops.locator(".messagelist .success")).to_be_visible()
        expect(ops.locator(".messagelist .error")).to_have_count(0)
    finally:
        context.close()


def test_seller_signs_joins_the_plan_and_gets_marketing_support_approved(page, browser, live_server, tmp_path):
    today = calendar.today()
    seller = SellerFactory(name="极光云科技有限公司")
    seller_user = seller.memberships.get().user
    ledger(seller, "2350000", period=date(today.year, 1, 1))
    operator = UserFactory(email="operator-accel@example.com", is_staff=True)
    operator.groups.add(Group.objects.get(name="operations"))

    # the seller opens the plan from the hub: the GMV is above the bar, the agreement and the form show
    login(page, seller_user.email, PASSWORD)
    page.goto("/seller/")
    page.locator("aside nav a[href='/seller/cooperation/']").click()
    expect(page.get_by_test_id("plan-card")).to_contain_text("2,350,000.00")
    shot(page, "cooperation-hub-before")
    page.get_by_test_id("plan-link").click()
    expect(page.get_by_test_id("gmv")).to_contain_text("2,350,000.00")
    expect(page.get_by_test_id("agreement-text")).to_contain_text("商家营销支持支付协议")
    expect(page.get_by_test_id("agreement-text")).to_contain_text("Merchant Marketing Support Payment Agreement")
    expect(page.get_by_test_id("agreement-text")).to_contain_text("极光云科技有限公司")
    shot(page, "acceleration-plan-unsigned")

    # types the name and role, ticks the box and signs (the page asks first)
    page.fill("input[name=signer_name]", "王晓明")
    page.fill("input[name=signer_role]", "总经理")
    page.check("input[name=agreed]")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_test_id("sign").click()
    expect(page.get_by_test_id("pending-notice")).to_be_visible()
    assert len(dialogs) == 1
    expect(page.get_by_test_id("signer-name")).to_have_text("王晓明")
    expect(page.get_by_test_id("signer-role")).to_have_text("总经理")
    expect(page.get_by_test_id("signer-ip")).to_have_text("127.0.0.1")
    expect(page.get_by_test_id("sign-form")).to_have_count(0)
    plan = AccelerationPlan.objects.get()
    signature = AgreementSignature.objects.get()
    assert (plan.status, signature.signer_name, signature.ip) == ("pending", "王晓明", "127.0.0.1")
    with page.expect_download() as download:
        page.get_by_test_id("pdf-link").click()
    assert download.value.suggested_filename.endswith(".pdf")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    shot(page, "acceleration-plan-signed")

    # marketing support is still closed
    page.goto("/seller/cooperation/marketing-support/")
    expect(page.get_by_test_id("closed-reason")).to_be_visible()
    expect(page.get_by_test_id("new-application")).to_have_count(0)
    shot(page, "marketing-support-closed")

    # operations approve the plan in the admin
    admin_action(browser, live_server, operator, "/admin/benefits/accelerationplan/", plan.pk, "approve_plan")
    plan.refresh_from_db()
    assert plan.status == "approved"

    page.goto("/seller/cooperation/acceleration-plan/")
    expect(page.get_by_test_id("approved-notice")).to_be_visible()
    expect(page.get_by_test_id("timeline")).to_contain_text("王晓明")
    shot(page, "acceleration-plan-approved")

    # the seller applies for marketing support with every field and a file, and submits it
    page.goto("/seller/cooperation/marketing-support/")
    page.get_by_test_id("new-application").click()
    page.fill("input[name=activity_name]", "双十二云上促销季")
    page.fill("input[name=starts_on]", (today + timedelta(days=3)).isoformat())
    page.fill("input[name=ends_on]", (today + timedelta(days=20)).isoformat())
    page.check("input[name=channels][value=marketplace]")
    page.check("input[name=channels][value=social]")
    page.fill("input[name=budget]", "120000")
    page.fill("textarea[name=proposal]", "首页推荐位、两场直播、社交媒体投放；目标新增 300 家企业客户。")
    poster = tmp_path / "poster.png"
    poster.write_bytes(PNG_BYTES)
    page.set_input_files("input[name=files]", str(poster))
    shot(page, "marketing-support-form")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "submitted")
    application = MarketingSupport.objects.get()
    assert (application.status, application.channels, application.budget) == (
        "submitted",
        ["marketplace", "social"],
        120000,
    )
    expect(page.get_by_test_id("proposal-files")).to_contain_text("poster.png")
    shot(page, "marketing-support-submitted")

    # operations approve it in the admin (the amount left empty: the whole budget)
    admin_action(
        browser,
        live_server,
        operator,
        "/admin/benefits/marketingsupport/",
        application.pk,
        "approve",
        confirm_form=True,
    )
    application.refresh_from_db()
    assert (application.status, application.approved_amount) == ("approved", 120000)

    # the seller sees it approved, with the support granted
    page.reload()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "approved")
    expect(page.get_by_test_id("approved-amount")).to_contain_text("120,000.00")
    expect(page.get_by_test_id("acceptance")).to_be_visible()
    shot(page, "marketing-support-detail-approved")
    page.goto("/seller/cooperation/marketing-support/")
    expect(page.get_by_test_id("ms-row")).to_have_count(1)
    expect(page.get_by_test_id("ms-row").locator("[data-status]")).to_have_attribute("data-status", "approved")
    shot(page, "marketing-support-list")
    page.goto("/seller/cooperation/")
    shot(page, "cooperation-hub-after")


def test_below_the_bar_the_page_says_how_far(page, live_server):
    today = calendar.today()
    seller = SellerFactory()
    ledger(seller, "1500000", period=date(today.year, 1, 1))
    login(page, seller.memberships.get().user.email, PASSWORD)
    page.goto("/seller/cooperation/acceleration-plan/")
    expect(page.get_by_test_id("to-go")).to_contain_text("500,000.00")
    expect(page.get_by_test_id("sign-form")).to_have_count(0)
    shot(page, "acceleration-plan-below")


def test_a_draft_with_a_file_is_corrected_and_its_file_removed(page, live_server, tmp_path):
    today = calendar.today()
    seller = SellerFactory()
    seller_user = seller.memberships.get().user
    ledger(seller, "2100000", period=date(today.year, 1, 1))
    from benefits import services
    from tests.benefits.test_services import staff_in
    from tests.factories import fresh

    plan = services.plan_apply(actor=fresh(seller_user), signer_name="Li Lei", signer_role="CEO", agreed=True)
    services.plan_approve(actor=staff_in("operations"), plan_id=plan.pk)

    login(page, seller_user.email, PASSWORD)
    page.goto("/seller/cooperation/marketing-support/new/")
    page.fill("input[name=activity_name]", "开发者大会赞助")
    page.fill("input[name=budget]", "abc")
    poster = tmp_path / "booth.png"
    poster.write_bytes(PNG_BYTES)
    page.set_input_files("input[name=files]", str(poster))
    page.get_by_test_id("save-draft").click()
    # the budget is refused on its field; nothing is saved
    expect(page.locator(".field.has-error input[name=budget]")).to_have_count(1)
    assert not MarketingSupport.objects.exists()
    shot(page, "marketing-support-form-errors")

    page.fill("input[name=budget]", "30000")
    page.set_input_files("input[name=files]", str(poster))
    page.get_by_test_id("save-draft").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "draft")
    application = MarketingSupport.objects.get()
    page.get_by_test_id("edit").click()
    expect(page.get_by_test_id("file-row")).to_have_count(1)
    shot(page, "marketing-support-edit")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("remove-file").click()
    expect(page.get_by_test_id("file-row")).to_have_count(0)
    assert not application.attachments.exists()

    # submitting without the rest says what is missing, on the fields
    page.get_by_test_id("submit").click()
    expect(page.locator(".field.has-error")).to_have_count(4)  # dates, channels, plan
    application.refresh_from_db()
    assert application.status == "draft"
    shot(page, "marketing-support-submit-errors")
