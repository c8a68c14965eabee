"""`manage.py rotate_secrets` re-encrypts every SecretKey with the newest Fernet key."""
import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.test import override_settings

from portal.models import AuditEntry, CloudConnection
from tests.factories import CloudConnectionFactory

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


@pytest.mark.django_db
def test_rotation_moves_every_key_to_the_newest_and_old_keys_can_then_go(tenant, other_tenant, capsys):
    with override_settings(FERNET_KEYS=[OLD]):
        CloudConnectionFactory(tenant=tenant, secret="acme-secret")
        CloudConnectionFactory(tenant=other_tenant, secret="foreign-secret")
    with override_settings(FERNET_KEYS=[NEW, OLD]):
        call_command("rotate_secrets")
    assert "Re-encrypted 2 SecretKey(s)" in capsys.readouterr().out
    with override_settings(FERNET_KEYS=[NEW]):  # the old key is gone from the environment
        keys = {c.tenant.slug: c.secret_key for c in CloudConnection.objects.select_related("tenant")}
    assert keys == {"acme": "acme-secret", "foreign": "foreign-secret"}
    entries = AuditEntry.objects.filter(action="rotate")
    assert {e.tenant.slug for e in entries} == {"acme", "foreign"}
    assert all(e.actor_label == "rotate_secrets" and e.after is None for e in entries)


@pytest.mark.django_db
def test_rotation_stops_with_a_clear_message_when_a_key_is_missing(tenant):
    with override_settings(FERNET_KEYS=[OLD]):
        CloudConnectionFactory(tenant=tenant, secret="acme-secret")
    with override_settings(FERNET_KEYS=[NEW]), pytest.raises(CommandError, match="keep the old key"):
        call_command("rotate_secrets")
    with override_settings(FERNET_KEYS=[OLD]):
        assert CloudConnection.objects.get().secret_key == "acme-secret"
