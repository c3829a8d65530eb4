"""The request contract: what a write request must hold, checked once, by DRF serializers.

The same serializer documents a request body in the OpenAPI schema and validates it, for the
REST API and XML-RPC alike. Every failure is one line that names the field and the fix (a 400
`{"detail": ...}` on the bot's API, as `cocci-bot post` shows it). Storing is service.py's."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.validators import URLValidator
from django.db.models import Q
from rest_framework import serializers

from bot import defaults
from bot.errors import UserError
from bot.review import mbox
from bot.review.models import CHECK_STATES, Project, State
from bot.review.patchid import patch_id

_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_DEDUPE = re.compile(r"^[0-9A-Za-z._:-]{8,128}$")
CONTEXT_RE = r"^[-a-zA-Z0-9_]+$"
TRUNCATED = " [... truncated]"
FIELD_MAX = 255   # names, addresses, Message-Ids: the columns' size
SITE_DELTA_KEYS = ("appeared", "vanished", "changed")


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


def check_comment(content: str) -> None:
    """A comment the store takes: within the length limit, no NUL (PostgreSQL refuses it)."""
    if len(content) > defaults.REVIEW_MAX_COMMENT:
        raise UserError(f"comment of {len(content)} characters is longer than the limit of "
                        f"{defaults.REVIEW_MAX_COMMENT}: shorten it or link to a longer text")
    storable(content, "comment")


def one_line(errors: Any, field: str = "") -> str:
    """The first of a serializer's errors as one line that names its field."""
    if isinstance(errors, dict):
        key, value = next(iter(errors.items()))
        name = "" if key == "non_field_errors" else key
        return one_line(value, f"{field}.{name}" if field and name else field or name)
    if isinstance(errors, list):
        return one_line(errors[0], field)
    text = " ".join(str(errors).split())
    return text if not field or field.split(".")[-1] in text else f"{field}: {text}"


def validated(serializer: type[serializers.Serializer], data: Any, **context: Any) -> Any:
    """`data` checked by `serializer`; a UserError (400, one line) when it does not pass."""
    checked = serializer(data=data, context=context)
    if not checked.is_valid():
        raise UserError(one_line(checked.errors))
    return checked.validated_data


class Request(serializers.Serializer):
    """A request body: a JSON object of storable text (checked before any field)."""

    what: str | None = "request"   # None: the fields check their own text
    shape = "expected a JSON object"

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise UserError(self.shape)
        if self.what:
            storable(dict(data), self.what)
        return super().to_internal_value(data)

    def create(self, validated_data):  # pragma: no cover - requests are stored by service.py
        raise NotImplementedError

    def update(self, instance, validated_data):  # pragma: no cover
        raise NotImplementedError


