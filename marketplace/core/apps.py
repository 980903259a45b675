from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "marketplace.core"
    label = "core"
    verbose_name = _("Platform core")

    def ready(self):
        from . import checks  # noqa: F401  (deploy checks)
        from .audit import connect as connect_audit

        connect_audit()  # staff groups and permissions into the audit log
        from django.db.backends.signals import connection_created

        from .pagecache import install

        connection_created.connect(install, dispatch_uid="page_cache_watch")  # every statement, every process
        from .beat import sync_beat_schedule

        post_migrate.connect(_sync_after_migrate(sync_beat_schedule), dispatch_uid="sync_beat_schedule", weak=False)


def _sync_after_migrate(sync):
    def handler(sender, **kwargs):
        if sender.label == "django_celery_beat" or sender.name == "django_celery_beat":
            sync()

    return handler
