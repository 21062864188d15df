from django.apps import AppConfig


class Config(AppConfig):
    name = "entitlements"
    default_auto_field = "django.db.models.BigAutoField"
