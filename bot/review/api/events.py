"""Patchwork's event feed, for the categories Patchwork defines (ours stay on the pages)."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import generics

from bot.review import serializers as ser
from bot.review.api import filters
from bot.review.models import Event

PATCHWORK_EVENTS = ("cover-created", "patch-created", "patch-completed", "patch-state-changed",
                    "patch-delegated", "check-created", "series-created", "series-completed")


class EventList(generics.ListAPIView):
    serializer_class = ser.EventSerializer
    filterset_class = filters.EventFilter

    def get_queryset(self) -> QuerySet:
        return (Event.objects.filter(category__in=PATCHWORK_EVENTS)
                .exclude(category="check-created", patch=None)
                .select_related("project", "actor", "series", "series__cover", "patch",
                                "patch__series", "check_run", "previous_state",
                                "current_state", "previous_delegate", "current_delegate")
                .order_by("-date", "-id"))     # Patchwork's: newest first
