"""REST API views: Patchwork 1.2 (read side, patch updates, patch checks) and our extras
(series creation, series checks, reports, superseding, series review state, series comments)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bot import defaults
from bot.errors import UserError
from bot.review import serializers as ser
from bot.review import service
from bot.review.api_errors import Conflict
from bot.review.auth import IsBotOrMaintainer, IsMaintainer, require_maintainer_of
from bot.review.models import (
    Bundle,
    BundlePatch,
    Check,
    Comment,
    Cover,
    Event,
    Patch,
    Person,
    Project,
    Series,
    State,
)

_ORDERS = {"id": "id", "-id": "-id", "name": "name", "-name": "-name", "date": "date",
           "-date": "-date"}


def _param(name: str, desc: str, kind: Any = OpenApiTypes.STR) -> OpenApiParameter:
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, description=desc)


COMMON = [_param("q", "A search term."), _param("order", "Which field to order by."),
          _param("since", "Earliest date-time."), _param("before", "Latest date-time.")]
PROJECT = _param("project", "An ID or linkname of a project.")
SUBMITTER = _param("submitter", "An ID or email address of a person.")


_ASCII_ID = re.compile(r"^[0-9]{1,19}$")


def _int(value: str, name: str) -> int:
    """An id from a query parameter: ASCII digits that fit the database's 64-bit keys."""
    if not _ASCII_ID.match(value) or int(value) > defaults.REVIEW_MAX_ID:
        raise ValidationError({name: [f"{value!r} is not an id: ids are ASCII digits up to "
                                      f"{defaults.REVIEW_MAX_ID}"]})
    return int(value)


def _id_or_name(value: str, name: str) -> int | str:
    """Patchwork's "ID or name" filters: digits are an id (ASCII only), anything else a name."""
    return _int(value, name) if value.isdigit() else value


def _when(value: str, name: str) -> datetime:
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


class Filtered(generics.GenericAPIView):
    """Patchwork's common filters: project, submitter, q, since/before, order."""

    date_field: str = "date"
    search_field = "name"
    default_order: tuple[str, ...] = ("id",)

    def get_queryset(self) -> QuerySet:
        qs = self.base_queryset()
        get = self.request.query_params.get
        if project := get("project"):
            key = _id_or_name(project, "project")
            qs = qs.filter(project__id=key) if isinstance(key, int) \
                else qs.filter(project__link_name=key)
        if submitter := get("submitter"):
            key = _id_or_name(submitter, "submitter")
            qs = qs.filter(submitter__id=key) if isinstance(key, int) \
                else qs.filter(submitter__email__iexact=key)
        if q := get("q"):
            qs = qs.filter(**{f"{self.search_field}__icontains": q})
        if (since := get("since")) and self.date_field:
            qs = qs.filter(**{f"{self.date_field}__gte": _when(since, "since")})
        if (before := get("before")) and self.date_field:
            qs = qs.filter(**{f"{self.date_field}__lt": _when(before, "before")})
        order = get("order")
        return self.more_filters(qs).order_by(
            *((_ORDERS[order], "-id" if order.startswith("-") else "id") if order in _ORDERS
              else self.default_order))

    def base_queryset(self) -> QuerySet:
        raise NotImplementedError

    def more_filters(self, qs: QuerySet) -> QuerySet:
        return qs


