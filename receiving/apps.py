from django.apps import AppConfig


class Config(AppConfig):
    name = "receiving"
    default_auto_field = "django.db.models.BigAutoField"
