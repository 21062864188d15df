from django.apps import AppConfig


class Config(AppConfig):
    name = "inventory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from inventory import demo
        from inventory.hooks import fingerprints_of_product
        from inventory.recognition import recognition_after_rules
        from sam.hooks import hook_register

        hook_register("recognition.rules_changed", recognition_after_rules)
        hook_register("product.fingerprints", fingerprints_of_product)
        hook_register("demo.seed", demo.seed, order=20)
