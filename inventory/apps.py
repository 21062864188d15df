from django.apps import AppConfig


class Config(AppConfig):
    name = "inventory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from inventory import demo
        from inventory.hooks import fingerprints_of_product
        from inventory.recognition import recognition_after_rules
        from inventory.search import search_kinds
        from inventory.selectors import device_status_counts
        from sam.hooks import hook_register

        hook_register("recognition.rules_changed", recognition_after_rules)
        hook_register("product.fingerprints", fingerprints_of_product)
        hook_register("demo.seed", demo.seed, order=20)
        hook_register("search.kinds", search_kinds, order=10)
        hook_register("settings.status_counts", device_status_counts)
