"""The maintainers' pages: server-rendered, no JavaScript needed. Every piece of posted text
goes through Django's auto-escaping; diffs are split into classed lines, never marked up raw."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from bot import defaults
from bot.errors import UserError
from bot.review import approval, service
from bot.review.api.bundles import visible_bundles
from bot.review.auth import (
    maintained_projects,
    maintains,
    maintains_any,
    make_own_token,
    own_tokens,
    revoke_own_token,
    role_of,
)
from bot.review.models import CHECK_CONTEXTS, Check, Cover, Event, Patch, Project, Series, State
from bot.review.text import suspicious

QUIET_EVENTS = ("cover-created", "patch-created", "patch-completed",
                "series-completed")  # for Patchwork's API
ACTIONS = {"accept": "accepted", "changes": "changes-requested", "reject": "rejected"}


@dataclass(frozen=True)
class Line:
    cls: str
    text: str
    hidden: bool = False   # holds a control or bidirectional override character


def diff_lines(diff: str) -> list[Line]:
    out = []
    for text in diff.splitlines():
        if text.startswith(("+++", "---", "diff ", "index ")):
            cls = "meta"
        elif text.startswith("@@"):
            cls = "hunk"
        elif text.startswith("+"):
            cls = "add"
        elif text.startswith("-"):
            cls = "del"
        else:
            cls = "ctx"
        out.append(Line(cls, text, suspicious(text)))
    return out


def latest_checks(checks: list[Check]) -> dict[str, Check]:
    latest: dict[str, Check] = {}
    for c in sorted(checks, key=lambda c: c.id):
        latest[c.context] = c
    return latest


def _series_qs() -> QuerySet:
    return Series.objects.select_related("project", "state").prefetch_related("checks")


def _search(request: HttpRequest, qs: QuerySet) -> tuple[QuerySet, dict[str, str]]:
    """The pages' search: name, submitter (name or address), state, campaign, project."""
    get = request.GET
    terms = {k: str(get.get(k, "")).strip()[:200] for k in SEARCH_FIELDS}
    if terms["q"]:
        qs = qs.filter(name__icontains=terms["q"])
    if terms["submitter"]:
        qs = qs.filter(Q(submitter__name__icontains=terms["submitter"])
                       | Q(submitter__email__icontains=terms["submitter"]))
    if terms["state"]:
        qs = qs.filter(state__slug=terms["state"])
    if terms["campaign"]:
        qs = qs.filter(campaign__icontains=terms["campaign"])
    if terms["project"]:
        qs = qs.filter(project__link_name=terms["project"])
    if terms["delegate"]:
        qs = qs.filter(patches__delegate__username=terms["delegate"]).distinct()
    if terms["msgid"]:
        msgid = _msgid(terms["msgid"])
        qs = qs.filter(Q(patches__msgid=msgid) | Q(cover__msgid=msgid)).distinct()
    return qs, terms


def _page(request: HttpRequest, qs: QuerySet, terms: dict[str, str]) -> dict:
    page = Paginator(qs, defaults.REVIEW_WEB_PAGE_SIZE).get_page(request.GET.get("page"))
    keep = urlencode({k: v for k, v in terms.items() if v})
    return {"page": page, "keep": keep, **terms}


SEARCH_FIELDS = ("q", "submitter", "state", "campaign", "project", "delegate", "msgid")


def delegates_of(series: list[Series]) -> dict[int, list[str]]:
    """Each series' delegates (of its patches), for the lists' Delegate column."""
    rows = (Patch.objects.filter(series__in=series, delegate__isnull=False)
            .values_list("series_id", "delegate__username").distinct())
    out: dict[int, list[str]] = {}
    for sid, username in rows:
        out.setdefault(sid, []).append(username)
    return {sid: sorted(names) for sid, names in out.items()}


def _rows(page) -> list[tuple[Series, list[Check], list[str]]]:
    series = list(page)
    delegates = delegates_of(series)
    return [(s, list(latest_checks(list(s.checks.all())).values()), delegates.get(s.id, []))
            for s in series]


