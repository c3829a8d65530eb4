from __future__ import annotations

from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "bot.review"
    label = "review"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "cocci-bot review queue"
