"""How the platform reaches each seller's servers (ISV interface, specs/isv-interface.md)."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Seller
from marketplace.core.crypto import EncryptedTextField
from marketplace.orders.models import OrderLine, Subscription


class SellerIntegration(models.Model):
    """A seller's endpoints: where produce and sync calls go."""

    seller = models.OneToOneField(
        Seller, on_delete=models.CASCADE, related_name="integration", verbose_name=_("seller")
    )
    produce_url = models.URLField(_("produce URL"), blank=True)
    sync_base_url = models.URLField(_("sync base URL"), blank=True)
    deploy_url = models.URLField(_("deployment URL"), blank=True, help_text=_("License products' auto-deployment."))
    rsa_public_key = models.TextField(_("RSA public key (PEM)"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("seller integration")
        verbose_name_plural = _("seller integrations")

    def __str__(self):
        return str(self.seller)


def new_key_id() -> str:
    return "AK" + secrets.token_hex(10).upper()


class AccessKey(models.Model):
    """A secret shared with a seller: signs produce calls, or the seller's open-API requests."""

    class Purpose(models.TextChoices):
        PRODUCE = "produce", _("Produce interface")
        OPEN_API = "open_api", _("Seller open API")

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="access_keys", verbose_name=_("seller"))
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    key_id = models.CharField(_("key id"), max_length=32, unique=True, default=new_key_id)
    secret = EncryptedTextField(_("secret"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("access key")
        verbose_name_plural = _("access keys")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "purpose"], condition=Q(revoked_at__isnull=True), name="one_active_key_per_purpose"
            )
        ]

    def __str__(self):
        return self.key_id


class Instance(models.Model):
    """What a seller's server made for one order line: at most one per line, in the database."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Running")
        FROZEN = "frozen", _("Frozen")
        RELEASED = "released", _("Released")

    order_line = models.OneToOneField(
        OrderLine, on_delete=models.PROTECT, related_name="instance", verbose_name=_("order line")
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="instances", verbose_name=_("purchased service")
    )
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="instances", verbose_name=_("seller"))
    instance_id = models.CharField(_("instance id"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    front_end_url = models.URLField(_("front-end URL"), max_length=500)
    admin_url = models.URLField(_("admin URL"), max_length=500, blank=True)
    username = EncryptedTextField(_("user name"), blank=True)
    password = EncryptedTextField(_("password"), blank=True)
    memo = models.TextField(_("memo"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("instance")
        verbose_name_plural = _("instances")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["seller", "instance_id"], name="instance_id_unique_per_seller"),
        ]

    def __str__(self):
        return self.instance_id


class ProduceMessage(models.Model):
    """A call to a seller's server, written in the business transaction and delivered by a worker
    (the outbox). Produce calls, sync calls and deployments all travel this way."""

    class Kind(models.TextChoices):
        PRODUCE = "produce", _("Produce call")
        SYNC = "sync", _("Sync call")
        DEPLOY = "deploy", _("Deployment")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed")
        PARKED = "parked", _("Parked for operations")
        CANCELLED = "cancelled", _("Cancelled")

    seller = models.ForeignKey(
        Seller, on_delete=models.CASCADE, related_name="produce_messages", verbose_name=_("seller")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PRODUCE)
    activity = models.CharField(_("activity"), max_length=32)
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, null=True, blank=True, related_name="produce_messages"
    )
    instance = models.ForeignKey(Instance, on_delete=models.PROTECT, null=True, blank=True, related_name="messages")
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    rounds = models.PositiveSmallIntegerField(
        _("failed rounds"), default=0, help_text=_("newInstance: scheduled attempts that failed (polls not counted).")
    )
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    lease_until = models.DateTimeField(_("being delivered until"), null=True, blank=True)
    polling_until = models.DateTimeField(_("polling until"), null=True, blank=True)
    pending_instance_id = models.CharField(
        _("instance being made"), max_length=64, blank=True, help_text=_("newInstance answered 000004: polled.")
    )
    result_code = models.CharField(_("result code"), max_length=8, blank=True)
    error = models.TextField(_("error"), blank=True)
    seller_error = models.TextField(
        _("seller error"),
        blank=True,
        help_text=_("The seller's server broke the protocol (e.g. a second instance id)."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("produce message")
        verbose_name_plural = _("produce messages")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["seller", "-created_at"]),
        ]

    def __str__(self):
        return f"{self.activity} #{self.pk}"

    @property
    def is_retryable_by_seller(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.PARKED) and self.attempts > 0


class ProduceAttempt(models.Model):
    """One HTTP exchange of a message: what was sent, what came back, how long it took."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Success")
        RETRY = "retry", _("Will retry")
        FAILURE = "failure", _("Failed")

    message = models.ForeignKey(ProduceMessage, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField(_("time"), default=timezone.now)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    url = models.TextField(_("URL"))
    request_body = models.TextField(_("request"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    response_body = models.TextField(_("response"), blank=True)
    result_code = models.CharField(_("result code"), max_length=8, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("produce attempt")
        verbose_name_plural = _("produce attempts")
        ordering = ["started_at", "id"]

    def __str__(self):
        return f"{self.message} @ {self.started_at:%Y-%m-%d %H:%M:%S}"


class ConformanceRun(models.Model):
    """A check of a seller's produce interface against the protocol (interface debugging)."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="conformance_runs")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    produce_url = models.URLField(_("produce URL"))
    passed = models.BooleanField(_("passed"), default=False)
    report = models.JSONField(_("report"), default=list)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("conformance run")
        verbose_name_plural = _("conformance runs")
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.seller} {self.started_at:%Y-%m-%d %H:%M}"


class Deployment(models.Model):
    """A buyer's auto-deployment of a License product, carried out by the seller's deploy endpoint."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Queued")
        RUNNING = "running", _("Deploying")
        SUCCEEDED = "succeeded", _("Deployed")
        FAILED = "failed", _("Failed")

    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="deployments")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    deployment_id = models.CharField(max_length=36, unique=True)
    parameters = models.JSONField(_("parameters"), default=dict)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    log = models.TextField(_("log"), blank=True)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("deployment")
        verbose_name_plural = _("deployments")
        ordering = ["-created_at"]

    def __str__(self):
        return self.deployment_id
