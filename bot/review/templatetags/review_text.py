from __future__ import annotations

from django import template

from bot.review import text

register = template.Library()
register.filter("visible", text.visible)
