"""The review queue's REST API: Patchwork 1.2's resources and our extras, a module per
resource family. Filters are declared in filters.py, request bodies in bot.review.contract,
response shapes in bot.review.serializers; storing and the state machine are
bot.review.service's. The URLs are bot.review.urls'."""