class StrictCharField(serializers.CharField):
    """A string and only a string, kept as sent: DRF's CharField would store 5 as "5" and
    strip spaces."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError(f"must be a string, not {type(data).__name__}")
        return super().to_internal_value(data)


class Whole:
    """A field that checks its value itself, absence (None) included, with messages that name
    the fix; its base class only describes it in the schema."""

    def run_validation(self, data: Any = serializers.empty) -> Any:
        return self.to_internal_value(None if data is serializers.empty else data)  # type: ignore[attr-defined]


# --- checks -------------------------------------------------------------------------------------

class CheckRequest(Request):
    """A check on a patch or a series (Patchwork's fields, plus our log)."""

    what = "check"
    shape = "a check is a JSON object: context, state, description, target_url, log"
    state = serializers.ChoiceField(choices=CHECK_STATES, error_messages={
        "invalid_choice": f"check state must be one of {', '.join(CHECK_STATES)}, got "
                          "{input!r}",
        "required": f"check state must be one of {', '.join(CHECK_STATES)}, got None",
        "null": f"check state must be one of {', '.join(CHECK_STATES)}, got None"})
    target_url = StrictCharField(max_length=200, required=False, allow_null=True,
                                 allow_blank=True, help_text="an http(s) URL")
    context = StrictCharField(required=False, allow_null=True, allow_blank=True,
                              help_text="^[-a-zA-Z0-9_]+$, at most 255 characters; "
                                        "`default` when empty")
    description = StrictCharField(required=False, allow_null=True, allow_blank=True)
    log = StrictCharField(required=False, allow_null=True, allow_blank=True,
                          help_text="cocci-bot extra: the check's log (kept as its tail)")

    _url = URLValidator(schemes=["http", "https"])

    def validate_target_url(self, value: str | None) -> str | None:
        if not value:
            return None
        try:
            self._url(value)
        except Exception as exc:
            raise serializers.ValidationError(
                "check target_url must be an http(s) URL of at most 200 characters") from exc
        return value

    def validate_context(self, value: str | None) -> str:
        value = value or "default"
        if not re.match(CONTEXT_RE, value) or len(value) > 255:
            raise serializers.ValidationError(
                "check context must match ^[-a-zA-Z0-9_]+$ (at most 255 characters)")
        return value

    def validate_description(self, value: str | None) -> str | None:
        if value is not None and len(value) > defaults.REVIEW_MAX_DESCRIPTION:
            keep = defaults.REVIEW_MAX_DESCRIPTION - len(TRUNCATED)
            value = value[:keep] + TRUNCATED
        return value

    def validate_log(self, value: str | None) -> str:
        return (value or "")[-defaults.REVIEW_MAX_LOG_BYTES:]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.setdefault("context", "default")
        for name in ("target_url", "description"):
            attrs.setdefault(name, None)
        attrs.setdefault("log", "")
        return attrs


# --- comments, states, absorbed releases ---------------------------------------------------------

COMMENT_EXAMPLE = '{"content": "Sent as <id@host>"}'


class CommentText(Whole, serializers.CharField):
    def to_internal_value(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise UserError("content is missing or not a non-empty string: post e.g. "
                            f"{COMMENT_EXAMPLE}")
        check_comment(value)     # before the service looks the text up
        return value


class CommentRequest(Request):
    what = None
    shape = f"a comment is a JSON object with its text in `content`, e.g. {COMMENT_EXAMPLE}"
    content = CommentText(help_text="the comment's text (plain text, shown as is)")


class SeriesStateRequest(Request):
    what = "state"
    shape = 'expected a JSON object, e.g. {"state": "accepted", "comment": "Thanks"}'
    state = StrictCharField(max_length=100)
    comment = StrictCharField(required=False, allow_null=True, allow_blank=True)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and not (isinstance(data.get("state"), str) and
                                           isinstance(data.get("comment") or "", str)):
            raise UserError("state and comment must be strings, e.g. "
                            '{"state": "accepted", "comment": "Thanks"}')
        return super().to_internal_value(data)

    def validate_comment(self, value: str | None) -> str:
        return value or ""


class BulkStateRequest(SeriesStateRequest):
    """One decision for N series (one request, as a maintainer's list selection)."""

    shape = ('expected a JSON object, e.g. {"series": [12, 13], "state": "accepted", '
             '"comment": "Thanks"}')
    series = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=defaults.REVIEW_MAX_ID),
        min_length=1, max_length=defaults.REVIEW_MAX_BULK,
        help_text=f"the series' ids (at most {defaults.REVIEW_MAX_BULK})")


