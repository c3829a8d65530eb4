"""Checks: on a patch (Patchwork's), and on a whole series (our extra: build, boot...). A
patch's checks are its own and its series' (which cover every patch of the series)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from bot.review import contract, service
from bot.review import serializers as ser
from bot.review.api import filters
from bot.review.auth import IsBotOrMaintainer
from bot.review.models import Check, Patch, Series


def patch_checks(patch_id: int) -> QuerySet:
    """A patch's checks as Patchwork clients see them: its own and its series'."""
    patch = get_object_or_404(Patch.objects.only("id", "series_id"), pk=patch_id)
    return (Check.objects.filter(Q(patch=patch) | Q(series_id=patch.series_id, patch=None))
            .select_related("user").order_by("id"))


def created(request: Request, check: Check, new: bool, **context: Any) -> Response:
    return Response(ser.CheckSerializer(check, context={"request": request, **context}).data,
                    status=status.HTTP_201_CREATED if new else status.HTTP_200_OK)


class SeriesChecks(generics.ListAPIView):
    """cocci-bot extra: checks on a whole series (build, boot, kvm-smoke, idempotence...)."""

    serializer_class = ser.CheckSerializer
    permission_classes = [IsBotOrMaintainer]
    filterset_class = filters.CheckFilter

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):    # the schema generator asks
            return Check.objects.none()
        series = get_object_or_404(Series, pk=self.kwargs["pk"])
        return series.checks.filter(patch=None).select_related("user").order_by("id")

    @extend_schema(request=contract.CheckRequest, responses={200: ser.CheckSerializer,
                                                            201: ser.CheckSerializer})
    def post(self, request: Request, pk: int) -> Response:
        series = get_object_or_404(Series, pk=pk)
        fields = contract.validated(contract.CheckRequest, request.data)
        return created(request, *service.add_check(series, None, request.user, fields))


class SeriesCheckDetail(generics.RetrieveAPIView):
    serializer_class = ser.CheckSerializer

    def get_object(self) -> Check:
        return get_object_or_404(Check, series_id=self.kwargs["pk"], pk=self.kwargs["check_id"],
                                 patch=None)


class PatchChecks(generics.ListAPIView):
    serializer_class = ser.CheckSerializer
    permission_classes = [IsBotOrMaintainer]
    filterset_class = filters.CheckFilter

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):    # the schema generator asks
            return Check.objects.none()
        return patch_checks(self.kwargs["patch_id"])

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "patch_id": self.kwargs["patch_id"]}

    @extend_schema(request=contract.CheckRequest, responses={201: ser.CheckSerializer})
    def post(self, request: Request, patch_id: int) -> Response:
        patch = get_object_or_404(Patch, pk=patch_id)
        fields = contract.validated(contract.CheckRequest, request.data)
        check, _ = service.add_check(patch.series, patch, request.user, fields)
        return created(request, check, True)


class PatchCheckDetail(generics.RetrieveAPIView):
    serializer_class = ser.CheckSerializer

    def get_object(self) -> Check:
        return get_object_or_404(patch_checks(self.kwargs["patch_id"]), pk=self.kwargs["check_id"])

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "patch_id": self.kwargs["patch_id"]}
