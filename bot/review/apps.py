from __future__ import annotations

from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "bot.review"
    label = "review"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "cocci-bot review queue"

    def ready(self) -> None:
        from django.core.signals import setting_changed
        from django.db.models.signals import post_migrate

        from bot.review import conditional, freshness

        # every migrate (serve runs it at start) covers the tables it made
        post_migrate.connect(freshness.install, sender=self, dispatch_uid="cocci-freshness")
        # responses depend on settings too (tests override them in one process)
        setting_changed.connect(conditional.forget, dispatch_uid="cocci-forget-responses")
