from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "marketplace.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from .groups import ensure_operations_groups

        def after_last_app(sender, **kwargs):
            # post_migrate fires once per app; by the last one every permission exists.
            if sender is list(apps.get_app_configs())[-1]:
                ensure_operations_groups()

        post_migrate.connect(after_last_app, dispatch_uid="ensure_operations_groups", weak=False)
