"""Browser tests: the portal on pytest-django's live server (on a port of its own), a localcloud
that allows the live server's origin (CORS), and Debian's chromium driven by Playwright."""
import os
import shutil
import socket

import pytest

# The playback fixtures (footage recorded by the simulator, portal mirror rows).
from tests.playback.conftest import (  # noqa: F401
    _generous_rate_limit,
    event_footage,
    picture_footage,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _free_port_in(first: int, last: int) -> int | None:
    for port in range(first, last + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return None


# Playwright's sync API keeps an asyncio loop running in the test's thread; the test's own
# database calls are still plain synchronous ones, so Django's guard is lifted for them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# This machine is shared: the live server takes a port of playback's range when one is free.
if not os.environ.get("DJANGO_LIVE_TEST_SERVER_ADDRESS"):
    _port = _free_port_in(8220, 8229)
    if _port:
        os.environ["DJANGO_LIVE_TEST_SERVER_ADDRESS"] = f"127.0.0.1:{_port}"


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip("chromium is not installed (scripts/install-browser installs Debian's)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def cors_cloud(localcloud_factory, live_server):
    """The session's cloud (same database and media) behind a door that lets the live
    server's pages fetch its media."""
    return localcloud_factory(env={"LOCALCLOUD_CORS_ORIGINS": live_server.url})


@pytest.fixture
def browser_tenant(transactional_db, tenant, cors_cloud, settings, live_server):
    from django.utils.csp import CSP

    from tests.factories import CloudConnectionFactory

    CloudConnectionFactory(tenant=tenant, kind="local", endpoint=cors_cloud.url,
                           secret_id=cors_cloud.secret_id, secret=cors_cloud.secret_key)
    tenant.time_zone = "Asia/Shanghai"
    tenant.save()
    settings.MEDIA_ORIGINS = [cors_cloud.url]
    csp = dict(settings.SECURE_CSP)
    for directive in ("img-src", "media-src", "connect-src"):
        csp[directive] = [CSP.SELF, "data:", "blob:", cors_cloud.url]
    settings.SECURE_CSP = csp
    return tenant
