from django.apps import AppConfig


class Config(AppConfig):
    name = "requirements_engine"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The engine plugs into the core from above: it applies the change events the apps record
        # and contributes the dashboard's panels. The core never imports the engine.
        from requirements_engine.selectors import dashboard_panels
        from requirements_engine.services import drain_request
        from sam.changes import drain_handler_register
        from sam.hooks import hook_register

        drain_handler_register(drain_request)
        hook_register("dashboard.panels", dashboard_panels)

        from requirements_engine.selectors_balance import consumer_panel_device, consumer_panel_person
        from sam.panels import panel_register

        # The device and person pages list the consumer's requirements and the licenses allocated to them.
        panel_register("device", consumer_panel_device)
        panel_register("person", consumer_panel_person)
