"""The sandbox payment gateway: stands in for a real online payment provider.

It charges instantly and keeps nothing. It fails a charge when asked to (``outcome="fail"``,
which the sandbox cashier page offers as a button and the API accepts as ``sandbox_outcome``)
or when ``SANDBOX_GATEWAY_FAIL_ALL`` is on. A real provider would plug in here with the same
two calls; its asynchronous notifications would call ``order_pay`` the same way.
"""

import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings


@dataclass(frozen=True)
class GatewayResult:
    ok: bool
    reference: str = ""
    message: str = ""


class SandboxGateway:
    name = "sandbox"

    def charge(self, *, amount: Decimal, currency: str, order_number: str, outcome: str = "succeed") -> GatewayResult:
        if settings.MARKETPLACE["SANDBOX_GATEWAY_FAIL_ALL"] or outcome == "fail":
            return GatewayResult(ok=False, message="card declined (sandbox)")
        return GatewayResult(ok=True, reference="SBX" + secrets.token_hex(10).upper())

    def refund(self, *, amount: Decimal, currency: str, reference: str) -> GatewayResult:
        return GatewayResult(ok=True, reference="SBXR" + secrets.token_hex(9).upper())


def gateway() -> SandboxGateway:
    return SandboxGateway()
