from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SamConfig(AppConfig):
    name = "sam"
    verbose_name = "SAM suite"

    def ready(self):
        from django.contrib.auth.signals import user_login_failed

        from sam import rls
        from sam.throttle import login_failed

        # Row-level security on PostgreSQL: the policies after every migrate, the tenant setting
        # on every connection (sam/rls.py).
        rls.connect_signals()
        post_migrate.connect(rls.after_migrate, sender=self, dispatch_uid="sam.rls.after_migrate")
        # Log-in failures per client address, against password spraying (sam/throttle.py).
        user_login_failed.connect(login_failed, dispatch_uid="sam.throttle.login_failed")
