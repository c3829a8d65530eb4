"""Bundles: a user's named lists of patches of one project (public or private)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response

from bot.review import contract
from bot.review import serializers as ser
from bot.review.api import filters
from bot.review.api_errors import Conflict
from bot.review.models import Bundle, BundlePatch, Patch, Project


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


def _name_free(user, name: str, bundle: Bundle | None = None) -> None:
    taken = Bundle.objects.filter(owner=user, name=name)
    if bundle is not None:
        taken = taken.exclude(pk=bundle.pk)
    if taken.exists():
        raise Conflict(f"you already have a bundle named {name!r}")


class BundleList(generics.ListCreateAPIView):
    serializer_class = ser.BundleSerializer
    permission_classes = [IsAuthenticatedOrReadOnly]
    filterset_class = filters.BundleFilter

    def get_queryset(self) -> QuerySet:
        return visible_bundles(self.request.user).order_by("id")

    @extend_schema(request=contract.BundleCreateRequest, responses={201: ser.BundleSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = contract.BundleCreateRequest(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        project, patches = _bundle_patches(fields["patches"])
        _name_free(request.user, fields["name"])
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

    @extend_schema(request=contract.BundleUpdateRequest, responses={200: ser.BundleSerializer})
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._update(request)

    @extend_schema(request=contract.BundleUpdateRequest, responses={200: ser.BundleSerializer})
    def put(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._update(request)

    def _update(self, request: Request) -> Response:
        bundle = self.get_object()
        if bundle.owner_id != request.user.id:
            raise PermissionDenied("only the bundle's owner changes it")
        data = contract.BundleUpdateRequest(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        with transaction.atomic():
            if "patches" in fields:
                bundle.project, patches = _bundle_patches(fields["patches"])
                _set_bundle_patches(bundle, patches)
            if "name" in fields:
                _name_free(request.user, fields["name"], bundle)
                bundle.name = fields["name"]
            if "public" in fields:
                bundle.public = fields["public"]
            bundle.save()
        return Response(self.get_serializer(bundle).data)
