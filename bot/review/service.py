"""Storing what the bot posts: a series with its cover and patches, checks, superseding.

All or nothing: a series is validated completely before a transaction stores it, and
posting the same dedupe key twice returns the series already stored."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from rest_framework.exceptions import PermissionDenied

from bot import defaults
from bot.errors import InfraError, UserError
from bot.review import mbox
from bot.review.api_errors import Conflict
from bot.review.hasher import patchwork_hash
from bot.review.models import (
    CHECK_STATES,
    Check,
    Comment,
    Cover,
    Event,
    Patch,
    Person,
    Project,
    Series,
    State,
)
from bot.review.patchid import patch_id

_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_CONTEXT = re.compile(r"^[-a-zA-Z0-9_]+$")
_DEDUPE = re.compile(r"^[0-9A-Za-z._:-]{8,128}$")
TRUNCATED = " [... truncated]"
FIELD_MAX = 255   # names, addresses, Message-Ids: the columns' size


@dataclass
class Parsed:
    project: Project
    dedupe_key: str
    report: dict[str, Any]
    cover: mbox.Mail | None
    patches: list[tuple[mbox.Mail, str]]  # (mail, patch-id)
    range_diff: str = ""
    site_delta: dict[str, list[Any]] | None = None


def storable(value: Any, what: str) -> None:
    """Reject text no database can store: NUL characters, lone UTF-16 surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            raise UserError(f"{what} contains a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UserError(f"{what} is not valid Unicode text ({exc.reason})") from exc
    elif isinstance(value, dict):
        for k, v in value.items():
            storable(k, what)
            storable(v, f"{what}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            storable(v, f"{what}[{i}]")


def parse_request(data: Any) -> Parsed:
    """Validate a series creation request completely, before anything is stored."""
    if not isinstance(data, dict):
        raise UserError("expected a JSON object with project, report, patches (and cover)")
    storable(data, "request")
    project = _project(data.get("project"))
    report = _report(data.get("report"))
    patches = _patches(data.get("patches"))
    cover = _cover(data.get("cover"))
    if len(str(report["campaign"])) > FIELD_MAX or len(str(report.get("tag") or "")) > FIELD_MAX:
        raise UserError(f"report.campaign and report.tag hold at most {FIELD_MAX} characters")
    key = data.get("dedupe_key") or report.get("dedupe_key") or derive_key(
        report["base"], report["campaign"], [pid for _, pid in patches])
    if not isinstance(key, str) or not _DEDUPE.match(key):
        raise UserError("dedupe_key must be 8-128 characters of [0-9A-Za-z._:-]")
    return Parsed(project, key, report, cover, patches, _range_diff(data.get("range_diff")),
                  _site_delta(data.get("site_delta")))


def _range_diff(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise UserError("range_diff must be a string (`git range-diff` output)")
    if len(value) > defaults.REVIEW_MAX_LOG_BYTES:
        raise UserError(f"range_diff is {len(value)} characters; the queue keeps at most "
                        f"{defaults.REVIEW_MAX_LOG_BYTES}")
    return value


SITE_DELTA_KEYS = ("appeared", "vanished", "changed")


def _site_delta(value: Any) -> dict[str, list[Any]] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - set(SITE_DELTA_KEYS) or not all(
            isinstance(value.get(k, []), list) for k in SITE_DELTA_KEYS):
        raise UserError("site_delta must be an object of lists: "
                        '{"appeared": [...], "vanished": [...], "changed": [...]}')
    for key in SITE_DELTA_KEYS:
        for i, item in enumerate(value.get(key, [])):
            if not isinstance(item, str | dict):
                raise UserError(f"site_delta.{key}[{i}] must be a call site (an object like the "
                                "report's sites) or a string")
    return {k: list(value.get(k, [])) for k in SITE_DELTA_KEYS}


def derive_key(base: str, campaign: str, patch_ids: list[str]) -> str:
    """The dedupe key when report.json has none: base + campaign + the patches' patch-ids."""
    text = "\n".join([base, campaign, *patch_ids])
    return hashlib.sha256(text.encode()).hexdigest()


def _project(name: Any) -> Project:
    if not isinstance(name, str) or not name:
        raise UserError("missing project: name the tree's project (its link name)")
    project = Project.objects.filter(link_name=name).first()
    if project is None:
        known = ", ".join(Project.objects.values_list("link_name", flat=True)) or "none yet"
        raise UserError(f"unknown project {name!r} (known: {known}); create it with "
                        f"`cocci-bot serve --create-project {name}`")
    return project


def _report(report: Any) -> dict[str, Any]:
    if not isinstance(report, dict):
        raise UserError("missing report: post report.json as the `report` object")
    for key, kind in (("campaign", str), ("base", str), ("steps", list), ("sites", list)):
        if not isinstance(report.get(key), kind):
            raise UserError(f"report.{key} is missing or not a {kind.__name__}")
    if not _HEX40.match(report["base"]):
        raise UserError(f"report.base must be a 40-hex commit id, got {report['base']!r}")
    for i, site in enumerate(report["sites"]):
        if not isinstance(site, dict) or not isinstance(site.get("file"), str):
            raise UserError(f"report.sites[{i}] must be an object with at least a `file`")
    return report


def _patches(patches: Any) -> list[tuple[mbox.Mail, str]]:
    if not isinstance(patches, list) or not patches:
        raise UserError("patches must be a non-empty list of `git format-patch` mails")
    if len(patches) > defaults.REVIEW_MAX_PATCHES:
        raise UserError(f"{len(patches)} patches is more than the limit of "
                        f"{defaults.REVIEW_MAX_PATCHES} in one series")
    out = []
    for i, raw in enumerate(patches, 1):
        what = f"patch {i}"
        if not isinstance(raw, str):
            raise UserError(f"{what} must be a string (the mail's text)")
        mail = checked_mail(mbox.parse(raw, what), what)
        if mail.number is not None and (mail.number, mail.total) != (i, len(patches)):
            raise UserError(f"{what} is numbered {mail.number}/{mail.total} but {len(patches)} "
                            "patches were posted: post the whole series, in order")
        if not mail.diff:
            raise UserError(f"{what} ({mail.subject}) has no diff")
        mbox.check_diff(mail.diff, what)
        out.append((mail, patch_id(mail.diff, what)))
    return out


def checked_mail(mail: mbox.Mail, what: str) -> mbox.Mail:
    """Refuse what a database column cannot hold, the same way on SQLite and PostgreSQL
    (SQLite would store an over-long name silently, PostgreSQL refuse it)."""
    for field, value in (("From: name", mail.from_name), ("From: address", mail.from_email),
                         ("Message-Id", mail.msgid or "")):
        if len(value) > FIELD_MAX:
            raise UserError(f"{what}: {field} is {len(value)} characters; the queue keeps at "
                            f"most {FIELD_MAX}")
    storable([mail.subject, mail.from_name, mail.from_email, mail.msgid or ""],
             f"{what} headers")
    return mail


def _msgids(parsed: Parsed) -> list[str]:
    mails = ([parsed.cover] if parsed.cover else []) + [m for m, _ in parsed.patches]
    ids = [m.msgid for m in mails if m.msgid]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise UserError(f"Message-Id {dup} is used by two mails of the series: each mail "
                        "needs its own")
    return ids


def _conflicts(parsed: Parsed) -> None:
    """A mail whose Message-Id is already stored in the project under another series: a 409
    naming it (a retry would meet the same one)."""
    ids = _msgids(parsed)
    taken = (Patch.objects.filter(project=parsed.project, msgid__in=ids)
             .values_list("msgid", "series_id").first()
             or Cover.objects.filter(project=parsed.project, msgid__in=ids)
             .values_list("msgid", "series_id").first())
    if taken:
        raise Conflict(f"Message-Id {taken[0]} already belongs to series {taken[1]}: this "
                       "series was posted before under another dedupe key; give the new mails "
                       "new Message-Ids (git format-patch makes them)")


def _cover(raw: Any) -> mbox.Mail | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        raise UserError("cover must be a string (the cover letter's mail)")
    mail = checked_mail(mbox.parse(raw, "cover letter"), "cover letter")
    if mail.diff:
        raise UserError("cover letter carries a diff: post it as a patch instead")
    return mail


def create_series(parsed: Parsed, user) -> tuple[Series, bool]:
    """Store the series, or return the one already stored under its dedupe key.

    A unique-constraint race (the same key posted twice at once, or two new versions of one
    campaign taking the same `previous`) is settled by looking again, then retrying."""
    for _ in range(defaults.REVIEW_STORE_ATTEMPTS):
        existing = Series.objects.filter(project=parsed.project,
                                         dedupe_key=parsed.dedupe_key).first()
        if existing:
            return existing, False
        _conflicts(parsed)
        try:
            with transaction.atomic():
                return _store(parsed, user), True
        except IntegrityError:
            continue
    _conflicts(parsed)
    raise InfraError(f"could not store series {parsed.dedupe_key} after "
                     f"{defaults.REVIEW_STORE_ATTEMPTS} attempts (concurrent posts)")


def _person(mail: mbox.Mail) -> Person:
    person, _ = Person.objects.get_or_create(email=mail.from_email,
                                             defaults={"name": mail.from_name})
    return person


def _store(parsed: Parsed, user) -> Series:
    report, project = parsed.report, parsed.project
    new = State.objects.get(slug="new")
    first = parsed.cover or parsed.patches[0][0]
    # one series creation at a time per project: versions of a campaign form one chain
    Project.objects.select_for_update().filter(pk=project.pk).first()
    previous = (Series.objects
                .filter(project=project, campaign=report["campaign"], next_version__isnull=True)
                .order_by("-id").first())
    series = Series.objects.create(
        project=project, name=_series_name(parsed), submitter=_person(first), date=first.date,
        version=(previous.version + 1) if previous else 1, total=len(parsed.patches),
        state=new, base_commit=report["base"], campaign=report["campaign"][:255],
        tag=str(report.get("tag") or "")[:255], spatch=str(report.get("spatch") or "")[:64],
        dedupe_key=parsed.dedupe_key, previous=previous, report=report, created_by=user,
        range_diff=parsed.range_diff, site_delta=parsed.site_delta)
    key = parsed.dedupe_key[:48]
    if parsed.cover:
        c = parsed.cover
        Cover.objects.create(project=project, series=series, name=c.name, date=c.date,
                             msgid=c.msgid or f"<{key}.0@cocci-bot>", submitter=_person(c),
                             headers=c.headers, content=c.content, mbox=c.raw)
    for n, (m, pid) in enumerate(parsed.patches, 1):
        Patch.objects.create(project=project, series=series, number=n, name=m.name, date=m.date,
                             msgid=m.msgid or f"<{key}.{n}@cocci-bot>", submitter=_person(m),
                             headers=m.headers, content=m.content, diff=m.diff,
                             hash=patchwork_hash(m.diff), patch_id=pid, mbox=m.raw, state=new)
    Event.objects.create(project=project, category="series-created", actor=user, series=series,
                         text=f"series v{series.version} posted with {series.total} patches")
    _patchwork_events(series, user)
    supersede_older(series, user)
    return series


def older_open(project: Project, campaign: str, user, before_id: int | None = None) -> QuerySet:
    """Open versions of `campaign` on `project` posted by `user`: the series a newer version
    (or an absorbed release) replaces. Decided ones keep the maintainer's decision, and no
    account's series are touched by another's."""
    qs = Series.objects.filter(project=project, campaign=campaign, created_by=user,
                               state__slug__in=defaults.REVIEW_SUPERSEDE_STATES)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return qs.select_related("state", "project").order_by("id")


def supersede_older(series: Series, user) -> list[int]:
    """The server's supersede policy, applied when a series is stored."""
    if user is None:
        return []
    changed = []
    for old in older_open(series.project, series.campaign, user, series.id):
        set_state(old, "superseded", user)
        changed.append(old.id)
    return changed


def absorbed(project: Project, campaign: str, user, release: str, comment: str) -> list[int]:
    """The fix arrived upstream in `release`: the bot's open versions of the campaign become
    Not Applicable, each with the comment. Returns the series changed."""
    for what, value in (("release", release), ("comment", comment)):
        if not isinstance(value, str):
            raise UserError(f"{what} must be a string")
    if not release.strip():
        raise UserError("release is missing: name the release that absorbed the fix")
    text = comment.strip() or f"Absorbed upstream in {release}."
    changed = []
    with transaction.atomic():
        for old in older_open(project, campaign, user):
            set_state(old, "not-applicable", user, text)
            changed.append(old.id)
    return changed


def _patchwork_events(series: Series, user) -> None:
    """The events Patchwork's API lists for a new series (not shown on our series page)."""
    events = [Event(project=series.project, category="cover-created", actor=user, series=series)
              ] if hasattr(series, "cover") else []
    patches = list(series.patches.order_by("number"))
    events += [Event(project=series.project, category="patch-created", actor=user,
                     series=series, patch=p) for p in patches]
    # the whole series arrives at once: every patch's dependencies are there (Patchwork's
    # patch-completed)
    events += [Event(project=series.project, category="patch-completed", actor=user,
                     series=series, patch=p) for p in patches]
    events.append(Event(project=series.project, category="series-completed", actor=user,
                        series=series))
    Event.objects.bulk_create(events)


def _series_name(parsed: Parsed) -> str:
    if parsed.cover and "*** SUBJECT HERE ***" not in parsed.cover.subject:
        return parsed.cover.name.split("] ", 1)[-1][:255]
    tag = parsed.report.get("tag")
    return f"{parsed.report['campaign']}{' on ' + str(tag) if tag else ''}"[:255]


def validate_check(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise UserError("a check is a JSON object: context, state, description, target_url, log")
    storable(dict(data), "check")
    state = data.get("state")
    if state not in CHECK_STATES:
        raise UserError(f"check state must be one of {', '.join(CHECK_STATES)}, got {state!r}")
    context = data.get("context") or "default"
    if not isinstance(context, str) or not _CONTEXT.match(context) or len(context) > 255:
        raise UserError("check context must match ^[-a-zA-Z0-9_]+$ (at most 255 characters)")
    target = data.get("target_url") or None
    if target is not None and (not isinstance(target, str) or len(target) > 200
                               or not re.match(r"^https?://", target)):
        raise UserError("check target_url must be an http(s) URL of at most 200 characters")
    description = data.get("description")
    log = data.get("log") or ""
    if not isinstance(log, str) or (description is not None and not isinstance(description, str)):
        raise UserError("check description and log must be strings")
    if description is not None and len(description) > defaults.REVIEW_MAX_DESCRIPTION:
        keep = defaults.REVIEW_MAX_DESCRIPTION - len(TRUNCATED)
        description = description[:keep] + TRUNCATED
    return {"state": state, "context": context, "target_url": target,
            "description": description, "log": log[-defaults.REVIEW_MAX_LOG_BYTES:]}


def add_check(series: Series, patch: Patch | None, user, fields: dict[str, Any]) -> tuple[Check, bool]:
    """Attach a check; an identical one already there (a re-post) is returned instead."""
    same = Check.objects.filter(series=series, patch=patch, context=fields["context"],
                                state=fields["state"], description=fields["description"]).last()
    if same and same.log == fields["log"]:
        return same, False
    with transaction.atomic():
        check = Check.objects.create(series=series, patch=patch, user=user, **fields)
        Event.objects.create(project=series.project, category="check-created", actor=user,
                             series=series, patch=patch, check_run=check,
                             text=f"check {check.context}: {check.state}")
        if patch is None:   # Patchwork's feed knows checks on patches: one per patch covered
            Event.objects.bulk_create(
                Event(project=series.project, category="check-created", actor=user,
                      series=series, patch=p, check_run=check)
                for p in series.patches.order_by("number"))
    return check, True


def set_state(series: Series, slug: str, user, comment: str = "") -> None:
    """Change a series' review state (and its patches'), logging each change."""
    if not isinstance(slug, str) or not isinstance(comment, str):
        raise UserError("state and comment must be strings")
    storable(slug, "state")
    if comment.strip() and len(comment) > defaults.REVIEW_MAX_COMMENT:
        raise UserError(f"comment of {len(comment)} characters is longer than the limit of "
                        f"{defaults.REVIEW_MAX_COMMENT}: shorten it or link to a longer text")
    state = State.objects.filter(slug=slug).first()
    if state is None:
        raise UserError(f"unknown state {slug!r}: one of "
                        + ", ".join(State.objects.values_list("slug", flat=True)))
    with transaction.atomic():
        if series.state_id != state.id:
            Event.objects.create(project=series.project, category="series-state-changed",
                                 actor=user, series=series, previous_state=series.state,
                                 current_state=state, text=f"{series.state.name} → {state.name}")
            series.state = state
            series.save(update_fields=["state"])
        for patch in series.patches.exclude(state=state):
            set_patch_state(patch, state, user)
        if comment.strip():
            add_comment(series, user, comment)


def set_patch_state(patch: Patch, state: State, user) -> None:
    if patch.state_id == state.id:
        return
    Event.objects.create(project=patch.project, category="patch-state-changed", actor=user,
                         series=patch.series, patch=patch, previous_state=patch.state,
                         current_state=state, text=f"patch {patch.number}: {patch.state.name} "
                                                   f"→ {state.name}")
    patch.state = state
    patch.save(update_fields=["state"])
    follow_patches(patch.series, user)


def follow_patches(series: Series, user) -> None:
    """The series' state follows its patches: once every patch has one state (a maintainer
    accepted each with git-pw or pwclient), the series has it too, as if set on the page."""
    states = set(series.patches.values_list("state_id", flat=True))
    if len(states) != 1 or series.state_id in states:
        return
    state = State.objects.get(pk=states.pop())
    Event.objects.create(project=series.project, category="series-state-changed", actor=user,
                         series=series, previous_state=series.state, current_state=state,
                         text=f"{series.state.name} → {state.name} (every patch is)")
    series.state = state
    series.save(update_fields=["state"])


def set_delegate(patch: Patch, delegate, user) -> None:
    if patch.delegate_id == getattr(delegate, "id", None):
        return
    Event.objects.create(project=patch.project, category="patch-delegated", actor=user,
                         series=patch.series, patch=patch, previous_delegate=patch.delegate,
                         current_delegate=delegate,
                         text=f"patch {patch.number} delegated to "
                              f"{delegate.username if delegate else 'nobody'}")
    patch.delegate = delegate
    patch.save(update_fields=["delegate"])


def _check_comment(content: str) -> None:
    """A comment the store takes: within the length limit, no NUL (PostgreSQL refuses it)."""
    if len(content) > defaults.REVIEW_MAX_COMMENT:
        raise UserError(f"comment of {len(content)} characters is longer than the limit of "
                        f"{defaults.REVIEW_MAX_COMMENT}: shorten it or link to a longer text")
    storable(content, "comment")


def add_comment(series: Series, user, content: str) -> Comment:
    if not isinstance(content, str):
        raise UserError("a comment must be a string")
    _check_comment(content)
    comment = series.comments.create(user=user, content=content)
    Event.objects.create(project=series.project, category="comment-created", actor=user,
                         series=series, text=content[:200])
    return comment


def validate_comment(data: Any) -> str:
    """The body of a comment posted through the API: {"content": "<non-empty text>"}."""
    example = '{"content": "Sent as <id@host>"}'
    if not isinstance(data, dict):
        raise UserError(f"a comment is a JSON object with its text in `content`, e.g. {example}")
    content = data.get("content")
    if not isinstance(content, str) or not content.strip():
        raise UserError(f"content is missing or not a non-empty string: post e.g. {example}")
    _check_comment(content)     # before comment_once looks the text up
    return content


def comment_once(series: Series, user, content: str) -> tuple[Comment, bool]:
    """A series-level comment; the same text from the same account already there (a retried
    post) is returned instead of stored twice."""
    with transaction.atomic():
        same = series.comments.filter(patch=None, user=user, content=content).first()
        if same is not None:
            return same, False
        return add_comment(series, user, content), True


def supersede(series: Series, user) -> Series:
    """Mark `series` Superseded (the server does so itself when the newer version arrives;
    kept for older clients): only by the account that posted it, once a newer version from
    that account exists, and only while it is open; superseding twice changes nothing."""
    if series.created_by_id != getattr(user, "id", None):
        raise PermissionDenied(f"series {series.id} was posted by another account: only a "
                               "maintainer decides it")
    newer = Series.objects.filter(project=series.project, campaign=series.campaign,
                                  created_by=user, id__gt=series.id).order_by("id").first()
    if newer is None:
        raise UserError(f"series {series.id} has no newer version: post the new version first")
    if series.state.slug == "superseded":
        return newer
    if series.state.slug not in defaults.REVIEW_SUPERSEDE_STATES:
        raise UserError(f"series {series.id} is {series.state.name}: a decided series is "
                        "not superseded")
    set_state(series, "superseded", user)
    return newer