def todo_of(user) -> QuerySet:
    """Series waiting for `user`'s decision: open for review (REVIEW_TODO_STATES), with a
    patch delegated to them, or in a project they maintain and delegated to nobody else."""
    if not maintains_any(user):
        return Series.objects.none()
    elsewhere = (Patch.objects.filter(delegate__isnull=False).exclude(delegate=user)
                 .values("series_id"))
    mine = Q(project__in=maintained_projects(user)) & ~Q(id__in=elsewhere)
    return (_series_qs().select_related("submitter")
            .filter(state__slug__in=defaults.REVIEW_TODO_STATES)
            .filter(Q(patches__delegate=user) | mine).distinct().order_by("date", "id"))


@login_required
def todo(request: HttpRequest) -> HttpResponse:
    """A maintainer's to-do list: the series waiting for their decision, oldest first."""
    ctx = _page(request, todo_of(request.user), {})
    return render(request, "review/todo.html", {**ctx, "rows": _rows(ctx["page"]),
                                                "can_decide": True})


def queue(request: HttpRequest) -> HttpResponse:
    qs, terms = _search(request, _series_qs().select_related("submitter")
                        .order_by("-date", "-id"))
    ctx = _page(request, qs, terms)
    return render(request, "review/queue.html", {
        **ctx, "rows": _rows(ctx["page"]), "projects": Project.objects.all(),
        "can_decide": maintains_any(request.user),
        "states": State.objects.all(),
        "delegates": get_user_model().objects.filter(review_role__role="maintainer")
        .order_by("username")})


def project(request: HttpRequest, link_name: str) -> HttpResponse:
    proj = get_object_or_404(Project, link_name=link_name)
    qs, terms = _search(request, _series_qs().select_related("submitter")
                        .filter(project=proj).order_by("-date", "-id"))
    terms["project"] = ""
    ctx = _page(request, qs, terms)
    series = list(ctx["page"])
    contexts = list(CHECK_CONTEXTS)
    for s in series:
        contexts += [c.context for c in s.checks.all() if c.context not in contexts]
    matrix = []
    for s in series:
        latest = latest_checks(list(s.checks.all()))
        matrix.append((s, [latest.get(c) for c in contexts]))
    return render(request, "review/project.html",
                  {**ctx, "project": proj, "contexts": contexts, "matrix": matrix,
                   "states": State.objects.all()})


def series(request: HttpRequest, pk: int) -> HttpResponse:
    s = get_object_or_404(_series_qs().select_related("previous", "submitter"), pk=pk)
    patches = list(s.patches.select_related("state", "delegate").order_by("number"))
    checks = list(s.checks.select_related("user", "patch"))
    shown = [(p, diff_lines(p.diff)) for p in patches]
    return render(request, "review/series.html", {
        "series": s, "cover": getattr(s, "cover", None) if hasattr(s, "cover") else None,
        "patches": shown,
        "hidden_chars": [str(p.number) for p, lines in shown if any(li.hidden for li in lines)],
        "checks": checks, "latest": list(latest_checks([c for c in checks if not c.patch_id])
                                         .values()),
        "sites": s.report.get("sites") or [], "steps": s.report.get("steps") or [],
        "rangediff": (git_range_diff_lines(s.range_diff) if s.range_diff
                      else range_diff(s.previous, patches) if s.previous else None),
        "site_delta": site_delta_rows(s.site_delta),
        "newer": Series.objects.filter(previous=s).first(),
        "comments": s.comments.select_related("user"),
        "events": Event.objects.filter(series=s).exclude(category__in=QUIET_EVENTS)
        .exclude(category="check-created", patch__isnull=False, check_run__patch__isnull=True)
        .select_related("actor", "previous_state", "current_state"),
        "can_review": maintains(request.user, s.project),
        "cannot_approve": approval.why_not(request.user) if request.user.is_authenticated
        else None,
        "delegates": _delegates(s.project),
    })


def git_range_diff_lines(text: str) -> list[Line]:
    """`git range-diff` output: pair lines (`1:  abc ! 1:  def subject`) as hunk headers, the
    indented diff-of-diffs classed by its first character."""
    out = []
    for line in text.splitlines():
        inner = line[4:] if line.startswith("    ") else None
        if inner is None:
            cls = "hunk"
        elif inner.startswith("@@"):
            cls = "meta"
        else:
            cls = {"+": "add", "-": "del"}.get(inner[:1], "ctx")
        out.append(Line(cls, line, suspicious(line)))
    return out


