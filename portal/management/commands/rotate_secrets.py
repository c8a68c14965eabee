"""Re-encrypt every stored SecretKey with the newest FERNET_KEYS key, so older keys can be
removed from the environment afterwards."""
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal import crypto
from portal.audit import audit_record
from portal.models import CloudConnection


class Command(BaseCommand):
    help = "Re-encrypt all tenants' SecretKeys with the first (newest) key of FERNET_KEYS."

    def handle(self, *args, **options):
        rotated = 0
        for connection_id in CloudConnection.objects.values_list("pk", flat=True).order_by("pk"):
            # One row at a time, locked, so a concurrent settings save is not overwritten.
            with transaction.atomic():
                connection = (CloudConnection.objects.select_for_update()
                              .select_related("tenant").get(pk=connection_id))
                try:
                    connection.secret_key_encrypted = crypto.rotate(connection.secret_key_encrypted)
                except ValueError as error:
                    raise CommandError(
                        f"The SecretKey of tenant {connection.tenant.slug!r} cannot be decrypted "
                        "with any key in FERNET_KEYS; keep the old key in the list until this "
                        "command succeeds.") from error
                connection.save(update_fields=["secret_key_encrypted"])
                audit_record(tenant=connection.tenant, action="rotate", obj=connection,
                             actor_label="rotate_secrets")
            rotated += 1
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {rotated} SecretKey(s) with the newest key."))
