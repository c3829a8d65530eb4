"""mbox downloads, as Patchwork's: plain text with a file name."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from bot.review.api.bundles import visible_bundles
from bot.review.models import Cover, Patch, Series


def _mbox(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f"attachment; filename={filename}"
    return response


def _slug(name: str) -> str:
    keep = "".join(c if c.isalnum() else "-" for c in name.lower())
    return "-".join(p for p in keep.split("-") if p)[:60] or "series"


def _joined(mails) -> str:
    return "".join(m if m.endswith("\n") else m + "\n" for m in mails)


def patch_mbox(request: HttpRequest, pk: int) -> HttpResponse:
    patch = get_object_or_404(Patch.objects.only("mbox", "name", "number"), pk=pk)
    return _mbox(patch.mbox, f"{patch.number:04d}-{_slug(patch.name)}.patch")


def patch_raw(request: HttpRequest, pk: int) -> HttpResponse:
    """Patchwork's /patch/N/raw/: the diff alone (git-pw `patch download --diff`)."""
    patch = get_object_or_404(Patch.objects.only("diff", "name", "number"), pk=pk)
    return _mbox(patch.diff, f"{patch.number:04d}-{_slug(patch.name)}.diff")


def bundle_mbox(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    bundle = get_object_or_404(visible_bundles(request.user), owner__username=owner, name=name)
    text = _joined(bundle.patches.order_by("bundlepatch").values_list("mbox", flat=True))
    return _mbox(text, f"bundle-{bundle.id}-{_slug(bundle.name)}.mbox")


def cover_mbox(request: HttpRequest, pk: int) -> HttpResponse:
    cover = get_object_or_404(Cover.objects.only("mbox", "name"), pk=pk)
    return _mbox(cover.mbox, f"0000-{_slug(cover.name)}.patch")


def series_mbox(request: HttpRequest, pk: int) -> HttpResponse:
    series = get_object_or_404(Series, pk=pk)
    text = _joined(series.patches.order_by("number").values_list("mbox", flat=True))
    return _mbox(text, f"{series.id}-{_slug(series.name)}-v{series.version}.mbox")
