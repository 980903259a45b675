"""Writes shared by every app: queue an e-mail, notify users."""

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .models import Notification, OutboundEmail
from .resilience import send_after_commit

EMAIL_RETRY_MINUTES = (1, 5, 30, 120, 720)


def email_queue(
    *, to: str, subject: str, body: str, sensitive: bool = False, attachment: str = "", attachment_name: str = ""
) -> OutboundEmail:
    """Write an e-mail to the outbox; a worker delivers it after the transaction commits.

    ``sensitive`` e-mails (sign-in links: password resets, invitations) are hidden from the back
    office and their body is erased once delivered. ``attachment`` is the name of a file in private
    storage, sent as ``attachment_name``."""
    from .tasks import deliver_email

    email = OutboundEmail.objects.create(
        to=to,
        subject=subject[:255],
        body=body,
        sensitive=sensitive,
        attachment=attachment,
        attachment_name=attachment_name[:200],
    )
    send_after_commit(lambda: deliver_email.delay(email.pk))
    return email


def email_deliver(*, email_id: int, now=None) -> bool:
    """Send one pending e-mail. Safe to run twice: a sent e-mail is never sent again."""
    now = now or timezone.now()
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, status=OutboundEmail.Status.PENDING)
            .first()
        )
        if email is None:
            return False
        email.attempts += 1
        try:
            message = EmailMessage(email.subject, email.body, settings.DEFAULT_FROM_EMAIL, [email.to])
            if email.attachment:
                from .uploads import content_type_for, private_storage

                with private_storage().open(email.attachment, "rb") as f:
                    name = email.attachment_name or email.attachment.rsplit("/", 1)[-1]
                    message.attach(name, f.read(), content_type_for(name))
            message.send()
        except Exception as exc:  # the transport failed: retry later, give up after the schedule
            email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if email.attempts > len(EMAIL_RETRY_MINUTES):
                email.status = OutboundEmail.Status.FAILED
            else:
                email.next_attempt_at = now + timezone.timedelta(minutes=EMAIL_RETRY_MINUTES[email.attempts - 1])
            email.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            return False
        email.status = OutboundEmail.Status.SENT
        email.sent_at = now
        if email.sensitive:
            email.body = ""  # the link was for its recipient only
        email.save(update_fields=["attempts", "status", "sent_at", "body"])
        return True


def notify(
    *,
    users: Iterable,
    subject: str,
    template: str,
    subject_params: dict | None = None,
    context: dict | None = None,
    link: str = "",
    email: bool = True,
    extra_emails: Iterable[str] = (),
) -> list[Notification]:
    """Tell users something, in their own language: an in-app notice and (optionally) an e-mail.

    ``subject`` is a lazy translatable string (formatted with ``subject_params`` in the
    recipient's language); ``template`` renders the body. ``extra_emails``
    receive the e-mail too (a seller's bound address, for example).
    """
    return notify_many(
        [
            {
                "users": users,
                "subject": subject,
                "template": template,
                "subject_params": subject_params,
                "context": context,
                "link": link,
                "email": email,
                "extra_emails": extra_emails,
            }
        ]
    )


def notify_many(notices: Iterable[dict]) -> list[Notification]:
    """Several ``notify`` calls at once (their keyword arguments, one dict each): two INSERTs in all,
    for code that tells many people at a time (a batch of instances made)."""
    from .tasks import deliver_emails

    rows, emails = [], []
    for notice in notices:
        _compose(rows, emails, **notice)
    emails = OutboundEmail.objects.bulk_create(emails)
    if emails:
        ids = [email.pk for email in emails]
        send_after_commit(lambda: deliver_emails.delay(ids))
    return Notification.objects.bulk_create(rows)


def _compose(
    rows, emails, *, users, subject, template, subject_params=None, context=None, link="", email=True, extra_emails=()
):
    context = dict(context or {})
    context.setdefault("site_url", settings.SITE_URL)
    context.setdefault("link", link)
    sent_to = set()
    for user in users:
        with translation.override(user.language or settings.LANGUAGE_CODE):
            title = _subject(subject, subject_params)
            body = render_to_string(template, {**context, "user": user}).strip()
        rows.append(Notification(user=user, title=title, body=body, link=link))
        if email and user.email and user.email not in sent_to:
            sent_to.add(user.email)
            emails.append(OutboundEmail(to=user.email, subject=title[:255], body=_with_link(body, link)))
    with translation.override(settings.LANGUAGE_CODE):
        for address in extra_emails:
            if address and address not in sent_to:
                sent_to.add(address)
                body = render_to_string(template, {**context, "user": None}).strip()
                title = _subject(subject, subject_params)
                emails.append(OutboundEmail(to=address, subject=title[:255], body=_with_link(body, link)))


def _subject(subject, params) -> str:
    return str(subject) % params if params else str(subject)


def _with_link(body: str, link: str) -> str:
    if not link:
        return body
    return f"{body}\n\n{settings.SITE_URL}{link}"


def notification_mark_read(*, user, notification_id: int | None = None) -> int:
    """Mark one (or, without an id, all) of the user's notices read. Returns how many changed."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        qs = qs.filter(pk=notification_id)
    return qs.update(read_at=timezone.now())
