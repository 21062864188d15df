"""factory-boy factories shared by every suite. Child rows derive their tenant from their parent."""
from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from sam.models import Membership, Role, Tenant


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    password = factory.django.Password("correct horse battery staple")


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())

    @factory.post_generation
    def default_repository(obj, create, extracted, **kwargs):
        if create:
            from django_scopes import scope

            from entitlements.models import Repository

            with scope(tenant=obj):
                Repository.objects.get_or_create(tenant=obj, is_default=True, defaults={"name": "Default"})


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Role.ADMIN
