"""Who approved a series: accepting it in the queue is what sends it out by mail, and the
maintainer who accepts signs the drafts off (the DCO: the sender certifies). So accepting
needs an account with a real name and an e-mail someone reads; the series keeps who
accepted, when, and the name and address they had then (shown on the page, in the API as
`approved_by`, and read by the drafts stage: bot.drafts.signoff)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from bot.apply.identity import account_fix, usable_email
from bot.errors import UserError

APPROVED = "accepted"   # the state slug that approves a series for mail
FIELDS = ["approved_by", "approved_at", "approver_name", "approver_email"]


def why_not(user) -> str | None:
    """Why `user` cannot accept a series for mail (with the fix), or None when they can."""
    name, email = user.get_full_name().strip(), (user.email or "").strip()
    missing = [what for what, ok in (("a real name", bool(name)),
                                     ("an e-mail address", usable_email(email))) if not ok]
    if not missing:
        return None
    return (f"account {user.username!r} lacks {' and '.join(missing)}, which accepting "
            "needs: the drafts for mail carry the Signed-off-by of whoever accepts the series; "
            f"set them with `{account_fix(user.username)}`")


def require(user) -> None:
    """A UserError (API 400, a message on the page) when `user` cannot accept for mail."""
    reason = why_not(user)
    if reason:
        raise UserError(reason)


def record(series, new_state, user) -> None:
    """Set (accepted) or clear (any other state) who approved `series`; the caller saves
    FIELDS. Accepting is refused beforehand (require) when the account cannot sign."""
    if new_state.slug == APPROVED:
        series.approved_by, series.approved_at = user, timezone.now()
        series.approver_name = user.get_full_name().strip()
        series.approver_email = user.email.strip()
    else:
        series.approved_by, series.approved_at = None, None
        series.approver_name = series.approver_email = ""


def event_note(new_state, user) -> str:
    """What the state-change event adds when it approves: the identity that signs off."""
    if new_state.slug != APPROVED:
        return ""
    return f"; approved for mail, signed off by {user.get_full_name().strip()} <{user.email}>"


def as_json(series) -> dict[str, Any] | None:
    """`approved_by` of the series in the API: who accepted it and the identity they sign
    with; None while it is not accepted."""
    if series.approved_at is None:
        return None
    user = series.approved_by
    return {"id": user.id if user else None, "username": user.username if user else None,
            "name": series.approver_name, "email": series.approver_email,
            "date": series.approved_at.replace(tzinfo=None).isoformat()}
