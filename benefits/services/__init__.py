"""Every write about merchant benefits (DOMAIN.md section 9): benefit applications decided in
arrival order (``applications``), the merchant acceleration plan with its signed agreement
(``acceleration``) and marketing-support applications (``marketing``)."""

from .acceleration import approved_plan, current_plan, plan_apply, plan_approve, plan_reject, plan_threshold, year_gmv
from .applications import benefit_apply, benefit_grant, benefit_reject, benefit_verify, benefit_withdraw
from .marketing import (
    marketing_accept,
    marketing_approve,
    marketing_attachment_remove,
    marketing_pay,
    marketing_reject,
    marketing_request_changes,
    marketing_return,
    marketing_save,
    marketing_submit,
    marketing_submit_acceptance,
    marketing_withdraw,
    not_open_reason,
)

__all__ = [
    "approved_plan",
    "benefit_apply",
    "benefit_grant",
    "benefit_reject",
    "benefit_verify",
    "benefit_withdraw",
    "current_plan",
    "marketing_accept",
    "marketing_approve",
    "marketing_attachment_remove",
    "marketing_pay",
    "marketing_reject",
    "marketing_request_changes",
    "marketing_return",
    "marketing_save",
    "marketing_submit",
    "marketing_submit_acceptance",
    "marketing_withdraw",
    "not_open_reason",
    "plan_apply",
    "plan_approve",
    "plan_reject",
    "plan_threshold",
    "year_gmv",
]
