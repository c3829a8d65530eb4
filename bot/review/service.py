"""The review queue's service: it stores what was posted (a series with its cover and patches,
checks, comments) and applies the state machine (review states, superseding, absorbed
releases), logging an event for each change.

Requests arrive validated (bot.review.contract); a series is stored all or nothing, and posting
the same dedupe key twice returns the series already stored."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from rest_framework.exceptions import PermissionDenied

from bot import defaults
from bot.errors import InfraError, UserError
from bot.review import approval, mbox
from bot.review.api_errors import Conflict
from bot.review.contract import Parsed, check_comment
from bot.review.hasher import patchwork_hash
from bot.review.models import (
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


def absorbed(project: Project, campaign: str, user, comment: str) -> list[int]:
    """The fix arrived upstream: the bot's open versions of the campaign become Not
    Applicable, each with the comment (which names the release). Returns the series changed."""
    changed = []
    with transaction.atomic():
        for old in older_open(project, campaign, user):
            set_state(old, "not-applicable", user, comment)
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
    if comment.strip():
        check_comment(comment)
    state = State.objects.filter(slug=slug).first()
    if state is None:
        raise UserError(f"unknown state {slug!r}: one of "
                        + ", ".join(State.objects.values_list("slug", flat=True)))
    if slug == approval.APPROVED:
        approval.require(user)
    with transaction.atomic():
        if series.state_id != state.id or (slug == approval.APPROVED
                                           and series.approved_at is None):
            Event.objects.create(project=series.project, category="series-state-changed",
                                 actor=user, series=series, previous_state=series.state,
                                 current_state=state, text=f"{series.state.name} → {state.name}"
                                 + approval.event_note(state, user))
            series.state = state
            approval.record(series, state, user)
            series.save(update_fields=["state", *approval.FIELDS])
        for patch in series.patches.exclude(state=state):
            set_patch_state(patch, state, user)
        if comment.strip():
            add_comment(series, user, comment)


def set_states(series: list[Series], slug: str, user, comment: str = "") -> None:
    """One decision for many series, all or nothing, each logged as if taken alone."""
    with transaction.atomic():
        for one in series:
            set_state(one, slug, user, comment)


def set_patch_state(patch: Patch, state: State, user) -> None:
    if patch.state_id == state.id:
        return
    if state.slug == approval.APPROVED:
        approval.require(user)
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
                         text=f"{series.state.name} → {state.name} (every patch is)"
                         + approval.event_note(state, user))
    series.state = state
    approval.record(series, state, user)
    series.save(update_fields=["state", *approval.FIELDS])


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


def add_comment(series: Series, user, content: str) -> Comment:
    check_comment(content)
    comment = series.comments.create(user=user, content=content)
    Event.objects.create(project=series.project, category="comment-created", actor=user,
                         series=series, text=content[:200])
    return comment


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
