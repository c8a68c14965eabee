"""Share links: made by anyone who may see the device, open without login until they expire
or are revoked, limited to their range, each view logged."""
from datetime import timedelta

import pytest
import requests
import time_machine
from django.urls import reverse
from django.utils import timezone

from playback.models import ShareLink, ShareView
from portal.models import AuditEntry

pytestmark = pytest.mark.django_db


def make_link(client, device, footage, *, start_offset=0, seconds=60, hours=1):
    start = footage.start + start_offset
    resp = client.post(reverse("playback:share_create", args=[device.pk]),
                       {"start": start, "end": start + seconds, "hours": hours})
    assert resp.status_code == 302
    return ShareLink.objects.get(device=device)


def test_viewer_shares_a_clip_that_plays_without_login(client_for, viewer_user, fulltime_footage,
                                                       mirror, client):
    device = mirror(fulltime_footage, grant_to=viewer_user)
    link = make_link(client_for(viewer_user), device, fulltime_footage, seconds=30, hours=24)
    assert timedelta(hours=23, minutes=59) < link.expires_at - timezone.now() <= timedelta(hours=24)
    assert AuditEntry.objects.filter(action="share", object_id=str(link.pk)).exists()

    client.logout()
    page = client.get(reverse("playback_share:page", args=[link.token]))
    assert page.status_code == 200 and 'data-share-source="' in page.text
    source = client.get(reverse("playback_share:source", args=[link.token])).json()
    # Exactly the shared range, nothing around it.
    assert source["start"] == link.start.timestamp() and source["end"] == link.end.timestamp()
    playlist = requests.get(source["url"], timeout=10).text
    assert playlist.count("#EXTINF") == 3  # 30 s of 10 s segments
    assert list(ShareView.objects.filter(link=link).values_list("what", flat=True)) == \
        ["signed-url", "page"]


def test_shared_clip_downloads_as_mp4(client_for, viewer_user, fulltime_footage, mirror, client):
    device = mirror(fulltime_footage, grant_to=viewer_user)
    link = make_link(client_for(viewer_user), device, fulltime_footage, seconds=20)
    client.logout()
    resp = client.get(reverse("playback_share:download", args=[link.token]))
    assert resp.status_code == 200 and resp["Content-Type"] == "video/mp4"
    assert len(b"".join(resp.streaming_content)) > 10_000


def test_expired_link_is_gone(client_for, viewer_user, fulltime_footage, mirror, client):
    device = mirror(fulltime_footage, grant_to=viewer_user)
    link = make_link(client_for(viewer_user), device, fulltime_footage, hours=1)
    client.logout()
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        page = client.get(reverse("playback_share:page", args=[link.token]))
        assert page.status_code == 410 and "expired" in page.text
        assert client.get(reverse("playback_share:source", args=[link.token])).status_code == 410
        assert client.get(reverse("playback_share:download", args=[link.token])).status_code == 410
    assert not ShareView.objects.filter(link=link).exists()


def test_revoked_link_is_gone_and_only_its_maker_or_an_admin_revokes(
        client_for, viewer_user, admin_user, fulltime_footage, mirror, client, django_user_model):
    from portal.models import Membership, Role
    device = mirror(fulltime_footage, grant_to=viewer_user)
    link = make_link(client_for(viewer_user), device, fulltime_footage)
    other_viewer = django_user_model.objects.create_user("other-viewer")
    Membership.objects.create(user=other_viewer, tenant=device.tenant, role=Role.VIEWER)
    from devices.models import DeviceGrant
    DeviceGrant.objects.create(device=device, user=other_viewer)
    revoke = reverse("playback:share_revoke", args=[device.pk, link.pk])
    assert client_for(other_viewer).post(revoke).status_code == 404
    assert client_for(admin_user).post(revoke).status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None
    client.logout()
    page = client.get(reverse("playback_share:page", args=[link.token]))
    assert page.status_code == 410 and "revoked" in page.text


@pytest.mark.parametrize("hours, seconds, message", [
    (0, 60, "between 1 hour and 7 days"),
    (169, 60, "between 1 hour and 7 days"),
    (24, 31 * 60, "30 minutes"),
    ("x", 60, "in hours"),
])
def test_share_validation_is_said_plainly(client_for, viewer_user, fulltime_footage, mirror,
                                          hours, seconds, message):
    device = mirror(fulltime_footage, grant_to=viewer_user)
    client = client_for(viewer_user)
    start = fulltime_footage.start
    resp = client.post(reverse("playback:share_create", args=[device.pk]),
                       {"start": start, "end": start + seconds, "hours": hours}, follow=True)
    assert message in resp.text
    assert not ShareLink.objects.exists()


def test_unknown_token_is_404(client):
    assert client.get(reverse("playback_share:page", args=["nope"])).status_code == 404


def test_shared_picture_event_plays_its_mjpeg_and_aac(client_for, viewer_user, picture_footage,
                                                      mirror, client):
    device = mirror(picture_footage, grant_to=viewer_user)
    viewer = client_for(viewer_user)
    page = viewer.get(reverse("playback:device", args=[device.pk]),
                      {"day": picture_footage.day.isoformat()}).text
    card = page.split('class="event-card"')[1]
    event_id = card.split('data-event-id="')[1].split('"')[0]
    start = card.split('data-start="')[1].split('"')[0]
    resp = viewer.post(reverse("playback:share_create", args=[device.pk]),
                       {"event_id": event_id, "start": start, "hours": 24})
    assert resp.status_code == 302
    link = ShareLink.objects.get(device=device)
    assert link.kind == ShareLink.Kind.EVENT and link.event_id == event_id
    client.logout()
    page = client.get(reverse("playback_share:page", args=[link.token]))
    assert 'id="picture-player"' in page.text
    data = client.get(reverse("playback_share:source", args=[link.token])).json()
    assert requests.get(data["video_url"], timeout=10).content[:2] == b"\xff\xd8"
