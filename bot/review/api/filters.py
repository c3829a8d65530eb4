"""The list filters of Patchwork's API, declared once as django-filter FilterSets (which
drf-spectacular documents by itself). Ids are ASCII digits that fit the database's 64-bit keys;
"ID or name" filters take digits as an id and anything else as a name; a bad value is a 400
naming the parameter, as Patchwork's."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import django_filters as df
from django import forms
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from bot import defaults
from bot.review.models import CHECK_STATES, Check

_ASCII_ID = re.compile(r"^[0-9]{1,19}$")
ORDERS = ("id", "-id", "name", "-name", "date", "-date")


def as_id(value: str, name: str) -> int:
    """An id from a query parameter: ASCII digits that fit the database's 64-bit keys."""
    if not _ASCII_ID.match(value) or int(value) > defaults.REVIEW_MAX_ID:
        raise ValidationError({name: [f"{value!r} is not an id: ids are ASCII digits up to "
                                      f"{defaults.REVIEW_MAX_ID}"]})
    return int(value)


def id_or_name(value: str, name: str) -> int | str:
    """Patchwork's "ID or name" filters: digits are an id (ASCII only), anything else a name."""
    return as_id(value, name) if value.isdigit() else value


def as_when(value: str, name: str) -> datetime:
    """A date-time filter, in UTC; dates that have no UTC equivalent are refused."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError({name: [f"{value!r} is not an ISO 8601 date-time"]}) from exc
    try:
        when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    except OverflowError as exc:
        raise ValidationError({name: [f"{value!r} is outside the years 1-9999 in UTC"]}) from exc
    return when


class _Many(forms.Field):
    """Every value of a repeated parameter (`?state=new&state=accepted`), as Patchwork."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        return [str(v) for v in value or [] if v != ""]


@extend_schema_field(OpenApiTypes.STR)
class ManyFilter(df.Filter):
    field_class = _Many


class Text(df.CharFilter):
    """A text parameter kept as sent (no stripping)."""

    def __init__(self, help_text: str, **kwargs: Any) -> None:
        super().__init__(help_text=help_text, strip=False, **kwargs)


@extend_schema_field(OpenApiTypes.INT)
class IdText(Text):
    """An id parameter (documented as an integer; checked by `as_id`)."""


def by_id_or(field: str, name_lookup: str):
    """A filter method: `field` by id, or by `name_lookup` when the value is not digits."""

    def method(qs: QuerySet, name: str, value: str) -> QuerySet:
        key = id_or_name(value, name)
        return qs.filter(**{f"{field}_id": key}) if isinstance(key, int) \
            else qs.filter(**{f"{field}__{name_lookup}": key})
    return method


def by_id(field: str):
    def method(qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(**{field: as_id(value, name)})
    return method


def boolean(field: str):
    def method(qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(**{field: value == "true"}) if value in ("true", "false") else qs
    return method


class Common(df.FilterSet):
    """Patchwork's common filters: q, order, since/before (on `date_field`)."""

    search_field = "name"
    date_field: str | None = "date"

    q = Text("A search term.", method="filter_q")
    order = Text("Which field to order by.", method="filter_order")
    since = Text("Earliest date-time.", method="filter_since")
    before = Text("Latest date-time.", method="filter_before")

    def filter_q(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(**{f"{self.search_field}__icontains": value})

    def filter_order(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if value not in ORDERS:      # Patchwork ignores an order it does not know
            return qs
        return qs.order_by(value, "-id" if value.startswith("-") else "id")

    def filter_since(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if not self.date_field:
            return qs
        return qs.filter(**{f"{self.date_field}__gte": as_when(value, name)})

    def filter_before(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if not self.date_field:
            return qs
        return qs.filter(**{f"{self.date_field}__lt": as_when(value, name)})


class Submitted(Common):
    project = Text("An ID or linkname of a project.", method=by_id_or("project", "link_name"))
    submitter = Text("An ID or email address of a person.",
                     method=by_id_or("submitter", "email__iexact"))


class SeriesFilter(Submitted):
    state = ManyFilter(help_text="cocci-bot extra: a state slug.", method="filter_state")
    campaign = Text("cocci-bot extra: a campaign name.", field_name="campaign")

    def filter_state(self, qs: QuerySet, name: str, value: list[str]) -> QuerySet:
        return qs.filter(state__slug__in=value) if value else qs


class PatchFilter(Submitted):
    series = IdText("An ID of a series.", method=by_id("series_id"))
    delegate = Text("An ID or username of a user.", method=by_id_or("delegate", "username"))
    state = ManyFilter(help_text="A state slug.", method="filter_state")
    archived = Text("true or false.", method=boolean("archived"))
    hash = Text("The patch hash (patch-id).", method="filter_hash")
    msgid = Text("The patch message-id, without angle brackets.", method="filter_msgid")

    def filter_state(self, qs: QuerySet, name: str, value: list[str]) -> QuerySet:
        return qs.filter(Q(state__slug__in=value) | Q(state__name__in=value)) if value else qs

    def filter_hash(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(Q(hash__iexact=value) | Q(patch_id__iexact=value))

    def filter_msgid(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(msgid=f"<{value.strip('<>')}>")


class CoverFilter(Submitted):
    series = IdText("A series ID.", method=by_id("series_id"))
    msgid = Text("The message-id, without angle brackets.", method="filter_msgid")

    filter_msgid = PatchFilter.filter_msgid


class BundleFilter(Common):
    date_field = None        # bundles have no date

    project = Text("An ID or linkname of a project.", method=by_id_or("project", "link_name"))
    owner = Text("An ID or username of a user.", method=by_id_or("owner", "username"))
    public = Text("true or false.", method=boolean("public"))


class EventFilter(Common):
    search_field = "text"

    project = Text("An ID or linkname of a project.", method=by_id_or("project", "link_name"))
    category = ManyFilter(help_text="An event category.", method="filter_category")
    series = IdText("A series ID.", method=by_id("series_id"))
    patch = IdText("A patch ID.", method=by_id("patch_id"))
    cover = IdText("A cover letter ID.", method=by_id("series__cover__id"))

    def filter_category(self, qs: QuerySet, name: str, value: list[str]) -> QuerySet:
        return qs.filter(category__in=value) if value else qs


class PeopleFilter(df.FilterSet):
    q = Text("A search term.", method="filter_q")
    search_fields: tuple[str, ...] = ("name",)

    def filter_q(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        query = Q()
        for field in self.search_fields:
            query |= Q(**{f"{field}__icontains": value})
        return qs.filter(query)


class PersonFilter(PeopleFilter):
    search_fields = ("name", "email")


class UserFilter(PeopleFilter):
    search_fields = ("username", "email")


class CheckFilter(df.FilterSet):
    """Patchwork's check filters: user, state, context."""

    user = Text("An ID or username of a user.", method=by_id_or("user", "username"))
    state = df.MultipleChoiceFilter(choices=[(s, s) for s in CHECK_STATES],
                                    help_text="A check state.")
    context = Text("A check context.", field_name="context")

    class Meta:
        model = Check
        fields: list[str] = []
