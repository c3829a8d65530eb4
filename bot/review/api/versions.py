"""API versions as Patchwork serves them: a client pinned to /api/1.1/ gets 1.1's fields, without
those Patchwork added in 1.2 (its serializers' `versioned_fields`). /api/, /api/1.2/ and
/api/1.3/ get every field; /api/1.0/ is served as 1.1."""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import JSONRenderer

# the fields Patchwork 1.2 added, wherever they appear (project, patch, cover, comment, event)
ADDED_IN_1_2 = frozenset({"list_archive_url", "list_archive_url_format", "commit_url_format",
                          "related", "actor"})
BEFORE_1_2 = ("/api/1.0/", "/api/1.1/")


def without(data: Any, keys: frozenset[str]) -> Any:
    if isinstance(data, dict):
        return {k: without(v, keys) for k, v in data.items() if k not in keys}
    if isinstance(data, list):
        return [without(v, keys) for v in data]
    return data


class VersionedJSONRenderer(JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: dict[str, Any] | None = None) -> bytes:
        request = (renderer_context or {}).get("request")
        if request is not None and request.path.startswith(BEFORE_1_2):
            data = without(data, ADDED_IN_1_2)
        return super().render(data, accepted_media_type, renderer_context)
