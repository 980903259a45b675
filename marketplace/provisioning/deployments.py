"""License auto-deployment: the buyer fills the seller's parameters, the seller's deploy endpoint
does the work (signed like a produce call), the buyer follows status and log. Independent of
service supervision."""

import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import BuyerMembership, User
from marketplace.catalog.models import DeliveryKind
from marketplace.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed, as_id
from marketplace.orders.models import Order, OrderLine

from .models import Deployment, ProduceMessage, SellerIntegration
from .services import _queue


def _own_line(actor: User, line_id) -> OrderLine:
    membership = getattr(actor, "buyer_membership", None)
    if membership is None:
        raise NotAllowed(_("Only buyer accounts can deploy."))
    lines = OrderLine.objects.select_related("order", "product", "plan").filter(
        pk=as_id(line_id, _("No such order line.")), order__buyer_id=membership.buyer_id
    )
    if membership.role != BuyerMembership.Role.ADMIN:
        lines = lines.filter(order__placed_by=actor)
    line = lines.first()
    if line is None:
        raise NotFound(_("No such order line."))
    return line


def deployment_start(*, actor: User, line_id, parameters: dict, now=None) -> Deployment:
    """Start deployment of a License the buyer holds, with the parameters the seller asks for."""
    now = now or timezone.now()
    line = _own_line(actor, line_id)
    product = line.product
    if product.delivery_kind != DeliveryKind.LICENSE or not product.auto_deploy:
        raise ValidationFailed(_("This product is not deployed automatically: the seller delivers it."))
    if line.order.status != Order.Status.PAID:
        raise Conflict(_("Only a paid order can be deployed."))
    integration = SellerIntegration.objects.filter(seller_id=line.seller_id).exclude(deploy_url="").first()
    if integration is None:
        raise Conflict(_("The seller has not set up automatic deployment yet; ask them to deliver it."))
    wanted = [p for p in product.deploy_parameters or [] if isinstance(p, dict) and p.get("name")]
    values, errors = {}, {}
    for spec in wanted:
        value = str((parameters or {}).get(spec["name"], "")).strip()
        if not value and spec.get("required", True):
            errors[spec["name"]] = [_("Required.")]
        values[spec["name"]] = value[:500]
    if errors:
        raise ValidationFailed(_("Please fill in the deployment parameters."), field_errors=errors)
    with transaction.atomic():
        if line.deployments.filter(status__in=[Deployment.Status.PENDING, Deployment.Status.RUNNING]).exists():
            raise Conflict(_("A deployment of this order is already in progress."))
        deployment = Deployment.objects.create(
            order_line=line, requested_by=actor, deployment_id=uuid.uuid4().hex, parameters=values, created_at=now
        )
        _queue(
            seller_id=line.seller_id,
            kind=ProduceMessage.Kind.DEPLOY,
            activity="deploy",
            order_line=line,
            now=now,
            payload={
                "deploymentId": deployment.deployment_id,
                "orderId": line.order.number,
                "orderLineId": str(line.pk),
                "productId": str(product.pk),
                "skuCode": line.plan.sku_code,
                "parameters": values,
                "testFlag": "0",
            },
        )
    return deployment


def deployment_answered(*, message: ProduceMessage, data: dict, now) -> None:
    """The seller's deploy endpoint answered: record status and log; poll again while it runs."""
    deployment = (
        Deployment.objects.select_for_update().filter(deployment_id=message.payload.get("deploymentId")).first()
    )
    if deployment is None:
        return
    status = str(data.get("status", "")).lower()
    deployment.log = str(data.get("log", ""))[:50_000]
    if status == "succeeded":
        deployment.status, deployment.finished_at = Deployment.Status.SUCCEEDED, now
    elif status == "failed":
        deployment.status, deployment.finished_at = Deployment.Status.FAILED, now
    else:
        deployment.status = Deployment.Status.RUNNING
        _queue(
            seller_id=message.seller_id,
            kind=ProduceMessage.Kind.DEPLOY,
            activity="queryDeployment",
            order_line=message.order_line,
            now=now + timezone.timedelta(seconds=10),
            payload={"deploymentId": deployment.deployment_id, "testFlag": "0"},
        )
    deployment.save(update_fields=["status", "log", "finished_at"])


def deployment_failed(*, message: ProduceMessage, now) -> None:
    Deployment.objects.filter(deployment_id=message.payload.get("deploymentId")).exclude(
        status=Deployment.Status.SUCCEEDED
    ).update(status=Deployment.Status.FAILED, finished_at=now, log=message.error)
