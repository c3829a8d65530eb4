"""What list and detail views prefetch: only the columns the serializers read, so that a page
of series or patches does not load every check's log (up to REVIEW_MAX_LOG_BYTES each) or
every patch's diff and mbox."""

from __future__ import annotations

from django.db.models import Prefetch

from bot.review.models import Check, Patch

# serializers.combined_check and the patch's check list read these
CHECK_STATE_FIELDS = ("id", "series_id", "patch_id", "context", "state")
# serializers.patch_embedded reads these
PATCH_SUMMARY_FIELDS = ("id", "series_id", "number", "msgid", "date", "name")


def check_states(lookup: str) -> Prefetch:
    return Prefetch(lookup, queryset=Check.objects.only(*CHECK_STATE_FIELDS))


def patch_summaries(lookup: str) -> Prefetch:
    return Prefetch(lookup, queryset=Patch.objects.only(*PATCH_SUMMARY_FIELDS))
