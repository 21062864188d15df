from django.apps import AppConfig


class Config(AppConfig):
    name = "receiving"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A new or changed SKU alias (a tenant's or the library's) may clear lines waiting on it.
        from catalog.aliases import alias_listeners
        from receiving.services import receiving_aliases_changed

        if receiving_aliases_changed not in alias_listeners:
            alias_listeners.append(receiving_aliases_changed)