class AbsorbedRequest(Request):
    what = "absorbed"
    shape = 'expected a JSON object, e.g. {"release": "v6.12"}'
    release = StrictCharField(help_text="the release that carries the fix upstream",
                              allow_blank=True, error_messages={
                                  "required": "release is missing: name the release that "
                                              "absorbed the fix"})
    comment = StrictCharField(required=False, allow_blank=True, allow_null=True)

    def validate_release(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("release is missing: name the release that "
                                              "absorbed the fix")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        text = (attrs.get("comment") or "").strip()
        attrs["comment"] = text or f"Absorbed upstream in {attrs['release']}."
        return attrs


# --- patch updates (Patchwork's PATCH /patches/N/) -------------------------------------------------

class PatchUpdateRequest(serializers.Serializer):
    """Patchwork's patch update; its errors keep DRF's per-field shape, as Patchwork's."""

    state = StrictCharField(required=False, max_length=100)
    archived = serializers.BooleanField(required=False)
    commit_ref = StrictCharField(required=False, allow_null=True, max_length=255)
    pull_url = StrictCharField(required=False, allow_null=True, max_length=255)
    delegate = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                        max_value=defaults.REVIEW_MAX_ID)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            storable(dict(data), "patch update")
        return super().to_internal_value(data)

    def validate_state(self, value: str) -> State:
        state = State.objects.filter(Q(slug=value) | Q(name=value)).first()
        if state is None:
            raise serializers.ValidationError(f"unknown state {value!r}")
        return state

    def validate_delegate(self, value: int | None) -> Any:
        if value is None:
            return None
        user = get_user_model().objects.filter(pk=value).first()
        if user is None:
            raise serializers.ValidationError(f"no user with id {value}")
        return user


# --- projects (Patchwork's PATCH /projects/N/, by the project's maintainers) ----------------------

class ProjectUpdateRequest(serializers.Serializer):
    """The links a maintainer may change, as in Patchwork (names and list ids are the
    operator's: `serve --create-project`); other fields are ignored, as Patchwork's read-only
    ones."""

    web_url = serializers.URLField(max_length=2000, required=False, allow_blank=True)
    scm_url = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    webscm_url = serializers.URLField(max_length=2000, required=False, allow_blank=True)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            storable(dict(data), "project update")
        return super().to_internal_value(data)


# --- bundles ------------------------------------------------------------------------------------

