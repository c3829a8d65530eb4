"""Reject NUL characters in URLs and query strings up front: databases (PostgreSQL) cannot
store or compare them, and no valid request needs one."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        values = [request.path, *(v for vs in request.GET.lists() for v in vs[1])]
        if any("\x00" in v for v in values):
            return JsonResponse({"detail": "NUL characters are not allowed in URLs"},
                                status=400)
        return self.get_response(request)
