"""An action that crashes answers InternalError with a RequestId (and is logged), in-process
through the same view the server runs."""
import json
import logging

import pytest

from localcloud.api.registry import ACTIONS, action
from localcloud.models import Product
from tests.localcloud_server import tc3_headers

pytestmark = pytest.mark.urls("localcloud.urls")


@pytest.fixture
def crashing_action():
    @action("TestCrash")
    def crash(p):
        p.finish()
        Product.objects.create(product_id="HALFDONE01", product_name="x", created_at=0,
                               updated_at=0)
        raise RuntimeError("boom")

    yield
    ACTIONS.pop("TestCrash")


def _post(client, action_name, body=b"{}"):
    from django.conf import settings

    headers = tc3_headers(host="testserver", action=action_name, body=body,
                          secret_id=settings.LOCALCLOUD_SECRET_ID,
                          secret_key=settings.LOCALCLOUD_SECRET_KEY)
    headers.pop("Content-Type")
    return client.post("/", data=body, content_type="application/json", headers=headers)


def test_a_crash_is_an_internal_error_and_leaves_nothing_behind(client, db, crashing_action,
                                                                   caplog):
    with caplog.at_level(logging.ERROR, logger="localcloud.api.views"):
        response = _post(client, "TestCrash")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)["Response"]
    assert body["Error"]["Code"] == "InternalError"
    assert body["RequestId"] in body["Error"]["Message"]
    assert body["RequestId"] in caplog.text
    assert not Product.objects.filter(product_id="HALFDONE01").exists()


def test_the_api_needs_no_csrf_token(db):
    from django.test import Client

    response = _post(Client(enforce_csrf_checks=True), "DescribeProducts")
    assert "Error" not in json.loads(response.content)["Response"]
