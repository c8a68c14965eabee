"""`manage.py seed_demo`: the demo tenants, one user per role and a localcloud connection, then
the demo steps of the other apps. Idempotent: running it again leaves the same state."""
import importlib
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from portal.models import CloudConnection, Membership, Role, Tenant, UserProfile

DEMO_TENANT = {"slug": "demo", "name": "Demo Cameras", "time_zone": "Asia/Shanghai"}
SECOND_TENANT = {"slug": "second-sight", "name": "Second Sight Cameras", "time_zone": "Europe/Berlin"}
# username -> (role in the demo tenant, password)
DEMO_USERS = {
    "admin": (Role.ADMIN, "demo-admin-2026"),
    "staff": (Role.STAFF, "demo-staff-2026"),
    "viewer": (Role.VIEWER, "demo-viewer-2026"),
}


@dataclass
class DemoContext:
    """What the demo steps share; later steps (devices, packages, footage) read and extend it."""

    tenant: Tenant
    second_tenant: Tenant
    users: dict[str, object] = field(default_factory=dict)  # role -> user of the demo tenant
    passwords: dict[str, str] = field(default_factory=dict)  # username -> password
    stdout: object = None


def seed_tenants() -> tuple[Tenant, Tenant]:
    tenants = []
    for spec in (DEMO_TENANT, SECOND_TENANT):
        tenant, _created = Tenant.objects.update_or_create(
            slug=spec["slug"], defaults={"name": spec["name"], "time_zone": spec["time_zone"]})
        tenants.append(tenant)
    return tenants[0], tenants[1]


def seed_users(demo: DemoContext) -> None:
    user_model = get_user_model()
    for username, (role, password) in DEMO_USERS.items():
        user, _created = user_model.objects.get_or_create(
            username=username, defaults={"email": f"{username}@demo.example"})
        # Reset every run so the printed logins always work.
        user.set_password(password)
        user.save(update_fields=["password"])
        UserProfile.objects.get_or_create(user=user)
        Membership.objects.update_or_create(user=user, tenant=demo.tenant, defaults={"role": role})
        demo.users[role] = user
        demo.passwords[username] = password
    # The admin also works for a second company, so the tenant switcher has something to show.
    Membership.objects.update_or_create(user=demo.users[Role.ADMIN], tenant=demo.second_tenant,
                                        defaults={"role": Role.STAFF})


def seed_cloud_connections(demo: DemoContext) -> None:
    for tenant in (demo.tenant, demo.second_tenant):
        connection = CloudConnection.objects.filter(tenant=tenant).first() or CloudConnection(tenant=tenant)
        connection.kind = CloudConnection.Kind.LOCAL
        connection.endpoint = settings.LOCALCLOUD_PUBLIC_URL
        connection.region = "ap-guangzhou"
        connection.secret_id = settings.LOCALCLOUD_SECRET_ID
        connection.secret_key = settings.LOCALCLOUD_SECRET_KEY
        connection.save()


def run_app_demo_steps(demo: DemoContext) -> None:
    """Other apps add their demo data in `<app>/demo.py` with `seed_demo(demo: DemoContext)`,
    so each app owns its step; they run in INSTALLED_APPS order after the portal's."""
    for config in apps.get_app_configs():
        if config.name == "portal":
            continue
        try:
            module = importlib.import_module(f"{config.name}.demo")
        except ModuleNotFoundError as error:
            if error.name == f"{config.name}.demo":
                continue
            raise
        step = getattr(module, "seed_demo", None)
        if step is not None:
            step(demo)


STEPS = [seed_users, seed_cloud_connections]


class Command(BaseCommand):
    help = "Create (or refresh) the demo tenants, users and cloud connection; print the logins."

    def add_arguments(self, parser):
        parser.add_argument("--skip-apps", action="store_true",
                            help="Only the portal's tenants and users, not the other apps' demo data.")

    def handle(self, *args, skip_apps=False, **options):
        with transaction.atomic():
            tenant, second = seed_tenants()
            demo = DemoContext(tenant=tenant, second_tenant=second, stdout=self.stdout)
            for step in STEPS:
                step(demo)
        if not skip_apps:
            run_app_demo_steps(demo)
        self.stdout.write(self.style.SUCCESS(f"Demo tenant “{tenant.name}” is ready."))
        self.stdout.write("Open http://127.0.0.1:8000/ and log in as:")
        for username, (role, _pw) in DEMO_USERS.items():
            self.stdout.write(f"  {str(role.label):<7} {username:<8} password {demo.passwords[username]}")
        self.stdout.write(f"  (admin is also staff of “{second.name}”: use the company switcher)")
