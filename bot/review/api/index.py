"""The API's root: a link per resource, as Patchwork's."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

RESOURCES = {"bundles": "api-bundle-list", "covers": "api-cover-list",
             "events": "api-event-list", "patches": "api-patch-list",
             "people": "api-person-list", "projects": "api-project-list",
             "series": "api-series-list", "users": "api-user-list"}


class Index(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response({k: request.build_absolute_uri(reverse(v)) for k, v in RESOURCES.items()})