def site_delta_rows(delta: dict | None) -> list[tuple[str, list[str]]]:
    """The bot's site delta as (heading, lines): each site as file:line function expression."""
    if not delta:
        return []
    rows = []
    for key in ("appeared", "vanished", "changed"):
        items = [i if isinstance(i, str) else
                 " ".join(str(i.get(k, "")) for k in ("file", "line", "function", "expression")
                          if i.get(k) not in (None, "")).replace(" ", ":", 1)
                 for i in delta.get(key) or []]
        rows.append((key, items))
    return rows


def range_diff(previous: Series, patches: list[Patch]) -> list[Line]:
    """What changed between the previous version's patches and these, patch by patch."""
    old = {p.number: p for p in previous.patches.order_by("number")}
    lines: list[Line] = []
    for p in patches:
        before = old.pop(p.number, None)
        header = f"{p.number}: {p.name}"
        if before is None:
            lines.append(Line("add", f"{header} (new in v{p.series.version})"))
            continue
        if before.hash == p.hash:
            lines.append(Line("ctx", f"{header} = unchanged (same patch-id)"))
            continue
        lines.append(Line("hunk", f"{header} ! changed"))
        for text in difflib.unified_diff(before.diff.splitlines(), p.diff.splitlines(),
                                         f"v{previous.version}", f"v{p.series.version}",
                                         lineterm="", n=2):
            lines.append(Line(diff_lines(text[1:])[0].cls if text[:1] == " " and text[1:]
                              else {"+": "add", "-": "del", "@": "hunk"}.get(text[:1], "ctx"),
                              "    " + text))
    for number, p in sorted(old.items()):
        lines.append(Line("del", f"{number}: {p.name} (dropped)"))
    return lines


@login_required
@require_POST
def series_action(request: HttpRequest, pk: int) -> HttpResponse:
    s = get_object_or_404(Series, pk=pk)
    if not maintains(request.user, s.project):
        return HttpResponseForbidden("only the project's maintainers can change review states")
    action = request.POST.get("action", "")
    comment = request.POST.get("comment", "")
    try:
        if action in ACTIONS:
            service.set_state(s, ACTIONS[action], request.user, comment)
            messages.success(request, f"series is now {State.objects.get(slug=ACTIONS[action])}")
        elif action == "comment" and comment.strip():
            service.add_comment(s, request.user, comment)
        else:
            raise UserError(f"unknown action {action!r}")
    except UserError as exc:
        messages.error(request, str(exc))
    return redirect(reverse("review:series", args=[pk]))


@login_required
@require_POST
def bulk_action(request: HttpRequest) -> HttpResponse:
    """A maintainer's decision for the series ticked in a list: all of them or none (each
    must be in a project they maintain), each logged as if decided alone."""
    action = request.POST.get("action", "")
    ids = [i for i in request.POST.getlist("series") if i.isascii() and i.isdigit()][
        :defaults.REVIEW_MAX_BULK]
    chosen = list(Series.objects.select_related("project", "state").filter(id__in=ids))
    back = redirect(_back(request))
    if action not in ACTIONS or not chosen:
        messages.error(request, "tick one or more series, then choose a decision")
        return back
    refused = [s.id for s in chosen if not maintains(request.user, s.project)]
    if refused:
        messages.error(request, "you are not a maintainer of the project of series "
                       f"{', '.join(map(str, refused))}: nothing was changed")
        return back
    service.set_states(chosen, ACTIONS[action], request.user)
    messages.success(request, f"{len(chosen)} series: {ACTIONS[action]}")
    return back


def _back(request: HttpRequest) -> str:
    """Where a list's form came from (one of our pages), else the queue."""
    back = str(request.POST.get("next", ""))
    return back if back.startswith("/") and not back.startswith("//") else reverse("review:queue")


def _delegates(project: Project) -> QuerySet:
    """Who a patch can be delegated to: the project's maintainers, else every maintainer."""
    users = get_user_model().objects.filter(review_role__role="maintainer", is_active=True)
    listed = users.filter(project=project)
    return (listed if listed.exists() else users).order_by("username")


