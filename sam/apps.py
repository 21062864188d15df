from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SamConfig(AppConfig):
    name = "sam"
    verbose_name = "SAM suite"

    def ready(self):
        from sam import rls

        # Row-level security on PostgreSQL: the policies after every migrate, the tenant setting
        # on every connection (sam/rls.py).
        rls.connect_signals()
        post_migrate.connect(rls.after_migrate, sender=self, dispatch_uid="sam.rls.after_migrate")
