"""Projects, people (mail senders) and users (accounts). People and users are listed to
signed-in clients only, as Patchwork's (403 for anonymous visitors): their addresses are not
for strangers."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from bot.review import contract
from bot.review import serializers as ser
from bot.review.api import filters
from bot.review.auth import IsMaintainer, require_maintainer_of
from bot.review.models import Person, Project


class ProjectList(generics.ListAPIView):
    serializer_class = ser.ProjectSerializer
    queryset = Project.objects.order_by("id")


class ProjectDetail(generics.RetrieveUpdateAPIView):
    """A project; its maintainers change its links (PATCH/PUT), as in Patchwork."""

    serializer_class = ser.ProjectSerializer
    queryset = Project.objects.all()
    permission_classes = [IsMaintainer]

    def get_object(self) -> Project:
        key = filters.id_or_name(self.kwargs["pk"], "project")
        field = "id" if isinstance(key, int) else "link_name"
        return get_object_or_404(self.get_queryset(), **{field: key})

    @extend_schema(request=contract.ProjectUpdateRequest, responses={200: ser.ProjectSerializer})
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._update(request)

    @extend_schema(request=contract.ProjectUpdateRequest, responses={200: ser.ProjectSerializer})
    def put(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._update(request)

    def _update(self, request: Request) -> Response:
        project = self.get_object()
        require_maintainer_of(request.user, project)
        update = contract.ProjectUpdateRequest(data=request.data)
        update.is_valid(raise_exception=True)
        for name, value in update.validated_data.items():
            setattr(project, name, value)
        project.save(update_fields=[*update.validated_data] or None)
        return Response(self.get_serializer(project).data)


class SignedIn:
    """Patchwork's answer to an anonymous visitor here: 403 (not a 401 challenge)."""

    permission_classes = [IsAuthenticated]

    def get_authenticate_header(self, request) -> None:
        return None


class PersonList(SignedIn, generics.ListAPIView):
    serializer_class = ser.PersonSerializer
    filterset_class = filters.PersonFilter
    queryset = Person.objects.order_by("id")


class PersonDetail(SignedIn, generics.RetrieveAPIView):
    serializer_class = ser.PersonSerializer
    queryset = Person.objects.all()


def users() -> QuerySet:
    return get_user_model().objects.order_by("id")


class UserList(SignedIn, generics.ListAPIView):
    serializer_class = ser.UserSerializer
    filterset_class = filters.UserFilter

    def get_queryset(self) -> QuerySet:
        return users()


class UserDetail(SignedIn, generics.RetrieveAPIView):
    serializer_class = ser.UserSerializer

    def get_queryset(self) -> QuerySet:
        return users()
