"""Patchwork's XML-RPC API at /xmlrpc/, for pwclient configured with `backend = xmlrpc` (older
setups): the same data as the REST API in Patchwork's XML-RPC shapes. Reading is open; patch_set
and check_create need HTTP basic auth of an account with the right role (login throttling
applies). Python's own xmlrpc.server does the protocol."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from xmlrpc.client import Fault
from xmlrpc.server import SimpleXMLRPCDispatcher

from django.contrib.auth import authenticate
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from bot import defaults
from bot.errors import UserError
from bot.review import contract, service
from bot.review.api.checks import patch_checks
from bot.review.auth import maintains, role_of
from bot.review.login import LOCKED, client_address, failed, locked, succeeded
from bot.review.models import Check, Patch, Person, Project, State
from bot.review.serializers import combined_check

VERSION = [1, 3, 0]


def _id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= defaults.REVIEW_MAX_ID:
        raise Fault(1, f"{what} must be a positive integer id")
    return value


def _limit(qs: QuerySet, max_count: Any) -> list:
    if isinstance(max_count, int) and not isinstance(max_count, bool):
        if max_count > 0:
            return list(qs[:max_count])
        if max_count < 0:
            return list(qs.reverse()[:-max_count])
    return list(qs)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def project_dict(p: Project) -> dict[str, Any]:
    return {"id": p.id, "linkname": p.link_name, "name": p.name}


def person_dict(p: Person) -> dict[str, Any]:
    return {"id": p.id, "email": p.email, "name": p.name or p.email, "user": ""}


def patch_dict(p: Patch) -> dict[str, Any]:
    return {"id": p.id, "date": str(p.date), "filename": f"{p.number:04d}.patch",
            "msgid": p.msgid, "name": p.name, "project": p.project.link_name,
            "project_id": p.project_id, "state": p.state.name, "state_id": p.state_id,
            "archived": p.archived, "submitter": str(p.submitter), "submitter_id": p.submitter_id,
            "delegate": p.delegate.username if p.delegate else "",
            "delegate_id": p.delegate_id or 0, "commit_ref": p.commit_ref or "", "hash": p.hash}


def state_dict(s: State) -> dict[str, Any]:
    return {"id": s.id, "name": s.name}


def check_dict(c: Check, patch: Patch) -> dict[str, Any]:
    return {"id": c.id, "date": str(c.date), "patch": patch.name, "patch_id": patch.id,
            "user": c.user.username, "user_id": c.user_id, "state": c.state,
            "target_url": c.target_url or "", "description": c.description or "",
            "context": c.context}


def _patches() -> QuerySet:
    return Patch.objects.select_related("project", "state", "submitter", "delegate").defer(
        "mbox", "diff", "content", "headers").order_by("id")


# filter keys pwclient sends, as Django lookups on Patch
PATCH_FILTERS = {"project_id": "project_id", "submitter_id": "submitter_id",
                 "delegate_id": "delegate_id", "state_id": "state_id", "archived": "archived",
                 "msgid": "msgid", "series": "series_id", "name__icontains": "name__icontains",
                 "hash": "hash", "id": "id"}


class Api:
    """The methods; `user` is the basic-auth account (or None), checked only by the methods
    that write (a password hash per read would make every listing slow)."""

    def __init__(self, request: HttpRequest) -> None:
        self._request = request
        self._checked = False
        self._user = None

    @property
    def user(self):
        if not self._checked:
            self._checked = True
            self._user = _basic_user(self._request)
        return self._user

    def pw_rpc_version(self) -> list[int]:
        return VERSION

    def project_list(self, search: Any = "", max_count: Any = 0) -> list[dict]:
        qs = Project.objects.order_by("id")
        if search:
            qs = qs.filter(Q(link_name__icontains=_text(search)) | Q(name__icontains=_text(search)))
        return [project_dict(p) for p in _limit(qs, max_count)]

    def project_get(self, project_id: Any) -> dict:
        p = Project.objects.filter(pk=_id(project_id, "project_id")).first()
        return project_dict(p) if p else {}

    def person_list(self, search: Any = "", max_count: Any = 0) -> list[dict]:
        qs = Person.objects.order_by("id")
        if search:
            qs = qs.filter(Q(name__icontains=_text(search)) | Q(email__icontains=_text(search)))
        return [person_dict(p) for p in _limit(qs, max_count)]

    def person_get(self, person_id: Any) -> dict:
        p = Person.objects.filter(pk=_id(person_id, "person_id")).first()
        return person_dict(p) if p else {}

    def patch_list(self, filters: Any = None) -> list[dict]:
        filters = filters if isinstance(filters, dict) else {}
        qs = _patches()
        for key, value in filters.items():
            if key == "max_count":
                continue
            if key not in PATCH_FILTERS:
                raise Fault(1, f"unknown filter {key!r}: one of {', '.join(PATCH_FILTERS)}")
            if key.endswith("_id") or key in ("series", "id"):
                value = _id(value, key)
            elif key == "archived":
                value = bool(value)
            else:
                value = _text(value)
                contract.storable(value, key)
            qs = qs.filter(**{PATCH_FILTERS[key]: value})
        return [patch_dict(p) for p in _limit(qs, filters.get("max_count", 0))]

    def patch_get(self, patch_id: Any) -> dict:
        p = _patches().filter(pk=_id(patch_id, "patch_id")).first()
        return patch_dict(p) if p else {}

    def patch_get_by_hash(self, value: Any) -> dict:
        h = _text(value).lower()
        p = _patches().filter(Q(hash=h) | Q(patch_id=h)).first()
        return patch_dict(p) if p else {}

    def patch_get_by_project_hash(self, project: Any, value: Any) -> dict:
        h = _text(value).lower()
        p = _patches().filter(Q(hash=h) | Q(patch_id=h),
                              project__link_name=_text(project)).first()
        return patch_dict(p) if p else {}

    def patch_get_mbox(self, patch_id: Any) -> str:
        p = Patch.objects.filter(pk=_id(patch_id, "patch_id")).only("mbox").first()
        return p.mbox if p else ""

    def patch_get_diff(self, patch_id: Any) -> str:
        p = Patch.objects.filter(pk=_id(patch_id, "patch_id")).only("diff").first()
        return p.diff if p else ""

    def patch_set(self, patch_id: Any, params: Any) -> bool:
        patch = _patches().filter(pk=_id(patch_id, "patch_id")).first()
        if patch is None:
            raise Fault(1, f"no patch {patch_id}")
        if self.user is None or not maintains(self.user, patch.project):
            raise Fault(1, "patch_set needs the basic-auth login of one of the project's "
                           "maintainers")
        params = params if isinstance(params, dict) else {}
        unknown = set(params) - {"state", "commit_ref", "archived"}
        if unknown:
            raise Fault(1, f"cannot set {', '.join(sorted(unknown))}")
        if "state" in params:
            state = State.objects.filter(pk=_id(params["state"], "state")).first()
            if state is None:
                raise Fault(1, f"no state {params['state']}")
            service.set_patch_state(patch, state, self.user)
        if "commit_ref" in params:
            ref = _text(params["commit_ref"])
            if len(ref) > 255:
                raise Fault(1, "commit_ref holds at most 255 characters")
            patch.commit_ref = ref
        if "archived" in params:
            patch.archived = bool(params["archived"])
        patch.save(update_fields=["commit_ref", "archived"])
        return True

    def state_list(self, search: Any = "", max_count: Any = 0) -> list[dict]:
        qs = State.objects.order_by("ordering")
        if search:
            qs = qs.filter(name__icontains=_text(search))
        return [state_dict(s) for s in _limit(qs, max_count)]

    def state_get(self, state_id: Any) -> dict:
        s = State.objects.filter(pk=_id(state_id, "state_id")).first()
        return state_dict(s) if s else {}

    def check_list(self, filters: Any = None) -> list[dict]:

        filters = filters if isinstance(filters, dict) else {}
        if "patch_id" in filters:
            patch = Patch.objects.filter(pk=_id(filters["patch_id"], "patch_id")).first()
            if patch is None:
                return []
            checks = patch_checks(patch.id)
            if "user" in filters:
                checks = checks.filter(user__username=_text(filters["user"]))
            return [check_dict(c, patch) for c in _limit(checks, filters.get("max_count"))]
        qs = Check.objects.select_related("user", "patch").exclude(patch=None).order_by("id")
        if "user" in filters:
            qs = qs.filter(user__username=_text(filters["user"]))
        return [check_dict(c, c.patch) for c in _limit(qs, filters.get("max_count"))]

    def check_get(self, check_id: Any) -> dict:
        c = Check.objects.select_related("user", "patch", "series").filter(
            pk=_id(check_id, "check_id")).first()
        if c is None:
            return {}
        patch = c.patch or c.series.patches.order_by("number").first()
        return check_dict(c, patch)

    def patch_check_get(self, patch_id: Any) -> dict:

        patch = Patch.objects.filter(pk=_id(patch_id, "patch_id")).first()
        if patch is None:
            return {}
        checks = list(patch_checks(patch.id))
        return {"state": combined_check(checks), "sha": patch.hash, "total": len(checks),
                "checks": [check_dict(c, patch) for c in checks]}

    def check_create(self, patch_id: Any, context: Any, state: Any, target_url: Any = "",
                     description: Any = "") -> bool:
        patch = Patch.objects.select_related("series").filter(
            pk=_id(patch_id, "patch_id")).first()
        if patch is None:
            raise Fault(1, f"no patch {patch_id}")
        if role_of(self.user) not in ("bot", "maintainer"):
            raise Fault(1, "check_create needs the basic-auth login of a bot or maintainer")
        fields = contract.validated(contract.CheckRequest, {
            "context": context, "state": state, "target_url": target_url or None,
            "description": description or None})
        service.add_check(patch.series, patch, self.user, fields)
        return True


METHODS = [name for name, value in vars(Api).items()
           if not name.startswith("_") and callable(value)]


def _basic_user(request: HttpRequest):
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        username, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise UserError("malformed basic authorization header") from exc
    address = client_address(request)
    if locked(username, address):
        raise UserError(LOCKED)
    user = authenticate(request, username=username, password=password)
    if user is None:
        failed(username, address, "XML-RPC")
        raise UserError("wrong user name or password")
    succeeded(username, address)
    return user


def _dispatcher(request: HttpRequest) -> SimpleXMLRPCDispatcher:
    dispatcher = SimpleXMLRPCDispatcher(allow_none=True, encoding="utf-8")
    api = Api(request)
    for name in METHODS:
        dispatcher.register_function(_guarded(getattr(api, name)), name)
    dispatcher.register_introspection_functions()
    return dispatcher


def _guarded(method):
    def call(*args: Any) -> Any:
        try:
            return method(*args)
        except UserError as exc:
            raise Fault(1, str(exc)) from exc
        except TypeError as exc:  # wrong number of arguments
            raise Fault(1, f"{method.__name__}: {exc}") from exc
    call.__name__ = method.__name__
    return call


@csrf_exempt
def xmlrpc_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"], "Patchwork's XML-RPC API: POST a methodCall")
    body = _dispatcher(request)._marshaled_dispatch(request.body)
    return HttpResponse(body, content_type="text/xml; charset=utf-8")
