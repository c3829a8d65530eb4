"""The review queue: a Django app that speaks Patchwork's REST API 1.2 and shows series to maintainers."""
