"""The template filters of bot.review.text's one rendering rule: `visible` (HTML text),
`plain` (attributes, <title>), `link` (URLs)."""

from __future__ import annotations

from django import template

from bot.review import text

register = template.Library()
register.filter("visible", text.visible)
register.filter("plain", text.plain)
register.filter("link", text.link)
