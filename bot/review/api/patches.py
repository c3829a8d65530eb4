"""Patches (read, and a maintainer's update), cover letters, and their comments."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from bot.review import contract, service
from bot.review import serializers as ser
from bot.review.api import filters
from bot.review.auth import IsMaintainer, require_maintainer_of
from bot.review.models import Comment, Cover, Patch

UPDATABLE = ("archived", "commit_ref", "pull_url")


def patch_queryset() -> QuerySet:
    return Patch.objects.select_related("project", "submitter", "state", "delegate", "series") \
        .prefetch_related("checks", "series__checks", "project__maintainers").defer("mbox")


class PatchList(generics.ListAPIView):
    serializer_class = ser.PatchSerializer
    filterset_class = filters.PatchFilter

    def get_queryset(self) -> QuerySet:
        return patch_queryset().defer("diff", "content", "headers").order_by("id")


class PatchDetail(generics.RetrieveUpdateAPIView):
    serializer_class = ser.PatchDetailSerializer
    permission_classes = [IsMaintainer]

    def get_queryset(self) -> QuerySet:
        return patch_queryset()

    @extend_schema(request=contract.PatchUpdateRequest,
                   responses={200: ser.PatchDetailSerializer})
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._update(request)

    @extend_schema(request=contract.PatchUpdateRequest,
                   responses={200: ser.PatchDetailSerializer})
    def put(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._update(request)

    def _update(self, request: Request) -> Response:
        patch = self.get_object()
        require_maintainer_of(request.user, patch.project)
        update = contract.PatchUpdateRequest(data=request.data)
        update.is_valid(raise_exception=True)
        fields = update.validated_data
        with transaction.atomic():
            if "state" in fields:
                service.set_patch_state(patch, fields["state"], request.user)
            if "delegate" in fields:
                service.set_delegate(patch, fields["delegate"], request.user)
            for name in UPDATABLE:
                if name in fields:
                    setattr(patch, name, fields[name])
            patch.save(update_fields=list(UPDATABLE))
        return Response(self.get_serializer(self.get_queryset().get(pk=patch.pk)).data)


class PatchComments(generics.ListAPIView):
    serializer_class = ser.CommentSerializer

    def get_queryset(self) -> QuerySet:
        patch = get_object_or_404(Patch, pk=self.kwargs["pk"])
        return Comment.objects.filter(patch=patch).select_related("user", "series")


class CoverList(generics.ListAPIView):
    serializer_class = ser.CoverSerializer
    filterset_class = filters.CoverFilter

    def get_queryset(self) -> QuerySet:
        return Cover.objects.select_related("project", "submitter", "series") \
            .prefetch_related("project__maintainers").defer("mbox", "content", "headers") \
            .order_by("id")


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
