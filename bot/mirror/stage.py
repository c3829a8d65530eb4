"""`cocci-bot mirror` as a library: download, unpack and import kernel releases in version order.

For each asked release not yet tagged in the mirror, in ascending version order:
download (or reuse) the Debian file, unpack it into a temporary folder under the data
dir (removed afterwards, also on failure or Ctrl-C), store the tree with a private index
(`git add --all --force`, because Debian's tarball .gitignore ignores the whole top
level), check that every unpacked file made it into the tree, then commit it into the
version-ordered chain (see bot.mirror.repo for how an older release is inserted).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot import defaults, proc
from bot import progress as live
from bot.errors import InfraError
from bot.log import progress
from bot.mirror import apt, repo
from bot.mirror.versions import Request, Upstream, upstream_of


@dataclass
class Timing:
    download: float = 0.0
    unpack: float = 0.0
    import_: float = 0.0


@dataclass
class Summary:
    imported: list[Upstream] = field(default_factory=list)
    present: list[Upstream] = field(default_factory=list)
    timings: dict[Upstream, Timing] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        return (f"PASS {len(self.imported)} imported, {len(self.present)} present "
                f"in {self.seconds:.0f} s")


# --- unpacking --------------------------------------------------------------------------------

def deb_extract_argv(deb: Path, dest: Path) -> list[str]:
    return ["dpkg-deb", "--extract", str(deb), str(dest)]


def tar_extract_argv(tarball: Path, dest: Path) -> list[str]:
    return ["tar", "--extract", "--no-same-owner", "--file", str(tarball), "--directory",
            str(dest)]


def count_files(root: Path) -> int:
    """Regular files and symlinks under root (what git stores; empty folders it does not)."""
    total = 0
    for _dirpath, dirnames, filenames in os.walk(root):
        total += len(filenames)
        total += sum(1 for d in dirnames if Path(_dirpath, d).is_symlink())
    return total


def unpack(art: apt.Artifact, path: Path, work: Path) -> tuple[Path, str | None]:
    """Unpack the kernel tree of `art` (at `path`) under `work`; return its root and, for a
    .deb, the tarball member it came from."""
    member = None
    tarball = path
    if art.offer.kind == apt.BINARY:
        debdir = work / "deb"
        proc.run(deb_extract_argv(path, debdir), timeout=defaults.TIMEOUT_UNPACK)
        tarballs = sorted((debdir / "usr" / "src").glob("linux-source-*.tar.*"))
        if len(tarballs) != 1:
            raise InfraError(f"{art.filename} does not hold one /usr/src/linux-source-*.tar.* "
                             f"(found {len(tarballs)}): not a kernel source package")
        tarball = tarballs[0]
        member = "/" + str(tarball.relative_to(debdir))
    src = work / "src"
    src.mkdir()
    proc.run(tar_extract_argv(tarball, src), timeout=defaults.TIMEOUT_UNPACK)
    if member is not None:
        repo.remove_tree(work / "deb")
    tops = list(src.iterdir())
    if len(tops) != 1 or not tops[0].is_dir():
        raise InfraError(f"{tarball.name} does not unpack into one folder: not a kernel tarball")
    return tops[0], member


def sweep(tmp_root: Path) -> None:
    """Remove unpack folders left by mirror runs that were killed (their pid is gone)."""
    for d in tmp_root.glob("mirror-*-*"):
        try:
            pid = int(d.name.split("-")[1])
        except ValueError:
            continue
        if pid != os.getpid() and not _alive(pid):
            repo.remove_tree(d)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- one release --------------------------------------------------------------------------------

def require_space(tmp_root: Path) -> None:
    free = shutil.disk_usage(tmp_root).free
    if free < defaults.MIRROR_MIN_FREE_BYTES:
        raise InfraError(f"only {free / 1e9:.1f} GB free under {tmp_root}; unpacking a kernel "
                         f"release needs {defaults.MIRROR_MIN_FREE_BYTES / 1e9:.0f} GB: free "
                         "some space or pass --data-dir on a larger disk")


def store_tree(gitdir: Path, root: Path, index: Path, files: int, label: str) -> str:
    """Store the unpacked tree at `root`; check every one of its `files` made it in."""
    tree = repo.write_tree(gitdir, root, index)
    stored = repo.count_tree(gitdir, tree)
    if stored != files:
        raise InfraError(f"import of {label} stored {stored} of {files} files: check "
                         "git's config for filters or ignore rules that apply to "
                         f"{gitdir}")
    return tree


def size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def downloaded(cache: Path) -> int:
    """Bytes apt has fetched so far into the cache's download dirs (apt.download)."""
    return sum(size(f) for d in cache.glob(".download-*") for f in d.rglob("*"))


def fetch(art: apt.Artifact, cache: Path, timing: Timing) -> Path:
    offer = art.offer
    start = time.monotonic()
    path = apt.cached(art, cache)
    if path is not None:
        progress("mirror", f"download {offer} (cached)")
    else:
        progress("mirror", f"download {offer} {art.filename} ({art.size / 1e6:.0f} MB) ...")
        with live.ticking("mirror", lambda: f"download {art.filename}: "
                          f"{downloaded(cache) / 1e6:.0f} of {art.size / 1e6:.0f} MB, "
                          f"{live.elapsed(time.monotonic() - start)}"):
            path = apt.download(art, cache)
        timing.download = time.monotonic() - start
        progress("mirror", f"download {offer} done in {timing.download:.0f} s")
    return path


