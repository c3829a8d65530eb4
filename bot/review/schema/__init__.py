"""Patchwork's published OpenAPI description of API 1.2 (GPL-2.0, Patchwork project), kept as
data: the served schema takes its response shapes from it, the tests validate against it."""
