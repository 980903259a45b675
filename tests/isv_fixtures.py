"""Fixtures shared by the SaaS-delivery tests and the browser tests: a real sample ISV server on
127.0.0.1, a seller whose interface points at it, a SaaS product."""

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from marketplace.catalog.models import DeliveryKind
from marketplace.provisioning import services
from marketplace.provisioning.models import SellerIntegration
from marketplace.provisioning.sample_isv import start_sample_isv
from tests.factories import ProductFactory

ACCESS_KEY = "isv-test-produce-access-key"


@pytest.fixture(scope="session")
def isv_private_key():
    """One RSA-3072 key for the whole run: the sample ISV would otherwise make one per server."""
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


@pytest.fixture
def isv(isv_private_key):
    """The sample ISV over real HTTP on a free port; "hang" sleeps a little longer than TOTAL_TIMEOUT
    would allow once a test shortens it."""
    server = start_sample_isv(ACCESS_KEY, private_key=isv_private_key, hang_seconds=1.0)
    yield server
    server.stop()


@pytest.fixture
def integration(seller, isv):
    """The seller's produce, sync and deployment URLs point at the sample ISV, signed with its key."""
    services.access_key_issue(seller=seller, purpose="produce", secret=ACCESS_KEY)
    return SellerIntegration.objects.create(
        seller=seller, produce_url=isv.produce_url, sync_base_url=isv.sync_base_url, deploy_url=isv.deploy_url
    )


@pytest.fixture
def saas_product(seller):
    return ProductFactory(seller=seller, status="published", delivery_kind=DeliveryKind.SAAS)
