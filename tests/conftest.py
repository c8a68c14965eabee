"""Fixtures shared by the whole suite: tenants, users in each role, logged-in clients."""
import pytest

from portal.models import Role
from tests.factories import MembershipFactory, TenantFactory


@pytest.fixture
def tenant(db):
    return TenantFactory(name="Acme Cameras", slug="acme")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(name="Foreign Cams", slug="foreign")


def _member(tenant, role):
    return MembershipFactory(tenant=tenant, role=role).user


@pytest.fixture
def admin_user(tenant):
    return _member(tenant, Role.ADMIN)


@pytest.fixture
def staff_user(tenant):
    return _member(tenant, Role.STAFF)


@pytest.fixture
def viewer_user(tenant):
    return _member(tenant, Role.VIEWER)


@pytest.fixture
def foreign_admin(other_tenant):
    return _member(other_tenant, Role.ADMIN)


@pytest.fixture
def client_for(client):
    """client_for(user) -> the test client logged in as that user."""

    def login(user):
        client.force_login(user)
        return client

    return login
