"""The queue's mail stop switch: an admin maintainer stops (or resumes) all of the bot's mail on
the Mail page (/mail/) or over the API (/api/cocci/mail-stop/); the bot reads it before every
message it sends (bot.drafts.killswitch).

Admin maintainer: a superuser, or a maintainer with Django's staff flag
(`cocci-bot serve --create-token maintainer NAME --admin`).  Everyone can see whether mail
is stopped; only admins change it.  The switch's row says who changed it last, when and why.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bot.review.auth import is_maintainer
from bot.review.models import MailStop

MAX_REASON = 2000


def is_admin(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_active
                and (user.is_superuser or (user.is_staff and is_maintainer(user))))


def make_admin(username: str) -> None:
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username=username).update(is_staff=True)


def current() -> MailStop:
    return MailStop.objects.order_by("pk").first() or MailStop(stopped=False)


def as_dict(stop: MailStop) -> dict[str, Any]:
    return {"stopped": stop.stopped, "by": stop.by, "reason": stop.reason,
            "at": stop.at.timestamp() if stop.pk else None}


def change(user: Any, stopped: bool, reason: str) -> MailStop:
    reason = reason.strip()
    if stopped and not reason:
        raise ValueError("say why mail stops (reason)")
    if len(reason) > MAX_REASON:
        raise ValueError(f"the reason is longer than {MAX_REASON} characters")
    stop = MailStop.objects.order_by("pk").first() or MailStop()
    stop.stopped, stop.by, stop.at, stop.reason = stopped, user.get_username(), \
        timezone.now(), reason
    stop.save()
    return stop


class IsAdminOrReadOnly(permissions.BasePermission):
    message = "only an admin maintainer can stop or resume the bot's mail"

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or is_admin(request.user)


class MailStopView(APIView):
    """cocci-bot extra: GET the mail stop switch; POST {"stopped": bool, "reason": str} (admin)."""

    permission_classes = [IsAdminOrReadOnly]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response(as_dict(current()))

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        stopped, reason = data.get("stopped"), data.get("reason", "")
        if not isinstance(stopped, bool) or not isinstance(reason, str):
            raise ValidationError({"detail": "send {\"stopped\": true|false, \"reason\": "
                                             "\"why\"}"})
        try:
            return Response(as_dict(change(request.user, stopped, reason)))
        except ValueError as exc:
            raise ValidationError({"detail": str(exc)}) from None


@require_http_methods(["GET", "POST"])
def page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _post(request)
    return render(request, "review/mail.html", {"stop": current(),
                                                "admin": is_admin(request.user)})


@login_required
def _post(request: HttpRequest) -> HttpResponse:
    if not is_admin(request.user):
        return HttpResponseForbidden("only an admin maintainer can stop or resume the bot's mail")
    action = request.POST.get("action", "")
    try:
        if action not in ("stop", "resume"):
            raise ValueError(f"unknown action {action!r}")
        change(request.user, action == "stop", request.POST.get("reason", ""))
        messages.success(request, "mail is stopped" if action == "stop" else "mail resumed")
    except ValueError as exc:
        messages.error(request, str(exc))
    return redirect(reverse("review:mail"))
