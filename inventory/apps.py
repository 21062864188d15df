from django.apps import AppConfig


class Config(AppConfig):
    name = "inventory"
    default_auto_field = "django.db.models.BigAutoField"
