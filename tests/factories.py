"""factory_boy factories shared by the whole suite."""
import factory
from django.contrib.auth import get_user_model

from portal.models import CloudConnection, Membership, Role, Tenant

PASSWORD = "correct-horse-battery-staple"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Camera Co {n}")
    slug = factory.Sequence(lambda n: f"camera-co-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Role.ADMIN


class CloudConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CloudConnection

    tenant = factory.SubFactory(TenantFactory)
    kind = CloudConnection.Kind.LOCAL
    endpoint = "http://127.0.0.1:8010"
    secret_id = "AKIDtest"
    secret_key_encrypted = ""

    @factory.post_generation
    def secret(obj, create, extracted, **kwargs):
        obj.secret_key = extracted or "test-secret-key"
        if create:
            obj.save()
