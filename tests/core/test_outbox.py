"""The e-mail outbox: nothing leaves without a row, sign-in links stay with their recipient."""

import re

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from marketplace.core.models import OutboundEmail
from marketplace.core.services import notify, notify_many
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_password_reset_link_is_hidden_from_staff_and_erased_once_sent(client, django_capture_on_commit_callbacks):
    boss = UserFactory(is_staff=True, is_superuser=True)
    support = UserFactory(is_staff=True)
    support.groups.add(Group.objects.get(name="support"))
    client.force_login(support)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post("/accounts/password/reset/", {"email": boss.email})
    email = OutboundEmail.objects.get()
    assert email.sensitive and "/accounts/password/reset/" in email.body

    page = client.get(f"/admin/core/outboundemail/{email.pk}/change/").content.decode()
    assert "/accounts/password/reset/" not in page

    for callback in callbacks:
        callback()
    email.refresh_from_db()
    assert email.status == "sent" and email.body == ""
    assert re.search(r"/accounts/password/reset/\S+/", mail.outbox[0].body)


def test_support_staff_cannot_deliver_by_hand(client):
    support = UserFactory(is_staff=True)
    support.groups.add(Group.objects.get(name="support"))
    email = OutboundEmail.objects.create(to="x@example.com", subject="s", body="b")
    client.force_login(support)
    client.post("/admin/core/outboundemail/", {"action": "deliver_now", "_selected_action": [email.pk]})
    email.refresh_from_db()
    assert email.status == "pending"


def test_notices_are_plain_text_not_html_escaped(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            users=[user],
            subject="Test",
            template="notifications/product_approved.txt",
            context={"product": type("P", (), {"name": "R&D <套件>"})()},
        )
    assert "R&D <套件>" in mail.outbox[0].body
    assert "R&D <套件>" in user.notifications.get().body


def test_notices_speak_the_recipients_language(django_capture_on_commit_callbacks):
    english = UserFactory(language="en")
    chinese = UserFactory(language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            users=[english, chinese],
            subject="x",
            template="notifications/product_approved.txt",
            context={"product": type("P", (), {"name": "Vault"})()},
        )
    assert "passed review" in english.notifications.get().body
    assert "审核" in chinese.notifications.get().body


def test_many_notices_at_once_reach_each_recipient_once_in_their_language(django_capture_on_commit_callbacks):
    english, chinese = UserFactory(language="en"), UserFactory(language="zh-hans")
    product = type("P", (), {"name": "Vault"})()
    notice = {"subject": "x", "template": "notifications/product_approved.txt", "context": {"product": product}}
    with django_capture_on_commit_callbacks(execute=True):
        notify_many(
            [
                {**notice, "users": [english], "extra_emails": ["desk@example.com", english.email]},
                {**notice, "users": [chinese], "link": "/buyer/services/"},
            ]
        )
    assert "passed review" in english.notifications.get().body
    assert chinese.notifications.get().link == "/buyer/services/"
    assert sorted(m.to[0] for m in mail.outbox) == sorted([english.email, "desk@example.com", chinese.email])
    assert "审核" in next(m.body for m in mail.outbox if m.to == [chinese.email])
    assert OutboundEmail.objects.filter(status="sent").count() == 3


def test_an_attachment_in_private_storage_goes_out_with_its_e_mail(private_media, django_capture_on_commit_callbacks):
    from django.core.files.base import ContentFile

    from marketplace.core.services import email_queue
    from marketplace.core.uploads import private_storage

    name = private_storage().save("buyer-invoices/abc.pdf", ContentFile(b"%PDF-1.4 invoice"))
    with django_capture_on_commit_callbacks(execute=True):
        email_queue(
            to="x@example.com", subject="Invoice", body="Attached.", attachment=name, attachment_name="发票.pdf"
        )

    assert OutboundEmail.objects.get().status == "sent"
    (sent,) = mail.outbox
    assert sent.attachments == [("发票.pdf", b"%PDF-1.4 invoice", "application/pdf")]


def test_an_e_mail_whose_attachment_is_gone_is_retried_not_lost(private_media, django_capture_on_commit_callbacks):
    from marketplace.core.services import email_queue

    with django_capture_on_commit_callbacks(execute=True):
        email_queue(to="x@example.com", subject="Invoice", body="b", attachment="buyer-invoices/missing.pdf")

    email = OutboundEmail.objects.get()
    assert email.status == "pending" and email.attempts == 1 and "missing.pdf" in email.last_error
    assert mail.outbox == []
