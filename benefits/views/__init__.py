"""Merchant benefits in the seller center: the GMV page with benefit applications (``gmv``) and the
cooperation applications, the acceleration plan and marketing support (``cooperation``)."""

from .cooperation import (
    seller_acceleration_agreement_pdf,
    seller_acceleration_plan,
    seller_cooperation,
    seller_marketing_support,
    seller_marketing_support_acceptance,
    seller_marketing_support_detail,
    seller_marketing_support_edit,
    seller_marketing_support_file,
    seller_marketing_support_file_remove,
    seller_marketing_support_new,
    seller_marketing_support_submit,
    seller_marketing_support_withdraw,
)
from .gmv import seller_benefit_apply, seller_benefit_withdraw, seller_benefits

__all__ = [
    "seller_acceleration_agreement_pdf",
    "seller_acceleration_plan",
    "seller_benefit_apply",
    "seller_benefit_withdraw",
    "seller_benefits",
    "seller_cooperation",
    "seller_marketing_support",
    "seller_marketing_support_acceptance",
    "seller_marketing_support_detail",
    "seller_marketing_support_edit",
    "seller_marketing_support_file",
    "seller_marketing_support_file_remove",
    "seller_marketing_support_new",
    "seller_marketing_support_submit",
    "seller_marketing_support_withdraw",
]
