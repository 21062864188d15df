from django.apps import AppConfig


class Config(AppConfig):
    name = "entitlements"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from entitlements import demo
        from entitlements.hooks import tenant_default_repository
        from entitlements.search import search_kinds
        from entitlements.services import entitlements_revalidate
        from sam.hooks import hook_register

        hook_register("tenant.created", tenant_default_repository)
        hook_register("demo.seed", demo.seed, order=30)
        # The proof-of-purchase switch of the tenant settings decides which entitlements are valid.
        hook_register("settings.proof_changed", entitlements_revalidate)
        hook_register("search.kinds", search_kinds, order=30)
