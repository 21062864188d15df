from django.apps import AppConfig


class Config(AppConfig):
    name = "requirements_engine"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from requirements_engine.selectors_balance import consumer_panel_device, consumer_panel_person
        from sam.panels import panel_register

        # The device and person pages list the consumer's requirements and the licenses allocated to them.
        panel_register("device", consumer_panel_device)
        panel_register("person", consumer_panel_person)