class Index(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        names = {"covers": "api-cover-list", "events": "api-event-list",
                 "patches": "api-patch-list",
                 "people": "api-person-list", "projects": "api-project-list",
                 "series": "api-series-list", "users": "api-user-list"}
        return Response({k: request.build_absolute_uri(reverse(v)) for k, v in names.items()})


# --- projects, people, users -------------------------------------------------------------

class ProjectList(generics.ListAPIView):
    serializer_class = ser.ProjectSerializer
    queryset = Project.objects.prefetch_related("maintainers").order_by("id")


class ProjectDetail(generics.RetrieveAPIView):
    serializer_class = ser.ProjectSerializer
    queryset = Project.objects.prefetch_related("maintainers")

    def get_object(self):
        key = _id_or_name(self.kwargs["pk"], "project")
        field = "id" if isinstance(key, int) else "link_name"
        return get_object_or_404(self.get_queryset(), **{field: key})


class PersonList(generics.ListAPIView):
    serializer_class = ser.PersonSerializer

    @extend_schema(parameters=[_param("q", "A search term.")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet:
        qs = Person.objects.order_by("id")
        if q := self.request.query_params.get("q"):
            qs = qs.filter(Q(name__icontains=q) | Q(email__icontains=q))
        return qs


class PersonDetail(generics.RetrieveAPIView):
    serializer_class = ser.PersonSerializer
    queryset = Person.objects.all()


class UserList(generics.ListAPIView):
    serializer_class = ser.UserSerializer

    @extend_schema(parameters=[_param("q", "A search term.")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet:
        qs = get_user_model().objects.order_by("id")
        if q := self.request.query_params.get("q"):
            qs = qs.filter(Q(username__icontains=q) | Q(email__icontains=q))
        return qs


class UserDetail(generics.RetrieveAPIView):
    serializer_class = ser.UserSerializer
    queryset = get_user_model().objects.all()


# --- series -------------------------------------------------------------------------------

def series_queryset() -> QuerySet:
    return (Series.objects.select_related("project", "submitter", "state", "previous", "cover")
            .prefetch_related("patches", "checks", "project__maintainers"))


class SeriesList(Filtered, generics.ListAPIView):
    serializer_class = ser.SeriesSerializer

    @extend_schema(parameters=[*COMMON, PROJECT, SUBMITTER,
                               _param("state", "cocci-bot extra: a state slug."),
                               _param("campaign", "cocci-bot extra: a campaign name.")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def base_queryset(self) -> QuerySet:
        return series_queryset()

    def more_filters(self, qs: QuerySet) -> QuerySet:
        params = self.request.query_params
        if states := params.getlist("state"):
            qs = qs.filter(state__slug__in=states)
        if campaign := params.get("campaign"):
            qs = qs.filter(campaign=campaign)
        return qs


class SeriesDetail(generics.RetrieveAPIView):
    serializer_class = ser.SeriesSerializer

    def get_queryset(self) -> QuerySet:
        return series_queryset()


class SeriesReport(APIView):
    """cocci-bot extra: the per-call-site report (report.json as the bot posted it)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        return Response(get_object_or_404(Series, pk=pk).report)


class SeriesCreate(APIView):
    """cocci-bot extra: the bot posts a series (cover, patches, report). Same dedupe key twice
    returns the stored series (200) instead of creating one (201)."""

    permission_classes = [IsBotOrMaintainer]

    @extend_schema(request=ser.SeriesCreateSerializer, responses={200: ser.SeriesSerializer,
                                                                 201: ser.SeriesSerializer})
    def post(self, request: Request) -> Response:
        parsed = service.parse_request(request.data)
        series, created = service.create_series(parsed, request.user)
        body = ser.SeriesSerializer(series_queryset().get(pk=series.pk),
                                    context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SeriesSupersede(APIView):
    """cocci-bot extra: mark a series Superseded once a newer version of it was posted."""

    permission_classes = [IsBotOrMaintainer]

    @extend_schema(request=None, responses={200: ser.SeriesSerializer})
    def post(self, request: Request, pk: int) -> Response:
        series = get_object_or_404(Series, pk=pk)
        service.supersede(series, request.user)
        return Response(ser.SeriesSerializer(series_queryset().get(pk=pk),
                                             context={"request": request}).data)


class CampaignAbsorbed(APIView):
    """cocci-bot extra: the campaign's fix arrived upstream in `release`; the posting account's
    open versions of it become Not Applicable with the comment. Returns the series changed."""

    permission_classes = [IsBotOrMaintainer]

    @extend_schema(request=ser.AbsorbedSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, project: str, campaign: str) -> Response:
        proj = get_object_or_404(Project, link_name=project)
        data = request.data if isinstance(request.data, dict) else {}
        changed = service.absorbed(proj, campaign, request.user, data.get("release", ""),
                                  data.get("comment", ""))
        return Response({"series": changed})


class SeriesState(APIView):
    """cocci-bot extra: a maintainer sets the series' review state (and its patches')."""

    permission_classes = [IsMaintainer]

    @extend_schema(request=ser.SeriesStateSerializer, responses={200: ser.SeriesSerializer})
    def post(self, request: Request, pk: int) -> Response:
        series = get_object_or_404(Series, pk=pk)
        require_maintainer_of(request.user, series.project)
        data = request.data if isinstance(request.data, dict) else {}
        state, comment = data.get("state"), data.get("comment") or ""
        if not isinstance(state, str) or not isinstance(comment, str):
            raise UserError("state and comment must be strings, e.g. "
                            '{"state": "accepted", "comment": "Thanks"}')
        service.set_state(series, state, request.user, comment)
        return Response(ser.SeriesSerializer(series_queryset().get(pk=pk),
                                             context={"request": request}).data)


class SeriesComments(generics.ListAPIView):
    """cocci-bot extra: comments on the series as a whole (the page's Comments; Patchwork's API
    lists them as the cover letter's). The bot posts what it did, e.g. the mails it sent."""

    serializer_class = ser.CommentSerializer
    permission_classes = [IsBotOrMaintainer]

    def get_queryset(self) -> QuerySet:
        series = get_object_or_404(Series, pk=self.kwargs["pk"])
        return series.comments.filter(patch=None).select_related("user", "series")

    @extend_schema(request=ser.CommentCreateSerializer, responses={200: ser.CommentSerializer,
                                                                  201: ser.CommentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        series = get_object_or_404(Series, pk=pk)
        comment, created = service.comment_once(series, request.user,
                                               service.validate_comment(request.data))
        return Response(ser.CommentSerializer(comment, context={"request": request}).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# --- checks ---------------------------------------------------------------------------------

class SeriesChecks(generics.ListAPIView):
    """cocci-bot extra: checks on a whole series (build, boot, kvm-smoke, idempotence...)."""

    serializer_class = ser.CheckSerializer
    permission_classes = [IsBotOrMaintainer]

    def get_queryset(self) -> QuerySet:
        series = get_object_or_404(Series, pk=self.kwargs["pk"])
        return series.checks.filter(patch=None).select_related("user")

    @extend_schema(request=ser.CheckCreateSerializer, responses={200: ser.CheckSerializer,
                                                                201: ser.CheckSerializer})
    def post(self, request: Request, pk: int) -> Response:
        series = get_object_or_404(Series, pk=pk)
        check, created = service.add_check(series, None, request.user,
                                          service.validate_check(request.data))
        return Response(ser.CheckSerializer(check, context={"request": request}).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SeriesCheckDetail(generics.RetrieveAPIView):
    serializer_class = ser.CheckSerializer

    def get_object(self) -> Check:
        return get_object_or_404(Check, series_id=self.kwargs["pk"], pk=self.kwargs["check_id"],
                                 patch=None)


def patch_checks(patch_id: int) -> QuerySet:
    """A patch's checks as Patchwork clients see them: its own and its series' (which cover
    every patch of the series)."""
    patch = get_object_or_404(Patch.objects.only("id", "series_id"), pk=patch_id)
    return (Check.objects.filter(Q(patch=patch) | Q(series_id=patch.series_id, patch=None))
            .select_related("user").order_by("id"))


class PatchChecks(generics.ListAPIView):
    serializer_class = ser.CheckSerializer
    permission_classes = [IsBotOrMaintainer]

    def get_queryset(self) -> QuerySet:
        return patch_checks(self.kwargs["patch_id"])

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "patch_id": self.kwargs["patch_id"]}

    @extend_schema(request=ser.CheckCreateSerializer, responses={201: ser.CheckSerializer})
    def post(self, request: Request, patch_id: int) -> Response:
        patch = get_object_or_404(Patch, pk=patch_id)
        check, _ = service.add_check(patch.series, patch, request.user,
                                    service.validate_check(request.data))
        return Response(ser.CheckSerializer(check, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class PatchCheckDetail(generics.RetrieveAPIView):
    serializer_class = ser.CheckSerializer

    def get_object(self) -> Check:
        return get_object_or_404(patch_checks(self.kwargs["patch_id"]), pk=self.kwargs["check_id"])

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "patch_id": self.kwargs["patch_id"]}


# --- patches and covers -----------------------------------------------------------------------

def patch_queryset() -> QuerySet:
    return Patch.objects.select_related("project", "submitter", "state", "delegate", "series") \
        .prefetch_related("checks", "series__checks", "project__maintainers").defer("mbox")


class PatchList(Filtered, generics.ListAPIView):
    serializer_class = ser.PatchSerializer

    @extend_schema(parameters=[
        *COMMON, PROJECT, SUBMITTER, _param("series", "An ID of a series.", OpenApiTypes.INT),
        _param("delegate", "An ID or username of a user."), _param("state", "A state slug."),
        _param("archived", "true or false."), _param("hash", "The patch hash (patch-id)."),
        _param("msgid", "The patch message-id, without angle brackets.")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def base_queryset(self) -> QuerySet:
        return patch_queryset().defer("diff", "content", "headers")

    def more_filters(self, qs: QuerySet) -> QuerySet:
        params = self.request.query_params
        if series := params.get("series"):
            qs = qs.filter(series_id=_int(series, "series"))
        if states := params.getlist("state"):
            qs = qs.filter(Q(state__slug__in=states) | Q(state__name__in=states))
        if (archived := params.get("archived")) in ("true", "false"):
            qs = qs.filter(archived=archived == "true")
        if delegate := params.get("delegate"):
            key = _id_or_name(delegate, "delegate")
            qs = qs.filter(delegate_id=key) if isinstance(key, int) \
                else qs.filter(delegate__username=key)
        if h := params.get("hash"):
            qs = qs.filter(Q(hash__iexact=h) | Q(patch_id__iexact=h))
        if msgid := params.get("msgid"):
            qs = qs.filter(msgid=f"<{msgid.strip('<>')}>")
        return qs


class PatchDetail(generics.RetrieveUpdateAPIView):
    serializer_class = ser.PatchDetailSerializer
    permission_classes = [IsMaintainer]

    def get_queryset(self) -> QuerySet:
        return patch_queryset()

    @extend_schema(request=ser.PatchUpdateSerializer, responses={200: ser.PatchDetailSerializer})
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._update(request)

    @extend_schema(request=ser.PatchUpdateSerializer, responses={200: ser.PatchDetailSerializer})
    def put(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._update(request)

    def _update(self, request: Request) -> Response:
        patch = self.get_object()
        require_maintainer_of(request.user, patch.project)
        data = ser.PatchUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        service.storable(dict(fields), "patch update")
        state = None
        if "state" in fields:
            state = State.objects.filter(Q(slug=fields["state"]) | Q(name=fields["state"])).first()
            if state is None:
                raise ValidationError({"state": [f"unknown state {fields['state']!r}"]})
        delegate = _delegate(fields["delegate"]) if "delegate" in fields else None
        with transaction.atomic():
            if state is not None:
                service.set_patch_state(patch, state, request.user)
            if "delegate" in fields:
                service.set_delegate(patch, delegate, request.user)
            for name in ("archived", "commit_ref", "pull_url"):
                if name in fields:
                    setattr(patch, name, fields[name])
            patch.save(update_fields=["archived", "commit_ref", "pull_url"])
        return Response(self.get_serializer(self.get_queryset().get(pk=patch.pk)).data)


def _delegate(user_id: int | None):
    if user_id is None:
        return None
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise ValidationError({"delegate": [f"no user with id {user_id}"]})
    return user


class PatchComments(generics.ListAPIView):
    serializer_class = ser.CommentSerializer

    def get_queryset(self) -> QuerySet:
        patch = get_object_or_404(Patch, pk=self.kwargs["pk"])
        return Comment.objects.filter(patch=patch).select_related("user", "series")


class CoverList(Filtered, generics.ListAPIView):
    serializer_class = ser.CoverSerializer

    @extend_schema(parameters=[*COMMON, PROJECT, SUBMITTER, _param("series", "A series ID."),
                               _param("msgid", "The message-id, without angle brackets.")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def base_queryset(self) -> QuerySet:
        return Cover.objects.select_related("project", "submitter", "series") \
            .prefetch_related("project__maintainers").defer("mbox", "content", "headers")

    def more_filters(self, qs: QuerySet) -> QuerySet:
        params = self.request.query_params
        if series := params.get("series"):
            qs = qs.filter(series_id=_int(series, "series"))
        if msgid := params.get("msgid"):
            qs = qs.filter(msgid=f"<{msgid.strip('<>')}>")
        return qs


class CoverDetail(generics.RetrieveAPIView):
    serializer_class = ser.CoverDetailSerializer
    queryset = Cover.objects.select_related("project", "submitter", "series")


class CoverComments(generics.ListAPIView):
    """Comments on the series as a whole (Patchwork: replies to the cover letter)."""

    serializer_class = ser.CommentSerializer

    def get_queryset(self) -> QuerySet:
        cover = get_object_or_404(Cover, pk=self.kwargs["pk"])
        return Comment.objects.filter(series=cover.series_id, patch=None) \
            .select_related("user", "series")


# --- bundles ------------------------------------------------------------------------------

def visible_bundles(user) -> QuerySet:
    qs = Bundle.objects.select_related("owner", "project").prefetch_related(
        "project__maintainers")
    return qs.filter(Q(public=True) | Q(owner_id=user.id)) if user.is_authenticated \
        else qs.filter(public=True)


def _bundle_patches(ids: list[int]) -> tuple[Project, list[Patch]]:
    patches = {p.id: p for p in Patch.objects.filter(id__in=ids).select_related("project")}
    missing = [i for i in ids if i not in patches]
    if missing:
        raise ValidationError({"patches": [f"no patch with id {missing[0]}"]})
    projects = {p.project_id for p in patches.values()}
    if len(projects) != 1 or len(set(ids)) != len(ids):
        raise ValidationError({"patches": ["a bundle holds distinct patches of one project"]})
    ordered = [patches[i] for i in ids]
    return ordered[0].project, ordered


def _set_bundle_patches(bundle: Bundle, patches: list[Patch]) -> None:
    BundlePatch.objects.filter(bundle=bundle).delete()
    BundlePatch.objects.bulk_create(BundlePatch(bundle=bundle, patch=p, order=n)
                                    for n, p in enumerate(patches, 1))


class BundleList(Filtered, generics.ListCreateAPIView):
    serializer_class = ser.BundleSerializer
    permission_classes = [IsAuthenticatedOrReadOnly]
    date_field = ""          # bundles have no date

    @extend_schema(parameters=[*COMMON, PROJECT, _param("owner", "An ID or username of a user."),
                               _param("public", "true or false.")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def base_queryset(self) -> QuerySet:
        return visible_bundles(self.request.user)

    def more_filters(self, qs: QuerySet) -> QuerySet:
        params = self.request.query_params
        if owner := params.get("owner"):
            key = _id_or_name(owner, "owner")
            qs = qs.filter(owner_id=key) if isinstance(key, int) \
                else qs.filter(owner__username=key)
        if (public := params.get("public")) in ("true", "false"):
            qs = qs.filter(public=public == "true")
        return qs

    @extend_schema(request=ser.BundleCreateSerializer, responses={201: ser.BundleSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ser.BundleCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        service.storable(fields["name"], "bundle name")
        project, patches = _bundle_patches(fields["patches"])
        if Bundle.objects.filter(owner=request.user, name=fields["name"]).exists():
            raise Conflict(f"you already have a bundle named {fields['name']!r}")
        with transaction.atomic():
            bundle = Bundle.objects.create(owner=request.user, project=project,
                                           name=fields["name"], public=fields["public"])
            _set_bundle_patches(bundle, patches)
        return Response(self.get_serializer(bundle).data, status=status.HTTP_201_CREATED)


class BundleDetail(generics.RetrieveUpdateAPIView):
    serializer_class = ser.BundleSerializer
    permission_classes = [IsAuthenticatedOrReadOnly]

    def get_queryset(self) -> QuerySet:
        return visible_bundles(self.request.user)

    @extend_schema(request=ser.BundleUpdateSerializer, responses={200: ser.BundleSerializer})
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._update(request)

    @extend_schema(request=ser.BundleUpdateSerializer, responses={200: ser.BundleSerializer})
    def put(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._update(request)

    def _update(self, request: Request) -> Response:
        bundle = self.get_object()
        if bundle.owner_id != request.user.id:
            raise PermissionDenied("only the bundle's owner changes it")
        data = ser.BundleUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        with transaction.atomic():
            if "patches" in fields:
                bundle.project, patches = _bundle_patches(fields["patches"])
                _set_bundle_patches(bundle, patches)
            if "name" in fields:
                service.storable(fields["name"], "bundle name")
                if Bundle.objects.filter(owner=request.user, name=fields["name"]) \
                        .exclude(pk=bundle.pk).exists():
                    raise Conflict(f"you already have a bundle named {fields['name']!r}")
                bundle.name = fields["name"]
            if "public" in fields:
                bundle.public = fields["public"]
            bundle.save()
        return Response(self.get_serializer(bundle).data)


# --- events -------------------------------------------------------------------------------------

PATCHWORK_EVENTS = ("cover-created", "patch-created", "patch-completed", "patch-state-changed",
                    "patch-delegated", "check-created", "series-created", "series-completed")


class EventList(Filtered, generics.ListAPIView):
    """Patchwork's event feed, for the categories Patchwork defines (ours stay on the pages)."""

    serializer_class = ser.EventSerializer
    search_field = "text"
    default_order = ("-date", "-id")     # Patchwork's: newest first

    @extend_schema(parameters=[
        *COMMON, PROJECT, _param("category", "An event category."),
        _param("series", "A series ID.", OpenApiTypes.INT),
        _param("patch", "A patch ID.", OpenApiTypes.INT),
        _param("cover", "A cover letter ID.", OpenApiTypes.INT)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def base_queryset(self) -> QuerySet:
        return (Event.objects.filter(category__in=PATCHWORK_EVENTS)
                .exclude(category="check-created", patch=None)
                .select_related("project", "actor", "series", "series__cover", "patch",
                                "patch__series", "check_run", "previous_state",
                                "current_state", "previous_delegate", "current_delegate"))

    def more_filters(self, qs: QuerySet) -> QuerySet:
        params = self.request.query_params
        if categories := params.getlist("category"):
            qs = qs.filter(category__in=categories)
        for name, field in (("series", "series_id"), ("patch", "patch_id"),
                            ("cover", "series__cover__id")):
            if value := params.get(name):
                qs = qs.filter(**{field: _int(value, name)})
        return qs


# --- mbox downloads (Patchwork's: plain text with a file name) --------------------------------

def _mbox(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f"attachment; filename={filename}"
    return response


def _slug(name: str) -> str:
    keep = "".join(c if c.isalnum() else "-" for c in name.lower())
    return "-".join(p for p in keep.split("-") if p)[:60] or "series"


def patch_mbox(request, pk: int) -> HttpResponse:
    patch = get_object_or_404(Patch.objects.only("mbox", "name", "number"), pk=pk)
    return _mbox(patch.mbox, f"{patch.number:04d}-{_slug(patch.name)}.patch")


def patch_raw(request, pk: int) -> HttpResponse:
    """Patchwork's /patch/N/raw/: the diff alone (git-pw `patch download --diff`)."""
    patch = get_object_or_404(Patch.objects.only("diff", "name", "number"), pk=pk)
    return _mbox(patch.diff, f"{patch.number:04d}-{_slug(patch.name)}.diff")


def bundle_mbox(request, owner: str, name: str) -> HttpResponse:
    bundle = get_object_or_404(visible_bundles(request.user), owner__username=owner, name=name)
    mails = bundle.patches.order_by("bundlepatch").values_list("mbox", flat=True)
    text = "".join(m if m.endswith("\n") else m + "\n" for m in mails)
    return _mbox(text, f"bundle-{bundle.id}-{_slug(bundle.name)}.mbox")


def cover_mbox(request, pk: int) -> HttpResponse:
    cover = get_object_or_404(Cover.objects.only("mbox", "name"), pk=pk)
    return _mbox(cover.mbox, f"0000-{_slug(cover.name)}.patch")


def series_mbox(request, pk: int) -> HttpResponse:
    series = get_object_or_404(Series, pk=pk)
    mails = series.patches.order_by("number").values_list("mbox", flat=True)
    text = "".join(m if m.endswith("\n") else m + "\n" for m in mails)
    return _mbox(text, f"{series.id}-{_slug(series.name)}-v{series.version}.mbox")
