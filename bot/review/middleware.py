"""Requests refused before any view runs, each with a message naming the problem: bodies over
the size limit (413), NUL characters in URLs and query strings (databases such as PostgreSQL
cannot store or compare them, and no valid request needs one); and database errors a request
can meet (a full disk: 503) answered with a message instead of a 500."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers

from bot import defaults
from bot.review.api_errors import as_response


class RequestGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > defaults.REVIEW_MAX_POST_BYTES:
            return JsonResponse({"detail": f"payload of {length} bytes exceeds the queue's "
                                           f"limit of {defaults.REVIEW_MAX_POST_BYTES} bytes"},
                                status=413)
        if settings.REVIEW_SCHEME:   # links carry the configured base URL's scheme
            request.META["wsgi.url_scheme"] = settings.REVIEW_SCHEME
        values = [request.path, *(v for vs in request.GET.lists() for v in vs[1])]
        if any("\x00" in v for v in values):
            return JsonResponse({"detail": "NUL characters are not allowed in URLs"},
                                status=400)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        return as_response(exc)


def api_vary(get_response: Callable[[HttpRequest], HttpResponse]):
    """API answers vary with Accept, as Patchwork's (DRF only says so when it has two
    renderers): a cache must not serve one client's answer to another that asked differently."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if request.path.startswith("/api/"):
            patch_vary_headers(response, ("Accept",))
        return response
    return middleware
