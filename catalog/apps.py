from django.apps import AppConfig


class Config(AppConfig):
    name = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from catalog import demo
        from catalog.search import search_kinds
        from sam.hooks import hook_register

        hook_register("demo.seed_master", demo.seed_master, order=10)
        hook_register("demo.seed", demo.seed, order=10)
        hook_register("search.kinds", search_kinds, order=20)
