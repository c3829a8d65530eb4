"""Patchwork's pagination: `page`/`per_page` query parameters, a plain JSON list as the body and
RFC 5988 `Link` headers: next first (pwclient reads only a leading `<url>; rel="next"`), then
prev, first and last; first and last on every page, a single one too."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from bot import defaults


class LinkHeaderPagination(PageNumberPagination):
    page_size_query_param = "per_page"
    max_page_size = defaults.REVIEW_MAX_PAGE_SIZE

    def get_paginated_response(self, data):
        links = []
        url = self.request.build_absolute_uri()
        page = self.page
        last = page.paginator.num_pages
        if page.has_next():
            links.append((self._at(url, page.next_page_number()), "next"))
        if page.has_previous():
            links.append((self._at(url, page.previous_page_number()), "prev"))
        links.append((self._at(url, 1), "first"))
        links.append((self._at(url, last), "last"))
        headers = {"Link": ", ".join(f'<{u}>; rel="{r}"' for u, r in links)}
        return Response(data, headers=headers)

    def _at(self, url: str, number: int) -> str:
        if number == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, number)

    def get_paginated_response_schema(self, schema):
        return schema
