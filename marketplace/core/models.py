"""Platform-wide records: the e-mail outbox, in-app notifications, and base classes."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _


class AttachmentBase(models.Model):
    """A private file someone uploaded to a conversation or an application; the subclass names what
    it belongs to and the ``file`` field (its folder in private storage)."""

    name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.name

    @classmethod
    def store(cls, files, *, uploaded_by, created_at, stored: list, **owner) -> None:
        """A row per uploaded file, each appended to ``stored`` (so that a failed transaction's
        files are removed from storage: ``core.uploads.files_kept_only_on_success``)."""
        for f in files:
            stored.append(
                cls.objects.create(
                    file=f, name=f.name[:200], size=f.size, uploaded_by=uploaded_by, created_at=created_at, **owner
                )
            )


class EventBase(models.Model):
    """One row per state transition: who moved what, from where to where, why, when."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    from_status = models.CharField(pgettext_lazy("status change", "from"), max_length=32, blank=True)
    to_status = models.CharField(pgettext_lazy("status change", "to"), max_length=32, blank=True)
    # What the system says, as a message id translated when shown (in the reader's language) ...
    note = models.CharField(pgettext_lazy("event", "note"), max_length=200, blank=True)
    params = models.JSONField(_("note parameters"), default=dict, blank=True)
    # ... and what a person typed (a reason, an answer), shown as typed.
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    # The subclass names the Status choices of the model it records, for labels.
    status_choices: type[models.TextChoices] | None = None

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    @property
    def to_label(self) -> str:
        labels = dict(self.status_choices.choices) if self.status_choices else {}
        return str(labels.get(self.to_status, self.to_status))

    @property
    def moved(self) -> bool:
        return self.from_status != self.to_status

    @property
    def text(self) -> str:
        """The event's words in the active language."""
        note = ""
        if self.note:
            note = gettext(self.note)
            if self.params:
                note = note % {k: gettext(v) if isinstance(v, str) and v else v for k, v in self.params.items()}
        if note and self.message:
            return gettext("%(note)s: %(message)s") % {"note": note, "message": self.message}
        return note or self.message


class OutboundEmail(models.Model):
    """An e-mail written in the business transaction and delivered by a worker."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    to = models.EmailField(pgettext_lazy("e-mail recipient", "to"))
    subject = models.CharField(_("subject"), max_length=255)
    body = models.TextField(_("body"))
    sensitive = models.BooleanField(
        _("holds a secret link"),
        default=False,
        help_text=_("Password resets and invitations: the body is hidden in the back office and erased once sent."),
    )
    # A file in private storage sent along (an invoice PDF), and the name the recipient sees.
    attachment = models.CharField(_("attachment"), max_length=255, blank=True)
    attachment_name = models.CharField(_("attachment name"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound e-mail")
        verbose_name_plural = _("outbound e-mails")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"{self.to}: {self.subject}"


class Notification(models.Model):
    """An in-app notice for one user."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("user")
    )
    title = models.CharField(_("title"), max_length=255)
    body = models.TextField(_("body"), blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self):
        return self.title


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("audit entries are never changed")

    def delete(self):
        raise PermissionError("audit entries are never deleted")


class AuditEntry(models.Model):
    """One change of money or of permissions: who, what, to which object, from where. Append-only:
    the model refuses updates and deletes, and so does the database (a trigger, migration 0004).
    Written by ``marketplace.core.audit``; read by operations and finance in the admin."""

    class Category(models.TextChoices):
        MONEY = "money", _("Money")
        PERMISSION = "permission", _("Permissions")

    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    # No database constraint: an entry outlives whatever it names and never blocks a deletion.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_repr = models.CharField(_("actor"), max_length=254, blank=True)
    object_type = models.CharField(_("object type"), max_length=100, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64, db_index=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=128, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("audit entries are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit entries are never deleted")