@contextlib.contextmanager
def work_dir(tmp_root: Path) -> Iterator[Path]:
    """A scratch folder under `tmp_root` for one release's unpacked tree (stale ones of killed
    runs swept, the free space checked), removed when the block ends."""
    tmp_root.mkdir(parents=True, exist_ok=True)
    sweep(tmp_root)
    require_space(tmp_root)
    work = Path(tempfile.mkdtemp(prefix=f"mirror-{os.getpid()}-", dir=tmp_root))
    try:
        yield work
    finally:
        repo.remove_tree(work)


def place(gitdir: Path, rel: repo.Release, what: str, files: int,
          begin: float) -> tuple[repo.Release, list[repo.Release]]:
    """Commit and tag the imported release in version order, pack, and say so."""
    placed, moved = repo.add_release(gitdir, rel)
    repo.pack(gitdir)
    assert placed.commit is not None
    progress("mirror", f"import {what} -> {placed.version.tag} {placed.commit[:12]} "
             f"({files} files) in {time.monotonic() - begin:.0f} s")
    if moved:
        progress("mirror", "re-parented " + ", ".join(r.version.tag for r in moved)
                 + f" onto {placed.version.tag} (trees unchanged)")
    return placed, moved


def import_release(gitdir: Path, art: apt.Artifact, path: Path, tmp_root: Path,
                   timing: Timing) -> tuple[repo.Release, list[repo.Release]]:
    offer = art.offer
    with work_dir(tmp_root) as work:
        progress("mirror", f"unpack {offer} ...")
        start = time.monotonic()
        with live.ticking("mirror", lambda: f"unpack {offer}: {count_files(work)} files, "
                          f"{live.elapsed(time.monotonic() - start)}"):
            root, member = unpack(art, path, work)
        files = count_files(root)
        timing.unpack = time.monotonic() - start
        progress("mirror", f"unpack {offer}: {files} files in {timing.unpack:.0f} s")
        progress("mirror", f"import {offer} ...")
        start = time.monotonic()
        with live.ticking("mirror", lambda: f"import {offer}: {files} files into git, index "
                          f"{size(work / 'index') / 1e6:.0f} MB, "
                          f"{live.elapsed(time.monotonic() - start)}"):
            tree = store_tree(gitdir, root, work / "index", files, str(offer))
        rel = repo.Release(offer.upstream, tree,
                           repo.message(offer.upstream, offer.package, offer.version,
                                        art.filename, art.sha256, member),
                           repo.makefile_date(root))
    placed = place(gitdir, rel, str(offer), files, start)
    timing.import_ = time.monotonic() - start
    return placed


# --- the whole run --------------------------------------------------------------------------------

def mirror(requests: Sequence[Request], repo_path: Path, data_dir: Path,
           cache: Path | None = None) -> Summary:
    """Make sure every requested release is tagged in the mirror at `repo_path`."""
    start = time.monotonic()
    summary = Summary()
    cache = cache or apt.cache_root()
    gitdir = repo.ensure(repo_path)
    with repo.locked(gitdir):
        present = {r.version: r for r in repo.releases(gitdir)}
        wanted = sorted({r.upstream: r for r in requests}.values(), key=lambda r: r.upstream)
        missing = [r for r in wanted if r.upstream not in present]
        for req in wanted:
            if req.upstream in present:
                rel = present[req.upstream]
                summary.present.append(req.upstream)
                progress("mirror", f"present {req.upstream.tag} {rel.commit and rel.commit[:12]} "
                         f"({rel.source})")
        if missing:
            offers = apt.query_offers()
            chosen = [apt.choose(r, offers) for r in missing]  # all unknowns fail up front
            for offer in chosen:
                _say_choice(offer, offers)
                timing = summary.timings.setdefault(offer.upstream, Timing())
                art = apt.artifact(offer)
                path = fetch(art, cache, timing)
                import_release(gitdir, art, path, data_dir / "tmp", timing)
                summary.imported.append(offer.upstream)
    summary.seconds = time.monotonic() - start
    return summary


def _say_choice(offer: apt.Offer, offers: Sequence[apt.Offer]) -> None:
    others = [o for o in offers if o.upstream == offer.upstream and o != offer]
    if others:
        progress("mirror", f"{offer.upstream}: using {offer} ({offer.kind}); also offered: "
                 + ", ".join(f"{o} ({o.kind})" for o in others))


@dataclass(frozen=True)
class Listed:
    offer: apt.Offer
    present: str | None  # the Mirrored-from of the release in the mirror, if any
    cached: bool


def listing(repo_path: Path, cache: Path | None = None) -> list[Listed]:
    """What the configured sources offer (best offer per version), with mirror and cache state."""
    cache = cache or apt.cache_root()
    present: dict[Upstream, str] = {}
    if repo_path.exists():
        gitdir = repo.ensure(repo_path)
        present = {r.version: r.source for r in repo.releases(gitdir)}
    best = apt.best_offers(apt.query_offers())
    rows = [Listed(offer, present.get(up), _looks_cached(offer, cache))
            for up, offer in best.items()]
    for up, source in present.items():
        if up not in best:  # in the mirror, but no longer offered by the sources
            package, _, version = source.partition(" ")
            if upstream_of(version) == up:
                rows.append(Listed(apt.Offer(package, version, "gone"), source, False))
    return sorted(rows, key=lambda r: r.offer.upstream)


def _looks_cached(offer: apt.Offer, cache: Path) -> bool:
    """A cheap guess from file names (no apt query, no checksum): is the download cached?"""
    if offer.kind == apt.BINARY:
        return any(cache.glob(f"{offer.package}_{offer.version.split(':')[-1]}_*.deb"))
    return any(cache.glob(f"{offer.package}_{offer.upstream}.orig.tar.*"))
