"""Login throttling, keyed as django-axes keys it: REVIEW_LOGIN_FAILURES failed attempts for one
account from one address within REVIEW_LOGIN_WINDOW seconds lock that account out from that
address, and REVIEW_LOGIN_ADDRESS_FAILURES from one address (whatever the accounts) lock the
address out, until the window has passed, whatever the password (guessing gains nothing). A
stranger elsewhere therefore cannot lock the owner out, and API tokens are never throttled.
Every lock is logged. The web login, HTTP basic auth and XML-RPC share this rule.

Why not django-axes itself: it applies one failure limit to every key, and the per-address
ceiling must be higher than the per-account-and-address limit; the rule fits in this module."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from bot import defaults
from bot.review.models import LoginFailure

log = logging.getLogger("bot.review.login")
LOCKED = "too many failed logins for this account from this address: try again later"


def client_address(request: HttpRequest) -> str:
    """The client's address: X-Forwarded-For's last hop only behind a configured proxy."""
    if getattr(settings, "REVIEW_TRUSTED_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()[:64]
    return str(request.META.get("REMOTE_ADDR") or "?")[:64]


def _recent(address: str):
    since = timezone.now() - timedelta(seconds=defaults.REVIEW_LOGIN_WINDOW)
    return LoginFailure.objects.filter(date__gte=since, address=address)


def _counts(username: str, address: str) -> tuple[int, int]:
    recent = _recent(address)
    return recent.filter(username=username).count(), recent.count()


def locked(username: str, address: str) -> bool:
    mine, everyone = _counts(username[:150], address)
    return (mine >= defaults.REVIEW_LOGIN_FAILURES
            or everyone >= defaults.REVIEW_LOGIN_ADDRESS_FAILURES)


def failed(username: str, address: str, how: str) -> None:
    """Record a failed login; log the lock it starts, if it starts one."""
    username = username[:150]
    since = timezone.now() - timedelta(seconds=defaults.REVIEW_LOGIN_WINDOW)
    LoginFailure.objects.filter(date__lt=since).delete()   # keep the table small
    LoginFailure.objects.create(username=username, address=address)
    mine, everyone = _counts(username, address)
    minutes = defaults.REVIEW_LOGIN_WINDOW // 60
    if mine == defaults.REVIEW_LOGIN_FAILURES:
        log.warning("login locked: account %r from %s after %d failed %s logins, for %d min",
                    username, address, mine, how, minutes)
    if everyone == defaults.REVIEW_LOGIN_ADDRESS_FAILURES:
        log.warning("login locked: address %s after %d failed %s logins (any account), "
                    "for %d min", address, everyone, how, minutes)


def succeeded(username: str, address: str) -> None:
    """The owner got in: their failures from this address are forgotten."""
    _recent(address).filter(username=username[:150]).delete()


class ThrottledLoginView(auth_views.LoginView):
    template_name = "review/login.html"

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        username = str(request.POST.get("username", ""))
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
            succeeded(username, address)
        else:
            failed(username, address, "web")
        return response
