"""Conditional GET and a response cache for anonymous reads of the API and the downloads.

Every anonymous GET of `/api/...` or a `.../mbox/` / `.../raw/` download carries an ETag (and,
on SQLite, Last-Modified) derived from the data's stamp (bot.review.freshness) and the request;
a client that sends it back (If-None-Match / If-Modified-Since) gets a 304 without the view
running. The rendered 200s are kept in a per-process cache under the same key, so that the
next reader of the same URL is answered without queries or serialization until any write
changes the stamp. Requests with credentials (Authorization, a session cookie) and responses
that set cookies or stream are never cached: they go through as before."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from bot.review import freshness

CACHE_ALIAS = "responses"
DOWNLOAD_SUFFIXES = ("/mbox/", "/raw/")
# what a response depends on besides the data and the URL
KEY_HEADERS = ("HTTP_HOST", "HTTP_ACCEPT", "HTTP_X_FORWARDED_PROTO")


def cacheable_request(request: HttpRequest) -> bool:
    if request.method != "GET" or "HTTP_AUTHORIZATION" in request.META:
        return False
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        return False
    path = request.path
    return path.startswith("/api/") or path.endswith(DOWNLOAD_SUFFIXES)


def cacheable_response(response: HttpResponseBase) -> bool:
    return (response.status_code == 200 and not response.streaming and not response.cookies
            and isinstance(response, HttpResponse))


def request_key(request: HttpRequest, stamp: freshness.Stamp) -> str:
    parts = [stamp.token, request.scheme or "", request.get_full_path(),
             *(request.META.get(h, "") for h in KEY_HEADERS)]
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _freeze(response: HttpResponse) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, list(response.headers.items()), response.content


def _thaw(frozen: tuple[int, list[tuple[str, str]], bytes]) -> HttpResponse:
    status, headers, content = frozen
    response = HttpResponse(content, status=status)
    for name, value in headers:
        response.headers[name] = value
    return response


def _validators(response: HttpResponseBase, etag: str, stamp: freshness.Stamp) -> None:
    response.headers["ETag"] = etag
    if stamp.changed_at is not None:
        response.headers["Last-Modified"] = http_date(stamp.changed_at.timestamp())
    response.headers["Cache-Control"] = "no-cache"   # keep it, but ask us again each time


def forget(**_: object) -> None:
    """Drop every cached response (this process's)."""
    caches[CACHE_ALIAS].clear()


class ResponseCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not cacheable_request(request):
            return self.get_response(request)
        stamp = freshness.current()
        if stamp is None:
            return self.get_response(request)
        key = request_key(request, stamp)
        etag = f'"{key[:32]}"'
        modified = int(stamp.changed_at.timestamp()) if stamp.changed_at else None
        answer = get_conditional_response(request, etag=etag, last_modified=modified)
        if answer is None:
            answer = self._response(request, key)
        if answer.status_code in (200, 304):
            _validators(answer, etag, stamp)
        return answer

    def _response(self, request: HttpRequest, key: str) -> HttpResponseBase:
        cache = caches[CACHE_ALIAS]
        frozen = cache.get(key)
        if frozen is not None:
            return _thaw(frozen)
        response = self.get_response(request)
        if isinstance(response, HttpResponse) and cacheable_response(response):
            cache.set(key, _freeze(response))
        return response
