"""Patchwork's diff hash (what pwclient `-h`, git-pw `--hash` and Patchwork's post-receive hook
look patches up by): SHA-1 over the diff's file names without their top directory, hunk headers
reduced to their line counts, and the +/-/context lines, each followed by a newline.
Written from the algorithm's description; git's patch-id is kept alongside (Patch.patch_id)."""

from __future__ import annotations

import hashlib
import re

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_FILE = re.compile(r"^(---|\+\+\+) (\S+)")


def _normalised(line: str) -> str | None:
    if m := _FILE.match(line):
        side = "a/" if m.group(1) == "---" else "b/"
        return f"{m.group(1)} {side}{'/'.join(m.group(2).split('/')[1:])}"
    if m := _HUNK.match(line):
        old, new = (int(n) if n else 1 for n in m.groups())
        return f"@@ -{old} +{new} @@"
    if line[:1] in ("-", "+", " "):
        return line
    return None


def patchwork_hash(diff: str) -> str:
    digest = hashlib.sha1()
    for line in (diff.replace("\r", "").strip() + "\n").split("\n"):
        if line and (kept := _normalised(line)) is not None:
            digest.update((kept + "\n").encode("utf-8"))
    return digest.hexdigest()
