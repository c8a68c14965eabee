"""A user whose profile says Simplified Chinese gets the fleet, packages and playback pages in
Chinese (Tencent's console words: 云存套餐, 全时云存, 事件, 录像…), whatever the browser asks for;
and every entry of the catalogue has a translation."""
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from devices.models import Device, DeviceGrant, PackageState, Product
from devices.order_models import Order
from portal.models import UserProfile
from tests.devices.factories_packages import mirror_only_device
from tests.devices.test_fleet_support import make_device, make_product
from tests.factories import CloudConnectionFactory
from tests.localcloud.device_http import provision
from tests.portal.test_i18n import _po_entries

ENGLISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "en"}


def chinese(user):
    UserProfile.objects.update_or_create(user=user, defaults={"language": "zh-hans"})
    return user


def test_every_entry_of_the_catalogue_is_translated():
    missing = [msgid for msgid, msgstr, _refs in _po_entries() if msgid and not msgstr]
    assert missing == [], "translate these in locale/zh_Hans/LC_MESSAGES/django.po"


@pytest.mark.django_db
def test_admin_gets_the_fleet_page_in_chinese(client_for, admin_user, tenant):
    make_device(tenant, make_product(tenant, name="Cams"), name="alpha", online=1)
    body = client_for(chinese(admin_user)).get("/devices/", **ENGLISH_BROWSER).content.decode()
    for words in ("<h1>设备</h1>", "立即同步", "批量操作", "执行", "导出 CSV", "全选本页",
                  "最后在线", "在线", "应用", "重置"):
        assert words in body, words
    for words in ("Sync now", "Bulk action", "Last seen"):
        assert words not in body, words


@pytest.mark.django_db
def test_the_same_page_stays_english_for_an_english_profile(client_for, admin_user, tenant):
    UserProfile.objects.create(user=admin_user, language="en")
    body = client_for(admin_user).get("/devices/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "Sync now" in body and "立即同步" not in body


@pytest.mark.django_db
def test_staff_gets_the_orders_page_in_chinese(client_for, staff_user, tenant):
    cam = mirror_only_device(tenant, name="cam-a")
    Order.objects.create(tenant=tenant, device=cam, package_id="yc1m7d", state="failed",
                         failure_reason="x", price_cents=1250, currency="CNY",
                         created_at=datetime(2026, 10, 1, 9, 0, tzinfo=ZoneInfo("UTC")))
    body = client_for(chinese(staff_user)).get(reverse("devices:orders"),
                                               **ENGLISH_BROWSER).content.decode()
    for words in ("<h1>订单</h1>", "云存套餐", "续费", "消费", "价格", "订单号", "筛选",
                  "重试", "失败", "购买", "任意套餐", "1 个订单"):
        assert words in body, words
    assert "Any package" not in body and "Retry" not in body


@pytest.mark.django_db
def test_staff_gets_the_purchase_page_in_chinese(client_for, staff_user, tenant):
    lock = mirror_only_device(tenant, name="lock-b", picture=True)
    body = client_for(chinese(staff_user)).get(reverse("devices:purchase_new"), {"device": lock.pk},
                                               **ENGLISH_BROWSER).content.decode()
    for words in ("购买云存储", "已选择 1 台设备", "1 台图片流设备（仅可开通事件云存套餐）。",
                  "事件云存，1 周，录像保存 7 天", "核对"):
        assert words in body, words


@pytest.mark.django_db
def test_viewer_gets_my_cameras_in_chinese(client_for, viewer_user, tenant):
    device = make_device(tenant, name="cam1")
    DeviceGrant.objects.create(device=device, user=viewer_user)
    body = client_for(chinese(viewer_user)).get(reverse("playback:cameras"),
                                                **ENGLISH_BROWSER).content.decode()
    assert "<h1>我的摄像头</h1>" in body and "My cameras" not in body


@pytest.fixture
def _generous_rate_limit(settings):
    settings.IOTVIDEO_RATE_PER_SECOND = 1000
    settings.IOTVIDEO_RATE_BURST = 1000


@pytest.mark.django_db
def test_viewer_gets_the_playback_page_in_chinese(client_for, viewer_user, tenant, localcloud,
                                                  sdk_client, _generous_rate_limit):
    """A full-time camera with its package in force and nothing recorded yet: player, timeline,
    calendar and clip tools, all in Chinese."""
    camera = provision(sdk_client, localcloud, package="yc1m3d")
    CloudConnectionFactory(tenant=tenant, kind="local", endpoint=localcloud.url,
                           secret_id=localcloud.secret_id, secret=localcloud.secret_key)
    product = Product.objects.create(tenant=tenant, product_id=camera.product_id, name="Cams")
    device = Device.objects.create(tenant=tenant, product=product, name=camera.device_name,
                                   online=1, package_state=PackageState.ACTIVE)
    DeviceGrant.objects.create(device=device, user=viewer_user)

    response = client_for(chinese(viewer_user)).get(reverse("playback:device", args=[device.pk]),
                                                    **ENGLISH_BROWSER)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'class="notice notice-error"' not in body  # the page read the cloud
    for words in ("播放器", ">播放</button>", "倍速", ">24 小时</button>", ">10 分钟</button>",
                  "当天没有录像。", "下载片段", "下载 MP4", "分享片段", "链接有效期", "创建链接",
                  "分享链接", "上个月", "下个月", "日的事件</h2>"):
        assert words in body, words
    assert re.search(r"<strong>\d{4}年\d{1,2}月</strong>", body)  # the calendar's month
    for words in (">Play</button>", "Download a clip", "No recordings on this day."):
        assert words not in body, words
