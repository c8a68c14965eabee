"""An end user in a real browser: logs in, opens a camera, plays an event, seeks on the
timeline, and plays a picture-stream event (canvas + audio)."""
import pytest
from django.urls import reverse

from devices.models import Device, DeviceGrant, PackageState, Product, StreamKind
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def mirror(tenant, footage, user):
    picture = footage.mode == "picture"
    product, _ = Product.objects.get_or_create(
        tenant=tenant, product_id=footage.camera.product_id,
        defaults={"name": "Cams", "category_id": 595 if picture else 0,
                  "stream_kind": StreamKind.PICTURE if picture else StreamKind.VIDEO})
    device = Device.objects.create(tenant=tenant, product=product, name=footage.camera.device_name,
                                   online=1, package_state=PackageState.ACTIVE,
                                   nickname=f"{footage.mode} camera")
    DeviceGrant.objects.create(device=device, user=user)
    return device


def log_in(page, live_server, user):
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_load_state()


def test_end_user_plays_an_event_and_seeks_on_the_timeline(page, live_server, browser_tenant,
                                                           viewer_user, event_footage):
    device = mirror(browser_tenant, event_footage, viewer_user)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server, viewer_user)

    page.goto(live_server.url + reverse("playback:cameras"))
    page.click(f"a[href='{reverse('playback:device', args=[device.pk])}']")
    page.wait_for_load_state()
    if f"day={event_footage.day}" not in page.url:
        page.goto(page.url.split("?")[0] + f"?day={event_footage.day.isoformat()}")

    # Click the oldest event: the video plays from its start.
    cards = page.locator(".event-card")
    assert cards.count() == 4
    first = cards.last
    first_start = int(first.get_attribute("data-start"))
    first.locator(".event-play").click()
    page.wait_for_function("() => document.querySelector('#player video').currentTime > 1.0",
                           timeout=20_000)
    wall = page.evaluate("document.getElementById('player').player.currentWall()")
    assert first_start <= wall <= first_start + 15

    # Zoom to 10 min and click the timeline 5 s into the third recording.
    spans = page.evaluate("document.getElementById('player').timeline.spans")
    target = spans[2][0] + 5
    page.click("[data-zoom='600']")
    box = page.locator(".timeline").bounding_box()
    view_start, zoom = page.evaluate(
        "[document.getElementById('player').timeline.viewStart,"
        " document.getElementById('player').timeline.zoom]")
    x = box["x"] + (target - view_start) / zoom * box["width"]
    page.mouse.click(x, box["y"] + box["height"] / 2)
    page.wait_for_function(
        f"""() => {{ const p = document.getElementById('player').player;
             const w = p.currentWall();
             return w !== null && w >= {target - 2} && w <= {target + 6} && !p.video.paused; }}""",
        timeout=20_000)
    t0 = page.evaluate("document.querySelector('#player video').currentTime")
    page.wait_for_timeout(1500)
    t1 = page.evaluate("document.querySelector('#player video').currentTime")
    assert t1 > t0 + 0.5  # playback resumed at the clicked time

    # Keyboard on the timeline: "-" zooms out to 1 h, space pauses.
    page.focus(".timeline")
    page.keyboard.press("-")
    assert page.get_attribute("[data-zoom='3600']", "aria-pressed") == "true"
    page.keyboard.press(" ")
    assert page.evaluate("document.querySelector('#player video').paused")
    # Hovering shows the time under the pointer.
    page.mouse.move(x, box["y"] + 10)
    assert page.locator(".tl-hover").is_visible()
    assert not errors


def test_end_user_plays_a_picture_stream_event(page, live_server, browser_tenant, viewer_user,
                                               picture_footage):
    device = mirror(browser_tenant, picture_footage, viewer_user)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server, viewer_user)
    page.goto(live_server.url + reverse("playback:device", args=[device.pk])
              + f"?day={picture_footage.day.isoformat()}")
    cards = page.locator(".event-card")
    assert cards.count() == 3
    cards.first.locator(".event-play").click()
    page.wait_for_function("() => document.querySelector('#picture-player canvas').dataset.frame >= '0'",
                           timeout=15_000)
    sample = """(() => { const c = document.querySelector('#picture-player canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let h = 0; for (let i = 0; i < d.length; i += 97) h = (h * 31 + d[i]) | 0; return h; })()"""
    first = page.evaluate(sample)
    page.wait_for_function("() => document.querySelector('#picture-player audio').currentTime > 1.0",
                           timeout=15_000)
    second = page.evaluate(sample)
    assert first != second  # the canvas moved on with the frames
    frame = int(page.evaluate("document.querySelector('#picture-player canvas').dataset.frame"))
    assert frame > 0
    assert not errors
