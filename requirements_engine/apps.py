from django.apps import AppConfig


class Config(AppConfig):
    name = "requirements_engine"
    default_auto_field = "django.db.models.BigAutoField"
