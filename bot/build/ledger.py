"""Each object's compiler diagnostics, kept beside the object in the O= dir, so that a build
that compiles only what changed still knows every warning of the whole kernel.

A kept O= dir makes the next release's base build incremental: make recompiles only the objects
whose sources or headers changed. The build log then shows the warnings of those objects only,
and "new warnings only" would count a warning of an object the base build did not recompile but
the patched build does as new. So every compile goes through a small recorder (RECORDER, a
POSIX sh script named `ccache`, first on the build's PATH, that runs the real ccache: one shell
per object, no Python start-up) that keeps its stderr in
`<dir>/.<object>.warnings` (like kbuild's own `.<object>.cmd`), and removes that file when the
compile printed nothing. A ccache hit replays the cached stderr, so it is recorded the same
way. An object make leaves alone keeps the record of the compile that produced it, which is
what a full rebuild would print again. The warnings of a build are then the union of the
records of the objects present (`collect`): exactly those of a build from an empty O= dir.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bot import proc
from bot.build import warnings
from bot.errors import InfraError

SUFFIX = ".warnings"
RECORDER_NAME = "ccache"      # tuxmake's ccache wrapper finds it first on PATH (tuxmake.env)
COMPILED = "compiled.list"    # in a build's output dir: one line per object compiled

# `ccache COMPILER ARGS...` as kbuild calls it: runs the real ccache; with `-o OUT` in a
# directory that exists, its stderr goes to DIR/.NAME.warnings (removed when empty) and is
# printed afterwards, and OUT is appended to $COCCI_BOT_COMPILED (the build's progress: kbuild
# runs with --silent, so its log names no object). Anything else (ccache --zero-stats, a probe to /dev/null) runs as is.
RECORDER = r"""#!/bin/sh
# cocci-bot (bot/build/ledger.py): run ccache, keep the compiler's diagnostics beside its output
set -- @CCACHE@ "$@"
out= prev=
for a in "$@"; do
    [ "$prev" = "-o" ] && out=$a
    prev=$a
done
case "$out" in ""|/dev/*|-) exec "$@" ;; esac
case "$out" in */*) dir=${out%/*} ;; *) dir=. ;; esac
[ -d "$dir" ] || exec "$@"
rec="$dir/.${out##*/}.warnings"
[ -n "$COCCI_BOT_COMPILED" ] && printf '%s\n' "$out" >>"$COCCI_BOT_COMPILED"
"$@" 2>"$rec.tmp"
rc=$?
if [ -s "$rec.tmp" ]; then
    cat "$rec.tmp" >&2
    mv -f "$rec.tmp" "$rec"
else
    rm -f "$rec.tmp" "$rec"
fi
exit $rc
"""


def script(ccache: str) -> str:
    if "'" in ccache:
        raise InfraError(f"ccache's path {ccache!r} has a quote: install ccache elsewhere")
    return RECORDER.replace("@CCACHE@", f"'{ccache}'")


def real_ccache(bin_dir: Path) -> str:
    """The ccache on PATH, not ours."""
    path = os.environ.get("PATH", os.defpath).split(os.pathsep)
    found = shutil.which("ccache", path=os.pathsep.join(
        d for d in path if Path(d).resolve() != bin_dir.resolve()))
    if found is None:
        raise proc.missing_tool("ccache")
    return found


def install(bin_dir: Path) -> Path:
    """The recorder as `bin_dir/ccache` (rewritten only when its text changed); returns bin_dir,
    to put first on the build's PATH."""
    text = script(real_ccache(bin_dir))
    path = bin_dir / RECORDER_NAME
    if not path.is_file() or path.read_text() != text:
        bin_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o755)
        os.replace(tmp, path)
    return bin_dir


def records(obj: Path) -> list[tuple[str, Path]]:
    """(object, record) for every object present in `obj` that has a record, sorted."""
    found = []
    for dirpath, _dirs, files in os.walk(obj):
        for name in files:
            if not (name.startswith(".") and name.endswith(SUFFIX)):
                continue
            target = Path(dirpath) / name[1:-len(SUFFIX)]
            if target.exists():       # an object of a file the tree no longer has: ignored
                found.append((str(target.relative_to(obj)), Path(dirpath) / name))
    return sorted(found)


def collect(obj: Path, prefixes: tuple[str, ...] = ()) -> list[warnings.Warning]:
    """Every compiler warning of the objects now in `obj`, as a full build would print them."""
    found: list[warnings.Warning] = []
    for _target, rec in records(obj):
        try:
            found += warnings.parse(rec.read_text(errors="replace"), prefixes)
        except FileNotFoundError:
            continue
    return found

