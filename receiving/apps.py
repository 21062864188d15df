from django.apps import AppConfig


class Config(AppConfig):
    name = "receiving"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from receiving import demo
        from receiving.hooks import revalidate_after_import
        from receiving.search import search_kinds
        from sam.hooks import hook_register

        hook_register("import.finished", revalidate_after_import)
        hook_register("demo.seed", demo.seed, order=40)
        hook_register("search.kinds", search_kinds, order=40)

        # A new or changed SKU alias (a tenant's or the library's) may clear lines waiting on it.
        from catalog.aliases import alias_listeners
        from receiving.services import receiving_aliases_changed

        if receiving_aliases_changed not in alias_listeners:
            alias_listeners.append(receiving_aliases_changed)
