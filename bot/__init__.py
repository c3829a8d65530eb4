"""cocci-bot: Coccinelle campaigns on kernel trees, checked, queued for review."""

__version__ = "0.1.0"