@login_required
@require_POST
def patch_action(request: HttpRequest, pk: int) -> HttpResponse:
    """A maintainer delegates a patch or (un)archives it from the series page."""
    p = get_object_or_404(Patch.objects.select_related("project", "series"), pk=pk)
    if not maintains(request.user, p.project):
        return HttpResponseForbidden("only the project's maintainers can change patches")
    action = request.POST.get("action", "")
    if action == "delegate":
        who = str(request.POST.get("delegate", ""))
        user = _delegates(p.project).filter(username=who).first() if who else None
        if who and user is None:
            messages.error(request, f"{who!r} is not a maintainer this patch can go to")
        else:
            service.set_delegate(p, user, request.user)
            messages.success(request, f"patch {p.number} delegated to {who or 'nobody'}")
    elif action in ("archive", "unarchive"):
        p.archived = action == "archive"
        p.save(update_fields=["archived"])
        Event.objects.create(project=p.project, category="patch-archived", actor=request.user,
                             series=p.series, patch=p,
                             text=f"patch {p.number} {'archived' if p.archived else 'unarchived'}")
        messages.success(request, f"patch {p.number} {action}d")
    else:
        messages.error(request, f"unknown action {action!r}")
    return redirect(reverse("review:series", args=[p.series_id]) + f"#patch-{p.number}")


def _at_patch(p: Patch) -> HttpResponse:
    return redirect(reverse("review:series", args=[p.series_id]) + f"#patch-{p.number}")


def patch(request: HttpRequest, pk: int) -> HttpResponse:
    return _at_patch(get_object_or_404(Patch.objects.only("series_id", "number"), pk=pk))


def cover(request: HttpRequest, pk: int) -> HttpResponse:
    c = get_object_or_404(Cover.objects.only("series_id"), pk=pk)
    return redirect(reverse("review:series", args=[c.series_id]) + "#cover")


def _msgid(value: str) -> str:
    return f"<{value.strip().strip('<>')}>"


def project_message(request: HttpRequest, link_name: str, msgid: str) -> HttpResponse:
    """Patchwork's permalinks /project/P/patch/<msgid>/ and /project/P/cover/<msgid>/."""
    found = Patch.objects.filter(project__link_name=link_name, msgid=_msgid(msgid)).first()
    if found is not None:
        return _at_patch(found)
    c = get_object_or_404(Cover, project__link_name=link_name, msgid=_msgid(msgid))
    return redirect(reverse("review:series", args=[c.series_id]) + "#cover")


def message(request: HttpRequest, msgid: str) -> HttpResponse:
    """Patchwork's /message/<msgid>/: the patch or cover letter with that Message-ID."""
    found = Patch.objects.filter(msgid=_msgid(msgid)).first()
    if found is not None:
        return _at_patch(found)
    c = get_object_or_404(Cover, msgid=_msgid(msgid))
    return redirect(reverse("review:series", args=[c.series_id]) + "#cover")


def project_list(request: HttpRequest, link_name: str) -> HttpResponse:
    """Patchwork's /project/P/list/: the project's page, with the same search."""
    get_object_or_404(Project, link_name=link_name)
    url = reverse("review:project", args=[link_name])
    return redirect(f"{url}?{request.GET.urlencode()}" if request.GET else url)


def check_log(request: HttpRequest, pk: int) -> HttpResponse:
    check = get_object_or_404(Check.objects.only("log"), pk=pk)
    response = HttpResponse(check.log or "(no log)", content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    return response


def bundle(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    b = get_object_or_404(visible_bundles(request.user), owner__username=owner, name=name)
    patches = list(b.patches.select_related("state", "series", "submitter")
                   .order_by("bundlepatch"))
    return render(request, "review/bundle.html", {"bundle": b, "patches": patches})


def nav(request: HttpRequest) -> dict[str, int | None]:
    """Template context: a maintainer's to-do count for the header (None for others)."""
    user = getattr(request, "user", None)
    if user is None or not maintains_any(user):
        return {"todo_count": None}
    return {"todo_count": todo_of(user).count()}


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """The signed-in account's API tokens: make one (shown once) or revoke one."""
    new = None
    if request.method == "POST":
        try:
            if request.POST.get("action") == "create":
                new = make_own_token(request.user)
            elif request.POST.get("action") == "revoke":
                which = str(request.POST.get("token", ""))
                if not which.isascii() or not which.isdigit() or len(which) > 18:
                    raise UserError(f"no token {which!r}")
                revoke_own_token(request.user, int(which))
                messages.success(request, f"token {which} revoked")
            else:
                raise UserError("unknown action")
        except UserError as exc:
            messages.error(request, str(exc))
        if new is None:
            return redirect("review:profile")
    return render(request, "review/profile.html", {
        "tokens": own_tokens(request.user), "new_token": new, "role": role_of(request.user)})
