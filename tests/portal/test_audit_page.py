"""The audit log page: admins of the tenant only, filters, pagination, compact diffs, times
in the user's zone."""
import datetime as dt

import pytest

from portal.audit import audit_record
from portal.models import AuditEntry, UserProfile

URL = "/audit/"


def _entry(tenant, *, actor=None, action="update", object_type="devices.Device", object_id="1",
           when=None, before=None, after=None, repr_="cam-1"):
    entry = audit_record(tenant=tenant, actor=actor, action=action, object_type=object_type,
                         object_id=object_id, object_repr=repr_, before=before, after=after)
    if when is not None:
        AuditEntry.objects.filter(pk=entry.pk).update(created_at=when)
    return entry


@pytest.mark.django_db
def test_admin_sees_a_compact_diff_of_changed_fields_only(client_for, admin_user, tenant):
    _entry(tenant, actor=admin_user, before={"name": "Porch", "owner": "ann"},
           after={"name": "Front door", "owner": "ann"})
    body = client_for(admin_user).get(URL).content.decode()
    assert "<del>Porch</del> → <ins>Front door</ins>" in body
    assert "owner" not in body  # unchanged fields stay out of the way


@pytest.mark.django_db
def test_filters_by_type_action_actor_and_dates(client_for, admin_user, staff_user, tenant):
    day = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    _entry(tenant, actor=admin_user, action="create", object_type="portal.Membership", repr_="m-a", when=day)
    _entry(tenant, actor=staff_user, action="update", object_type="devices.Order", repr_="o-b",
           when=day + dt.timedelta(days=2))
    _entry(tenant, actor=staff_user, action="delete", object_type="devices.Order", repr_="o-c",
           when=day + dt.timedelta(days=5))
    client = client_for(admin_user)

    def shown(query):
        body = client.get(URL, query).content.decode()
        return {name for name in ("m-a", "o-b", "o-c") if name in body}

    assert shown({}) == {"m-a", "o-b", "o-c"}
    assert shown({"object_type": "devices.Order"}) == {"o-b", "o-c"}
    assert shown({"action": "delete"}) == {"o-c"}
    assert shown({"actor": staff_user.username}) == {"o-b", "o-c"}
    assert shown({"since": "2026-03-11", "until": "2026-03-12"}) == {"o-b"}
    assert shown({"until": "2026-03-10"}) == {"m-a"}


@pytest.mark.django_db
def test_bad_filter_input_is_a_400_with_a_message(client_for, admin_user, tenant):
    client = client_for(admin_user)
    response = client.get(URL, {"since": "2026-03-12", "until": "2026-03-01"})
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()
    assert client.get(URL, {"since": "yesterday"}).status_code == 400
    assert client.get(URL, {"action": "no-such-action"}).status_code == 400


@pytest.mark.django_db
def test_paginates_newest_first(client_for, admin_user, tenant):
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i in range(30):
        _entry(tenant, object_id=str(i), repr_=f"thing-{i:02d}", when=start + dt.timedelta(hours=i))
    client = client_for(admin_user)
    first = client.get(URL).content.decode()
    assert "thing-29" in first and "thing-05" in first and "thing-04" not in first
    assert "Page 1 of 2" in first
    second = client.get(URL, {"page": 2}).content.decode()
    assert "thing-04" in second and "thing-29" not in second
    # Nonsense page numbers fall back to a real page instead of an error.
    assert client.get(URL, {"page": "x"}).status_code == 200


@pytest.mark.django_db
def test_times_show_in_the_users_time_zone_else_the_tenants(client_for, admin_user, tenant):
    _entry(tenant, when=dt.datetime(2026, 1, 1, 0, 30, tzinfo=dt.UTC))
    client = client_for(admin_user)
    # tenant default: Asia/Shanghai (UTC+8)
    assert "2026-01-01 08:30:00" in client.get(URL).content.decode()
    UserProfile.objects.update_or_create(user=admin_user, defaults={"time_zone": "America/New_York"})
    body = client.get(URL).content.decode()
    assert "2025-12-31 19:30:00" in body and "America/New_York" in body


@pytest.mark.django_db
def test_date_filters_use_the_users_time_zone(client_for, admin_user, tenant):
    # 20:00 UTC on 10 March is already 11 March in Shanghai.
    _entry(tenant, repr_="late-evening", when=dt.datetime(2026, 3, 10, 20, tzinfo=dt.UTC))
    client = client_for(admin_user)
    assert "late-evening" in client.get(URL, {"since": "2026-03-11", "until": "2026-03-11"}).content.decode()
    assert "late-evening" not in client.get(URL, {"until": "2026-03-10"}).content.decode()


@pytest.mark.django_db
def test_never_shows_another_tenants_entries(client_for, admin_user, foreign_admin, tenant, other_tenant):
    _entry(tenant, repr_="ours-entry")
    _entry(other_tenant, repr_="theirs-entry", object_type="secret.Thing")
    body = client_for(admin_user).get(URL).content.decode()
    assert "ours-entry" in body
    assert "theirs-entry" not in body and "secret.Thing" not in body
    # Filtering on the foreign type is refused rather than answered.
    assert client_for(admin_user).get(URL, {"object_type": "secret.Thing"}).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("role_user", ["staff_user", "viewer_user"])
def test_lower_roles_cannot_read_the_log(request, client_for, role_user):
    assert client_for(request.getfixturevalue(role_user)).get(URL).status_code == 403


@pytest.mark.django_db
def test_actions_and_object_types_read_as_words(client_for, admin_user, staff_user, tenant):
    from portal.models import Membership
    membership = Membership.objects.get(user=staff_user)
    client = client_for(admin_user)
    client.post(f"/settings/members/{membership.id}/role/", {"role": "viewer"})
    body = client.get(URL).content.decode()
    assert ">changed</span>" in body and "membership #" in body
    zh = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert ">修改</span>" in zh and "成员关系 #" in zh
