"""Patchwork API 1.2 shapes (field names as Patchwork's published schema), plus our extras as
extra fields: never a Patchwork field changed or removed."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.urls import reverse
from rest_framework import serializers

from bot.review import approval
from bot.review.auth import maintainers_of
from bot.review.models import (
    Bundle,
    Check,
    Comment,
    Cover,
    Event,
    Patch,
    Person,
    Project,
    Series,
)


def _abs(ctx: dict[str, Any], name: str, *args: Any) -> str:
    return ctx["request"].build_absolute_uri(reverse(name, args=args))


def combined_check(checks: list[Check]) -> str:
    """Patchwork's rule: the latest check per context; any fail wins, then warning, pending."""
    latest: dict[str, str] = {}
    for c in sorted(checks, key=lambda c: c.id):
        latest[c.context] = c.state
    states = set(latest.values())
    for state in ("fail", "warning", "pending"):
        if state in states:
            return state
    return "success" if states else "pending"


def covering_checks(p: Patch) -> list[Check]:
    """The checks that speak for a patch: its own and its series' (a build or boot of the
    series covers every patch in it). Uses prefetched `checks` and `series__checks`."""
    return [*p.checks.all(), *(c for c in p.series.checks.all() if c.patch_id is None)]


def headers_dict(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    name = None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and name:
            value = out[name]
            if isinstance(value, list):
                value[-1] += " " + line.strip()
            else:
                out[name] = value + " " + line.strip()
            continue
        name, _, value = line.partition(":")
        if not _:
            name = None
            continue
        value = value.strip()
        if name in out:
            prev = out[name]
            out[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[name] = value
    return out


class Embedded(serializers.Serializer):
    """A read-only serializer whose fields come from methods: shapes stay explicit."""

    def create(self, validated_data):  # pragma: no cover - read only
        raise NotImplementedError

    def update(self, instance, validated_data):  # pragma: no cover - read only
        raise NotImplementedError


def project_embedded(p: Project, ctx: dict[str, Any]) -> dict[str, Any]:
    web = p.web_url or _abs(ctx, "review:project", p.link_name)
    return {"id": p.id, "url": _abs(ctx, "api-project-detail", p.id), "name": p.name,
            "link_name": p.link_name, "list_id": p.list_id, "list_email": p.list_email,
            "web_url": web, "scm_url": p.scm_url or web, "webscm_url": p.webscm_url or web,
            "list_archive_url": None, "list_archive_url_format": None, "commit_url_format": ""}


def person_embedded(p: Person, ctx: dict[str, Any]) -> dict[str, Any]:
    return {"id": p.id, "url": _abs(ctx, "api-person-detail", p.id), "name": p.name or p.email,
            "email": p.email}


def user_email(u) -> dict[str, str]:
    """{"email": the account's address}, or {} for an account without one (a bot's, or a
    maintainer who has not set one: `serve --create-token ... --email`). Patchwork's schema
    gives `email` `minLength: 1` but does not require the key, and its users always register
    with an address; ours need not have one, and the API leaves out what it does not know
    rather than make an address up."""
    return {"email": u.email} if u.email else {}


def user_embedded(u, ctx: dict[str, Any]) -> dict[str, Any] | None:
    if u is None:
        return None
    return {"id": u.id, "url": _abs(ctx, "api-user-detail", u.id), "username": u.username,
            "first_name": u.first_name, "last_name": u.last_name, **user_email(u)}


def series_embedded(s: Series, ctx: dict[str, Any]) -> dict[str, Any]:
    return {"id": s.id, "url": _abs(ctx, "api-series-detail", s.id),
            "web_url": _abs(ctx, "review:series", s.id), "name": s.name,
            "date": _date(s.date), "version": s.version, "mbox": _abs(ctx, "series-mbox", s.id)}


def cover_embedded(c: Cover, ctx: dict[str, Any]) -> dict[str, Any]:
    return {"id": c.id, "url": _abs(ctx, "api-cover-detail", c.id),
            "web_url": _abs(ctx, "review:series", c.series_id) + "#cover", "msgid": c.msgid,
            "list_archive_url": None, "date": _date(c.date), "name": c.name,
            "mbox": _abs(ctx, "cover-mbox", c.id)}


def patch_embedded(p: Patch, ctx: dict[str, Any]) -> dict[str, Any]:
    return {"id": p.id, "url": _abs(ctx, "api-patch-detail", p.id),
            "web_url": _abs(ctx, "review:series", p.series_id) + f"#patch-{p.number}",
            "msgid": p.msgid, "list_archive_url": None, "date": _date(p.date), "name": p.name,
            "mbox": _abs(ctx, "patch-mbox", p.id)}


def _date(d) -> str:
    # Patchwork's format: ISO 8601 in UTC without an offset
    return d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class ProjectSerializer(Embedded):
    def to_representation(self, p: Project) -> dict[str, Any]:
        out = project_embedded(p, self.context)
        out["maintainers"] = [user_embedded(u, self.context) for u in maintainers_of(p)]
        out["subject_match"] = ""
        return out


class PersonSerializer(Embedded):
    def to_representation(self, p: Person) -> dict[str, Any]:
        return {**person_embedded(p, self.context), "user": None}


class UserSerializer(Embedded):
    def to_representation(self, u) -> dict[str, Any]:
        return user_embedded(u, self.context) or {}


class SeriesSerializer(Embedded):
    def to_representation(self, s: Series) -> dict[str, Any]:
        ctx = self.context
        patches = list(s.patches.all())
        cover = getattr(s, "cover", None) if hasattr(s, "cover") else None
        return {
            **series_embedded(s, ctx),
            "project": project_embedded(s.project, ctx),
            "submitter": person_embedded(s.submitter, ctx),
            "total": s.total, "received_total": len(patches),
            "received_all": len(patches) >= s.total,
            "cover_letter": cover_embedded(cover, ctx) if cover else None,
            "patches": [patch_embedded(p, ctx) for p in patches],
            # --- cocci-bot extras ---
            "state": s.state.slug, "base_commit": s.base_commit, "campaign": s.campaign,
            "tag": s.tag or None,
            "previous": series_embedded(s.previous, ctx) if s.previous else None,
            "check": combined_check(list(s.checks.all())),
            "checks": _abs(ctx, "api-series-checks", s.id),
            "site_delta": s.site_delta,
            "report": _abs(ctx, "api-series-report", s.id),
            "approved_by": approval.as_json(s),
        }


class CoverSerializer(Embedded):
    detail = False

    def to_representation(self, c: Cover) -> dict[str, Any]:
        ctx = self.context
        out = {**cover_embedded(c, ctx), "project": project_embedded(c.project, ctx),
               "submitter": person_embedded(c.submitter, ctx),
               "series": [series_embedded(c.series, ctx)],
               "comments": _abs(ctx, "api-cover-comments", c.id)}
        if self.detail:
            out.update(headers=headers_dict(c.headers), content=c.content)
        return out


class CoverDetailSerializer(CoverSerializer):
    detail = True


class PatchSerializer(Embedded):
    detail = False

    def to_representation(self, p: Patch) -> dict[str, Any]:
        ctx = self.context
        out = {
            **patch_embedded(p, ctx), "project": project_embedded(p.project, ctx),
            "commit_ref": p.commit_ref, "pull_url": p.pull_url, "state": p.state.slug,
            "archived": p.archived, "hash": p.hash,
            "submitter": person_embedded(p.submitter, ctx),
            "delegate": user_embedded(p.delegate, ctx),
            "series": [series_embedded(p.series, ctx)],
            "comments": _abs(ctx, "api-patch-comments", p.id),
            "check": combined_check(covering_checks(p)),
            "checks": _abs(ctx, "api-patch-checks", p.id),
            "tags": {}, "related": [],
            # --- cocci-bot extras ---
            "patch_id": p.patch_id or None,
        }
        if self.detail:
            out.update(headers=headers_dict(p.headers), content=p.content, diff=p.diff,
                       prefixes=_prefixes(p.name))
        return out


class PatchDetailSerializer(PatchSerializer):
    detail = True


def _prefixes(name: str) -> list[str]:
    if not name.startswith("["):
        return []
    return [x for x in name[1:].split("]", 1)[0].split(",") if x]


class BundleSerializer(Embedded):
    def to_representation(self, b: Bundle) -> dict[str, Any]:
        ctx = self.context
        return {"id": b.id, "url": _abs(ctx, "api-bundle-detail", b.id),
                "web_url": _abs(ctx, "review:bundle", b.owner.username, b.name),
                "project": project_embedded(b.project, ctx), "name": b.name,
                "owner": user_embedded(b.owner, ctx),
                "patches": [patch_embedded(p, ctx) for p in b.patches.order_by("bundlepatch")],
                "public": b.public,
                "mbox": _abs(ctx, "bundle-mbox", b.owner.username, b.name)}


class CheckSerializer(Embedded):
    def to_representation(self, c: Check) -> dict[str, Any]:
        ctx = self.context
        patch_id = c.patch_id or ctx.get("patch_id")   # a series check listed for a patch
        url = (_abs(ctx, "api-patch-check-detail", patch_id, c.id) if patch_id
               else _abs(ctx, "api-series-check-detail", c.series_id, c.id))
        return {"id": c.id, "url": url, "user": user_embedded(c.user, ctx), "date": _date(c.date),
                "state": c.state, "target_url": c.target_url, "context": c.context,
                "description": c.description,
                # --- cocci-bot extras ---
                "log": _abs(ctx, "review:check-log", c.id) if c.log else None}


class CommentSerializer(Embedded):
    def to_representation(self, c: Comment) -> dict[str, Any]:
        ctx = self.context
        u = c.user
        return {"id": c.id, "web_url": _abs(ctx, "review:series", c.series_id) + f"#comment-{c.id}",
                "msgid": f"<comment-{c.id}@cocci-bot>", "list_archive_url": None,
                "date": _date(c.date), "subject": f"Re: {c.series.name}",
                "submitter": {"id": u.id, "url": _abs(ctx, "api-user-detail", u.id),
                              "name": u.get_full_name() or u.username, **user_email(u)},
                "content": c.content, "headers": {}}


class EventSerializer(Embedded):
    """Patchwork's event shapes, for the categories Patchwork knows."""

    def to_representation(self, e: Event) -> dict[str, Any]:
        ctx = self.context
        payload: dict[str, Any] = {}
        if e.category in ("series-created", "series-completed"):
            payload["series"] = series_embedded(e.series, ctx)
        elif e.category == "cover-created":
            payload["cover"] = cover_embedded(e.series.cover, ctx)
        elif e.category == "patch-created":
            payload["patch"] = patch_embedded(e.patch, ctx)
        elif e.category == "patch-completed":
            payload.update(patch=patch_embedded(e.patch, ctx),
                           series=series_embedded(e.series, ctx))
        elif e.category == "patch-delegated":
            payload.update(patch=patch_embedded(e.patch, ctx),
                           previous_delegate=user_embedded(e.previous_delegate, ctx),
                           current_delegate=user_embedded(e.current_delegate, ctx))
        elif e.category == "patch-state-changed":
            payload.update(patch=patch_embedded(e.patch, ctx),
                           previous_state=e.previous_state.slug,
                           current_state=e.current_state.slug)
        elif e.category == "check-created":
            c = e.check_run
            payload.update(patch=patch_embedded(e.patch, ctx), check={
                "id": c.id, "url": _abs(ctx, "api-patch-check-detail", e.patch_id, c.id),
                "date": _date(c.date), "state": c.state, "target_url": c.target_url,
                "context": c.context})
        return {"id": e.id, "category": e.category, "project": project_embedded(e.project, ctx),
                "date": _date(e.date), "actor": user_embedded(e.actor, ctx), "payload": payload}
