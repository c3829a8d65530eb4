"""The web login, throttled: after REVIEW_LOGIN_FAILURES failed attempts within
REVIEW_LOGIN_WINDOW seconds for one account, or from one address, further attempts are refused
(429) until the window has passed, whatever the password (guessing gains nothing)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from bot import defaults
from bot.review.models import LoginFailure


def client_address(request: HttpRequest) -> str:
    """The client's address: X-Forwarded-For's last hop only behind a configured proxy."""
    if getattr(settings, "REVIEW_TRUSTED_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()[:64]
    return str(request.META.get("REMOTE_ADDR") or "?")[:64]


def locked(username: str, address: str) -> bool:
    since = timezone.now() - timedelta(seconds=defaults.REVIEW_LOGIN_WINDOW)
    recent = LoginFailure.objects.filter(date__gte=since)
    return (recent.filter(username=username).count() >= defaults.REVIEW_LOGIN_FAILURES
            or recent.filter(address=address).count() >= defaults.REVIEW_LOGIN_FAILURES)


class ThrottledLoginView(auth_views.LoginView):
    template_name = "review/login.html"

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        username = str(request.POST.get("username", ""))[:150]
        address = client_address(request)
        if locked(username, address):
            minutes = defaults.REVIEW_LOGIN_WINDOW // 60
            response = self.render_to_response(self.get_context_data(
                form=self.get_form(), locked_out=minutes))
            response.status_code = 429
            response["Retry-After"] = str(defaults.REVIEW_LOGIN_WINDOW)
            return response
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            LoginFailure.objects.filter(Q(username=username) | Q(address=address)).delete()
        else:
            LoginFailure.objects.create(username=username, address=address)
            since = timezone.now() - timedelta(seconds=defaults.REVIEW_LOGIN_WINDOW)
            LoginFailure.objects.filter(date__lt=since).delete()   # keep the table small
        return response
