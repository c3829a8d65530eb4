"""API tokens (`Authorization: Token <key>`, as Patchwork and git-pw) and the two roles."""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from rest_framework import authentication, exceptions, permissions

from bot.apply import identity
from bot.errors import UserError
from bot.review.login import LOCKED, client_address, failed, locked, succeeded
from bot.review.models import ApiToken, Project, Role


class TokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key: str):
        token = (ApiToken.objects.select_related("user")
                 .filter(digest=ApiToken.digest_of(key)).first())
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("invalid API token: ask the queue's operator "
                                                  "for one (cocci-bot serve --create-token)")
        return (token.user, token)


class ThrottledBasicAuthentication(authentication.BasicAuthentication):
    """HTTP basic auth (pwclient's REST backend with username/password), under the same
    lockout as the login page."""

    def authenticate(self, request):
        self._request = request
        return super().authenticate(request)

    def authenticate_credentials(self, userid, password, request=None):
        request = request or self._request
        address = client_address(request)
        if locked(str(userid), address):
            raise exceptions.AuthenticationFailed(LOCKED)
        try:
            found = super().authenticate_credentials(userid, password, request)
        except exceptions.AuthenticationFailed:
            failed(str(userid), address, "basic-auth")
            raise
        succeeded(str(userid), address)
        return found


def role_of(user) -> str | None:
    if not user or not user.is_authenticated:
        return None
    if user.is_superuser:
        return "maintainer"
    role = Role.objects.filter(user=user).values_list("role", flat=True).first()
    return role


def is_maintainer(user) -> bool:
    return role_of(user) == "maintainer"


def maintains(user, project) -> bool:
    """A maintainer decides for a project listed as theirs; one listed for no project at all
    (the single-tree setup) decides for every project; superusers for all."""
    if not is_maintainer(user):
        return False
    if user.is_superuser:
        return True
    mine = user.project_set.all()
    return not mine.exists() or mine.filter(pk=project.pk).exists()


def maintains_any(user) -> bool:
    return is_maintainer(user)


def maintained_projects(user) -> QuerySet:
    """The projects `user` decides for (see `maintains`)."""
    if not is_maintainer(user):
        return Project.objects.none()
    mine = user.project_set.all()
    return Project.objects.all() if user.is_superuser or not mine.exists() else mine


def maintainers_of(project) -> QuerySet:
    """The accounts `maintains` lets decide for `project`: its own maintainers, maintainers
    listed for no project, superusers."""
    deciders = Q(review_role__role="maintainer") | Q(is_superuser=True)
    return (get_user_model().objects.filter(deciders)
            .filter(Q(project=project) | Q(project__isnull=True) | Q(is_superuser=True))
            .distinct().order_by("id"))


def require_maintainer_of(user, project) -> None:
    if not maintains(user, project):
        raise exceptions.PermissionDenied(f"you are not a maintainer of {project.link_name}: "
                                          "its maintainers decide its series")


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


ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


# Patchwork's schema (first_name maxLength 30) and Django's user model (last_name 150)
FIRST_NAME_MAX, LAST_NAME_MAX = 30, 150


def split_name(name: str) -> tuple[str, str]:
    """A real name as Django keeps it: (all but the last word, the last word), which
    get_full_name() joins back with one space; a one-word name is all first name."""
    first, _, last = name.rpartition(" ")
    return (first, last) if first else (last, "")


@transaction.atomic
def create_token(role: str, username: str, projects: list[str] | None = None,
                 person: tuple[str, str] | None = None) -> str:
    """Create the account if needed (with `role`), store a new token's digest, return the token.
    An existing account keeps its role: a new token never turns a bot into a maintainer.
    `person` (real name, e-mail) is set on the account (new or not): whom it signs off as."""
    if not ACCOUNT_NAME.match(username):
        raise UserError(f"account name {username!r}: use 1-64 letters, digits, '.', '_' or '-', "
                        "starting with a letter or digit")
    ident = None
    if person is not None:
        ident = identity.check(*person, "--name/--email",
                               "pass --name 'Your Name' --email you@example.org (an address "
                               "you read mail at: it goes into your Signed-off-by)")
        first, last = split_name(ident.name)
        if len(first) > FIRST_NAME_MAX or len(last) > LAST_NAME_MAX:
            raise UserError(f"--name {ident.name!r} is too long for the account (at most "
                            f"{FIRST_NAME_MAX} characters before the last space, "
                            f"{LAST_NAME_MAX} after it)")
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save()
    current = role_of(user)
    if not created and current is not None and current != role:
        raise UserError(f"account {username!r} is a {current} account: a {role} token needs "
                        "another account name (roles are not changed by new tokens)")
    Role.objects.update_or_create(user=user, defaults={"role": role})
    if ident is not None:
        user.first_name, user.last_name = split_name(ident.name)
        user.email = ident.email
        user.save(update_fields=["first_name", "last_name", "email"])
    for link_name in projects or []:
        project = Project.objects.filter(link_name=link_name).first()
        if project is None:
            raise UserError(f"unknown project {link_name!r}: create it first with "
                            f"`cocci-bot serve --create-project {link_name}`")
        project.maintainers.add(user)
    token = secrets.token_hex(20)
    ApiToken.objects.create(user=user, digest=ApiToken.digest_of(token))
    return token


def list_tokens() -> list[dict[str, Any]]:
    return [{"id": t.id, "username": t.user.username, "role": role_of(t.user) or "-",
             "created": t.created.strftime("%Y-%m-%d %H:%M"), "prefix": t.digest[:8]}
            for t in ApiToken.objects.select_related("user").order_by("id")]


def own_tokens(user) -> list[dict[str, Any]]:
    """`user`'s tokens as the profile page lists them (never the token: only its digest is
    stored)."""
    return [{"id": t.id, "created": t.created.strftime("%Y-%m-%d %H:%M"),
             "prefix": t.digest[:8]} for t in ApiToken.objects.filter(user=user).order_by("id")]


def make_own_token(user) -> str:
    """A new token for a signed-in account with a role (its role unchanged)."""
    role = role_of(user)
    if role is None:
        raise UserError("this account has no role: ask the queue's operator for one")
    return create_token(role, user.username)


def revoke_own_token(user, token_id: int) -> None:
    deleted, _ = ApiToken.objects.filter(user=user, id=token_id).delete()
    if not deleted:
        raise UserError(f"you have no token {token_id}")


def revoke_token(which: str) -> str:
    """Delete the token with id `which`, or whose value is `which`; returns its account."""
    qs = ApiToken.objects.select_related("user")
    token = (qs.filter(id=int(which)).first() if re.fullmatch(r"[0-9]{1,18}", which)
             else None) or qs.filter(digest=ApiToken.digest_of(which)).first()
    if token is None:
        raise UserError(f"no token {which!r}: pass an id from `serve --list-tokens` or the "
                        "token itself")
    username = token.user.username
    token.delete()
    return username