class BundleName(StrictCharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_length=1, max_length=50, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        storable(value, "bundle name")
        return value


def _patch_ids(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=serializers.IntegerField(
        min_value=1, max_value=defaults.REVIEW_MAX_ID), min_length=1,
        max_length=defaults.REVIEW_MAX_PATCHES, **kwargs)


class BundleCreateRequest(serializers.Serializer):
    name = BundleName()
    patches = _patch_ids()
    public = serializers.BooleanField(required=False, default=False)


class BundleUpdateRequest(serializers.Serializer):
    name = BundleName(required=False)
    patches = _patch_ids(required=False)
    public = serializers.BooleanField(required=False)


# --- a series posted by the bot --------------------------------------------------------------------

@dataclass
class Parsed:
    project: Project
    dedupe_key: str
    report: dict[str, Any]
    cover: mbox.Mail | None
    patches: list[tuple[mbox.Mail, str]]  # (mail, patch-id)
    range_diff: str = ""
    site_delta: dict[str, list[Any]] | None = None


def derive_key(base: str, campaign: str, patch_ids: list[str]) -> str:
    """The dedupe key when report.json has none: base + campaign + the patches' patch-ids."""
    text = "\n".join([base, campaign, *patch_ids])
    return hashlib.sha256(text.encode()).hexdigest()


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


class ProjectName(Whole, serializers.CharField):
    def to_internal_value(self, data: Any) -> Project:
        if not isinstance(data, str) or not data:
            raise UserError("missing project: name the tree's project (its link name)")
        project = Project.objects.filter(link_name=data).first()
        if project is None:
            known = ", ".join(Project.objects.values_list("link_name", flat=True)) or "none yet"
            raise UserError(f"unknown project {data!r} (known: {known}); create it with "
                            f"`cocci-bot serve --create-project {data}`")
        return project


class ReportField(Whole, serializers.JSONField):
    def to_internal_value(self, report: Any) -> dict[str, Any]:
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
        if len(report["campaign"]) > FIELD_MAX or len(str(report.get("tag") or "")) > FIELD_MAX:
            raise UserError(f"report.campaign and report.tag hold at most {FIELD_MAX} characters")
        return report


class MailsField(Whole, serializers.ListField):
    """`git format-patch` mails, numbered 1..N in order, each with a diff that applies."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.CharField(), **kwargs)

    def to_internal_value(self, patches: Any) -> list[tuple[mbox.Mail, str]]:
        if not isinstance(patches, list) or not patches:
            raise UserError("patches must be a non-empty list of `git format-patch` mails")
        if len(patches) > defaults.REVIEW_MAX_PATCHES:
            raise UserError(f"{len(patches)} patches is more than the limit of "
                            f"{defaults.REVIEW_MAX_PATCHES} in one series")
        return [self._patch(raw, i, len(patches)) for i, raw in enumerate(patches, 1)]

    @staticmethod
    def _patch(raw: Any, i: int, total: int) -> tuple[mbox.Mail, str]:
        what = f"patch {i}"
        if not isinstance(raw, str):
            raise UserError(f"{what} must be a string (the mail's text)")
        mail = checked_mail(mbox.parse(raw, what), what)
        if mail.number is not None and (mail.number, mail.total) != (i, total):
            raise UserError(f"{what} is numbered {mail.number}/{mail.total} but {total} "
                            "patches were posted: post the whole series, in order")
        if not mail.diff:
            raise UserError(f"{what} ({mail.subject}) has no diff")
        mbox.check_diff(mail.diff, what)
        return mail, patch_id(mail.diff, what)


class CoverField(Whole, serializers.CharField):
    def to_internal_value(self, raw: Any) -> mbox.Mail | None:
        if raw in (None, ""):
            return None
        if not isinstance(raw, str):
            raise UserError("cover must be a string (the cover letter's mail)")
        mail = checked_mail(mbox.parse(raw, "cover letter"), "cover letter")
        if mail.diff:
            raise UserError("cover letter carries a diff: post it as a patch instead")
        return mail


class RangeDiffField(Whole, serializers.CharField):
    def to_internal_value(self, value: Any) -> str:
        if value in (None, ""):
            return ""
        if not isinstance(value, str):
            raise UserError("range_diff must be a string (`git range-diff` output)")
        if len(value) > defaults.REVIEW_MAX_LOG_BYTES:
            raise UserError(f"range_diff is {len(value)} characters; the queue keeps at most "
                            f"{defaults.REVIEW_MAX_LOG_BYTES}")
        return value


class SiteDeltaField(Whole, serializers.JSONField):
    def to_internal_value(self, value: Any) -> dict[str, list[Any]] | None:
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) - set(SITE_DELTA_KEYS) or not all(
                isinstance(value.get(k, []), list) for k in SITE_DELTA_KEYS):
            raise UserError("site_delta must be an object of lists: "
                            '{"appeared": [...], "vanished": [...], "changed": [...]}')
        for key in SITE_DELTA_KEYS:
            for i, item in enumerate(value.get(key, [])):
                if not isinstance(item, str | dict):
                    raise UserError(f"site_delta.{key}[{i}] must be a call site (an object like "
                                    "the report's sites) or a string")
        return {k: list(value.get(k, [])) for k in SITE_DELTA_KEYS}


class SeriesRequest(Request):
    """A series as `cocci-bot post` sends it, validated completely before anything is stored."""

    shape = "expected a JSON object with project, report, patches (and cover)"
    project = ProjectName(help_text="the project's link name (one per watched tree)")
    report = ReportField(help_text="report.json written by `cocci-bot apply`")
    patches = MailsField()
    cover = CoverField(required=False, allow_blank=True, allow_null=True,
                       help_text="0000-cover-letter.patch")
    dedupe_key = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    range_diff = RangeDiffField(required=False, allow_blank=True, allow_null=True,
                                help_text="`git range-diff` against the previous version")
    site_delta = SiteDeltaField(required=False, allow_null=True,
                                help_text='{"appeared": [...], "vanished": [...], '
                                          '"changed": [...]} call sites')

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        report, patches = attrs["report"], attrs["patches"]
        key = (self.initial_data.get("dedupe_key") or report.get("dedupe_key")
               or derive_key(report["base"], report["campaign"], [pid for _, pid in patches]))
        if not isinstance(key, str) or not _DEDUPE.match(key):
            raise UserError("dedupe_key must be 8-128 characters of [0-9A-Za-z._:-]")
        attrs["parsed"] = Parsed(attrs["project"], key, report, attrs["cover"], patches,
                                 attrs["range_diff"], attrs["site_delta"])
        return attrs
