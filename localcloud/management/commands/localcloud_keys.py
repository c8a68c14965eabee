"""Manage the API key pairs localcloud accepts besides the environment's demo pair."""
import secrets
import string

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from localcloud.models import ApiKey

_ALPHABET = string.ascii_letters + string.digits


class Command(BaseCommand):
    help = "Create, list or revoke localcloud API keys (SecretId/SecretKey pairs)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="command", required=True)
        create = sub.add_parser("create", help="create a key pair and print it once")
        create.add_argument("--description", default="")
        sub.add_parser("list", help="list key pairs (SecretKeys are never shown again)")
        revoke = sub.add_parser("revoke", help="revoke a key pair: its requests are refused")
        revoke.add_argument("secret_id")

    def handle(self, *args, command, **options):
        getattr(self, f"_{command}")(**options)

    def _create(self, *, description: str, **_):
        # Tencent-shaped: "AKID" + 32 characters, and a 32-character key.
        secret_id = "AKID" + "".join(secrets.choice(_ALPHABET) for _ in range(32))
        secret_key = "".join(secrets.choice(_ALPHABET) for _ in range(32))
        ApiKey.objects.create(secret_id=secret_id, secret_key=secret_key,
                              description=description[:200])
        self.stdout.write(f"SecretId:  {secret_id}\nSecretKey: {secret_key}")

    def _list(self, **_):
        keys = ApiKey.objects.order_by("created_at")
        if not keys:
            self.stdout.write("No stored keys (the LOCALCLOUD_SECRET_ID pair is always accepted).")
        for key in keys:
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            self.stdout.write(f"{key.secret_id}\t{state}\t{key.created_at:%Y-%m-%d %H:%M}\t"
                              f"{key.description}")

    def _revoke(self, *, secret_id: str, **_):
        updated = ApiKey.objects.filter(secret_id=secret_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        if not updated:
            raise CommandError(f"No active key with SecretId {secret_id}.")
        self.stdout.write(f"Revoked {secret_id}.")
