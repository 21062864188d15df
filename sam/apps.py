from django.apps import AppConfig


class SamConfig(AppConfig):
    name = "sam"
    verbose_name = "SAM suite"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from sam.throttle import login_failed

        user_login_failed.connect(login_failed, dispatch_uid="sam.throttle.login_failed")
