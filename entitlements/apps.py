from django.apps import AppConfig


class Config(AppConfig):
    name = "entitlements"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from entitlements import demo
        from entitlements.hooks import tenant_default_repository
        from sam.hooks import hook_register

        hook_register("tenant.created", tenant_default_repository)
        hook_register("demo.seed", demo.seed, order=30)
