from django.contrib.auth.decorators import login_required
from django.http import Http404

from marketplace.core.views import private_download

from ..models import SellerInvoice


@login_required
def seller_invoice_file(request, pk):
    """The PDF of a seller's invoice: for that seller's administrators and finance staff, and
    for operations staff who verify invoices."""
    invoice = SellerInvoice.objects.select_related("statement").filter(pk=pk).first()
    if invoice is None:
        raise Http404
    user = request.user
    membership = getattr(user, "seller_membership", None)
    own = (
        membership is not None
        and membership.seller_id == invoice.statement.seller_id
        and membership.role in ("admin", "finance")
    )
    staff = user.is_staff and user.has_perm("invoicing.view_sellerinvoice")
    if not (own or staff):
        raise Http404
    return private_download(invoice.file, f"invoice-{invoice.pk}.pdf")
