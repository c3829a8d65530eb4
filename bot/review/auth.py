"""API tokens (`Authorization: Token <key>`, as Patchwork and git-pw) and the two roles."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework import authentication, exceptions, permissions

from bot.review.models import ApiToken, Role


class TokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key: str):
        token = (ApiToken.objects.select_related("user")
                 .filter(digest=ApiToken.digest_of(key)).first())
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("invalid API token: ask the queue's operator "
                                                  "for one (cocci-bot serve --create-token)")
        return (token.user, token)


def role_of(user) -> str | None:
    if not user or not user.is_authenticated:
        return None
    if user.is_superuser:
        return "maintainer"
    role = Role.objects.filter(user=user).values_list("role", flat=True).first()
    return role


def is_maintainer(user) -> bool:
    return role_of(user) == "maintainer"


class IsBotOrMaintainer(permissions.BasePermission):
    message = "posting needs a bot or maintainer token"

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return role_of(request.user) in ("bot", "maintainer")


class IsMaintainer(permissions.BasePermission):
    message = "only maintainers can change review states"

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return is_maintainer(request.user)


@transaction.atomic
def create_token(role: str, username: str) -> str:
    """Create the account if needed (with `role`), store a new token's digest, return the token."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    if not user.has_usable_password() and user.password == "":
        user.set_unusable_password()
        user.save()
    Role.objects.update_or_create(user=user, defaults={"role": role})
    token = secrets.token_hex(20)
    ApiToken.objects.create(user=user, digest=ApiToken.digest_of(token))
    return token
