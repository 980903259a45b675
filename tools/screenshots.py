"""Take screenshots of the main pages in headless Chromium, in Chinese and English.

    python tools/screenshots.py [--base http://127.0.0.1:8000] [--out docs/screenshots] [--only name,...]

Needs a running server with the demo data (``make run``) and Debian's chromium.
"""

import argparse
import os
from pathlib import Path

from playwright.sync_api import sync_playwright

PASSWORD = "demo-pass-2026"
PAGES = [
    # (name, user or None, path)
    ("home", None, "/"),
    ("catalog", None, "/products/"),
    ("product", None, "/products/1/"),
    ("login", None, "/accounts/login/"),
    ("signup", None, "/accounts/signup/"),
    ("buyer-dashboard", "buyer@example.com", "/buyer/"),
    ("buyer-orders", "buyer@example.com", "/buyer/orders/"),
    ("buyer-services", "buyer@example.com", "/buyer/services/"),
    ("buyer-order", "buyer@example.com", "/buyer/orders/?status=paid"),
    ("workbench", "tenant-admin@example.com", "/buyer/workbench/"),
    ("seller-dashboard", "seller@example.com", "/seller/"),
    ("seller-products", "seller@example.com", "/seller/products/"),
    ("seller-product", "seller@example.com", "/seller/products/1/"),
    ("seller-orders", "seller@example.com", "/seller/orders/"),
    ("credit-settings", "seller@example.com", "/seller/credit-settings/"),
    ("seller-team", "seller@example.com", "/seller/team/"),
    ("app-tools", "seller@example.com", "/seller/app-tools/"),
    ("produce-messages", "seller@example.com", "/seller/app-tools/messages/"),
    ("debugging", "seller@example.com", "/seller/app-tools/debugging/"),
    ("guide", "seller@example.com", "/seller/app-tools/guide/"),
    ("seller-sso", "seller@example.com", "/seller/app-tools/sso/"),
    ("seller-tickets", "seller-support@example.com", "/seller/tickets/"),
    ("seller-ticket", "seller-support@example.com", "/seller/tickets/1/"),
    ("ticket-settings", "seller@example.com", "/seller/tickets/settings/"),
    ("buyer-tickets", "buyer@example.com", "/buyer/tickets/"),
    ("buyer-ticket", "buyer@example.com", "/buyer/tickets/3/"),
    ("ticket-open", "buyer@example.com", "/buyer/tickets/new/1/"),
    ("seller-invoices", "seller-finance@example.com", "/seller/invoices/"),
    ("seller-invoice", "seller-finance@example.com", "/seller/invoices/2/"),
    ("buyer-invoices", "tenant-admin@example.com", "/buyer/invoices/"),
    ("buyer-invoice", "tenant-admin@example.com", "/buyer/invoices/1/"),
    ("invoice-letters", "tenant-admin@example.com", "/buyer/invoices/letters/"),
    ("admin-invoices", "ops@example.com", "/admin/invoicing/invoicerequest/"),
    ("seller-refunds", "seller-finance@example.com", "/seller/refunds/"),
    ("seller-refund", "seller-finance@example.com", "/seller/refunds/1/"),
    ("buyer-refunds", "buyer@example.com", "/buyer/refunds/"),
    ("seller-benefits", "seller@example.com", "/seller/benefits/"),
    ("seller-cooperation", "seller@example.com", "/seller/cooperation/"),
    ("seller-acceleration-below", "seller@example.com", "/seller/cooperation/acceleration-plan/"),
    ("app-access", "tenant-admin@example.com", "/buyer/workbench/apps/1/access/"),
    (
        "sso-refused",
        "bob@example.com",  # a tenant user the administrator has not given the app
        "/api/v1/oauth2/authorize?response_type=code&client_id=demo-crm"
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Foauth%2Fcallback&state=s",
    ),
    ("tenant-services", "tenant-admin@example.com", "/buyer/services/"),
    ("settlement", "seller-finance@example.com", "/seller/settlement/?mode=strict_self"),
    ("statement", "seller-finance@example.com", "/seller/settlement/45/"),
    ("exports", "seller-finance@example.com", "/seller/settlement/exports/"),
    ("notifications", "seller@example.com", "/notifications/"),
    ("seller-apply", "customer1@example.com", "/accounts/seller-apply/"),
    ("admin", "ops@example.com", "/admin/"),
    ("admin-products", "ops@example.com", "/admin/catalog/product/"),
    ("admin-api-tokens", "ops@example.com", "/admin/accounts/apitoken/"),
    ("admin-statements", "ops@example.com", "/admin/billing/statement/"),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--only", default="")
    parser.add_argument("--langs", default="zh-hans,en")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    only = set(filter(None, args.only.split(",")))
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for lang in args.langs.split(","):
            contexts = {}
            for name, user, path in PAGES:
                if only and name not in only:
                    continue
                if user not in contexts:
                    ctx = browser.new_context(viewport={"width": 1366, "height": 860})
                    ctx.add_cookies([{"name": "django_language", "value": lang, "url": args.base}])
                    if user:
                        page = ctx.new_page()
                        page.goto(args.base + "/accounts/login/")
                        page.fill("input[name=username]", user)
                        page.fill("input[name=password]", PASSWORD)
                        page.click("main form button[type=submit]")
                        page.wait_for_load_state()
                        page.close()
                    contexts[user] = ctx
                page = contexts[user].new_page()
                page.goto(args.base + path)
                page.wait_for_load_state("networkidle")
                target = out / f"{name}.{lang}.png"
                page.screenshot(path=str(target), full_page=True)
                page.close()
                print(target)
        browser.close()


if __name__ == "__main__":
    main()
