from django.apps import AppConfig


class Config(AppConfig):
    name = "receiving"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from receiving import demo
        from receiving.hooks import revalidate_after_import
        from sam.hooks import hook_register

        hook_register("import.finished", revalidate_after_import)
        hook_register("demo.seed", demo.seed, order=40)
