"""Series: Patchwork's read side, and our extras (the bot posts a series, supersedes and
absorbs versions, comments; a maintainer sets a series' state)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bot.review import contract, service
from bot.review import serializers as ser
from bot.review.api import filters
from bot.review.auth import IsBotOrMaintainer, IsMaintainer, require_maintainer_of
from bot.review.models import Project, Series


def series_queryset() -> QuerySet:
    return (Series.objects.select_related("project", "submitter", "state", "previous", "cover",
                                          "approved_by")
            .prefetch_related("patches", "checks", "project__maintainers"))


def rendered(request: Request, pk: int, code: int = status.HTTP_200_OK) -> Response:
    """The series as the API shows it, fresh from the database."""
    return Response(ser.SeriesSerializer(series_queryset().get(pk=pk),
                                         context={"request": request}).data, status=code)


class SeriesList(generics.ListAPIView):
    serializer_class = ser.SeriesSerializer
    filterset_class = filters.SeriesFilter

    def get_queryset(self) -> QuerySet:
        return series_queryset().order_by("id")


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

    @extend_schema(request=contract.SeriesRequest, responses={200: ser.SeriesSerializer,
                                                             201: ser.SeriesSerializer})
    def post(self, request: Request) -> Response:
        parsed = contract.validated(contract.SeriesRequest, request.data)["parsed"]
        series, created = service.create_series(parsed, request.user)
        return rendered(request, series.pk,
                        status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SeriesSupersede(APIView):
    """cocci-bot extra: mark a series Superseded once a newer version of it was posted."""

    permission_classes = [IsBotOrMaintainer]

    @extend_schema(request=None, responses={200: ser.SeriesSerializer})
    def post(self, request: Request, pk: int) -> Response:
        service.supersede(get_object_or_404(Series, pk=pk), request.user)
        return rendered(request, pk)


class CampaignAbsorbed(APIView):
    """cocci-bot extra: the campaign's fix arrived upstream in `release`; the posting account's
    open versions of it become Not Applicable with the comment. Returns the series changed."""

    permission_classes = [IsBotOrMaintainer]

    @extend_schema(request=contract.AbsorbedRequest, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, project: str, campaign: str) -> Response:
        proj = get_object_or_404(Project, link_name=project)
        fields = contract.validated(contract.AbsorbedRequest, request.data)
        return Response({"series": service.absorbed(proj, campaign, request.user,
                                                    fields["comment"])})


class SeriesState(APIView):
    """cocci-bot extra: a maintainer sets the series' review state (and its patches')."""

    permission_classes = [IsMaintainer]

    @extend_schema(request=contract.SeriesStateRequest, responses={200: ser.SeriesSerializer})
    def post(self, request: Request, pk: int) -> Response:
        series = get_object_or_404(Series, pk=pk)
        require_maintainer_of(request.user, series.project)
        fields = contract.validated(contract.SeriesStateRequest, request.data)
        service.set_state(series, fields["state"], request.user, fields.get("comment") or "")
        return rendered(request, pk)


class SeriesBulkState(APIView):
    """cocci-bot extra: one decision for N series in one request (Patchwork users asked for
    it: git-pw took 12 s for 13 patches). A maintainer must maintain every series' project, or
    nothing changes; each series logs its own events, as when decided alone."""

    permission_classes = [IsMaintainer]

    @extend_schema(request=contract.BulkStateRequest, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        fields = contract.validated(contract.BulkStateRequest, request.data)
        ids = list(dict.fromkeys(fields["series"]))
        chosen = list(Series.objects.select_related("project", "state").filter(id__in=ids))
        missing = sorted(set(ids) - {s.id for s in chosen})
        if missing:
            raise NotFound(f"no series {', '.join(map(str, missing))}: nothing was changed")
        for series in chosen:
            require_maintainer_of(request.user, series.project)
        service.set_states(chosen, fields["state"], request.user, fields.get("comment") or "")
        states = dict(Series.objects.filter(id__in=ids).values_list("id", "state__slug"))
        return Response({"series": [{"id": i, "state": states[i]} for i in ids]})


class SeriesComments(generics.ListAPIView):
    """cocci-bot extra: comments on the series as a whole (the page's Comments; Patchwork's API
    lists them as the cover letter's). The bot posts what it did, e.g. the mails it sent."""

    serializer_class = ser.CommentSerializer
    permission_classes = [IsBotOrMaintainer]

    def get_queryset(self) -> QuerySet:
        series = get_object_or_404(Series, pk=self.kwargs["pk"])
        return series.comments.filter(patch=None).select_related("user", "series")

    @extend_schema(request=contract.CommentRequest, responses={200: ser.CommentSerializer,
                                                              201: ser.CommentSerializer})
    def post(self, request: Request, pk: int, *args: Any) -> Response:
        series = get_object_or_404(Series, pk=pk)
        content = contract.validated(contract.CommentRequest, request.data)["content"]
        comment, created = service.comment_once(series, request.user, content)
        return Response(ser.CommentSerializer(comment, context={"request": request}).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
