"""mbox downloads, as Patchwork's: plain text named as Patchwork names it (the subject with
every run of characters outside [-_A-Za-z0-9.] made one '-': `1-2-KVM-use-....patch` for "[1/2] KVM: use ..."),
each mail with Patchwork's X-Patchwork-Submitter, X-Patchwork-Id and X-Patchwork-Delegate
headers, so that scripts written for Patchwork keep working."""

from __future__ import annotations

import email.utils
import re

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from bot.review.api.bundles import visible_bundles
from bot.review.models import Cover, Patch, Series


def _mbox(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f"attachment; filename={filename}"
    return response


_UNSAFE = re.compile(r"[^-_A-Za-z0-9.]+")


def filename(name: str, fallback: str) -> str:
    """Patchwork's file name for a subject (without extension)."""
    return _UNSAFE.sub("-", name).strip("-") or fallback


def _headers(mail: Patch | Cover) -> str:
    lines = [f"X-Patchwork-Submitter: "
             f"{email.utils.formataddr((mail.submitter.name, mail.submitter.email))}",
             f"X-Patchwork-Id: {mail.id}"]
    delegate = getattr(mail, "delegate", None)
    if delegate is not None and delegate.email:
        lines.append(f"X-Patchwork-Delegate: {delegate.email}")
    return "".join(f"{line}\n" for line in lines)


def with_headers(mail: Patch | Cover) -> str:
    """The mail as posted, Patchwork's headers after its `From ` line, ending in a newline."""
    first, newline, rest = mail.mbox.partition("\n")
    text = (first + newline + _headers(mail) + rest if first.startswith("From ")
            else _headers(mail) + mail.mbox)
    return text if text.endswith("\n") else text + "\n"


def _mails(qs) -> str:
    return "".join(with_headers(m) for m in qs.select_related("submitter"))


def patch_mbox(request: HttpRequest, pk: int) -> HttpResponse:
    patch = get_object_or_404(Patch.objects.select_related("submitter", "delegate"), pk=pk)
    return _mbox(with_headers(patch), f"{filename(patch.name, 'patch')}.patch")


def patch_raw(request: HttpRequest, pk: int) -> HttpResponse:
    """Patchwork's /patch/N/raw/: the diff alone (git-pw `patch download --diff`)."""
    patch = get_object_or_404(Patch.objects.only("diff", "name", "number"), pk=pk)
    return _mbox(patch.diff, f"{filename(patch.name, 'patch')}.diff")


def bundle_mbox(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    bundle = get_object_or_404(visible_bundles(request.user), owner__username=owner, name=name)
    text = _mails(bundle.patches.select_related("delegate").order_by("bundlepatch"))
    return _mbox(text, f"bundle-{bundle.id}-{filename(bundle.name, 'bundle')}.mbox")


def cover_mbox(request: HttpRequest, pk: int) -> HttpResponse:
    cover = get_object_or_404(Cover.objects.select_related("submitter"), pk=pk)
    return _mbox(with_headers(cover), f"{filename(cover.name, 'cover')}.mbox")


def series_mbox(request: HttpRequest, pk: int) -> HttpResponse:
    series = get_object_or_404(Series, pk=pk)
    text = _mails(series.patches.select_related("delegate").order_by("number"))
    return _mbox(text, f"{filename(series.name, 'series')}.patch")
