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


# --- A live localcloud (see docs/testing.md) ------------------------------------------------
@pytest.fixture(scope="session")
def localcloud():
    """`manage.py runlocalcloud` on a free port with its own database and media root; the same
    server for the whole session (tests create their own products so they do not collide)."""
    from tests.localcloud_server import start_localcloud

    server = start_localcloud()
    yield server
    server.stop()


@pytest.fixture
def localcloud_factory(localcloud):
    """localcloud_factory(faults="RequestLimitExceeded:1", env={}, share=True) -> another server,
    stopped after the test. share=True: same database and media as `localcloud`."""
    from tests.localcloud_server import start_localcloud

    started = []

    def start(*, faults: str = "", env: dict | None = None, share: bool = True):
        server = start_localcloud(faults=faults, env=env, label=f"extra{len(started)}",
                                  share_with=localcloud if share else None)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def sdk_client(localcloud):
    """The official IotvideoClient talking to the session's localcloud over HTTP."""
    from tests.localcloud_server import sdk_client_for

    return sdk_client_for(localcloud)
