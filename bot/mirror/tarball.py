"""`cocci-bot mirror --tarball FILE [--tag vX.Y.Z]`: any kernel source tarball (a vendor
kernel, a release Debian does not carry) becomes a release commit and tag in the mirror.

Same chain as Debian releases (version order, later releases re-parented when an older one
arrives; see bot.mirror.repo), same unpacking under DATA_DIR/tmp (removed afterwards, also on
failure), same lock. The version is the tree's own: the top Makefile's VERSION, PATCHLEVEL,
SUBLEVEL (and EXTRAVERSION, which must be empty unless --tag names the release). A tarball
whose sha256 is already recorded in the mirror (its Mirrored-file line) is present: skipped
without unpacking. A different tarball of a version the mirror already has is refused.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from bot import defaults, proc
from bot import git as botgit
from bot.errors import UserError
from bot.log import progress
from bot.mirror import apt, repo, stage
from bot.mirror.versions import Upstream, tag_version

_MAKEFILE_VAR = re.compile(r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*=[ \t]*(.*?)\s*$",
                           re.MULTILINE)
SOURCE_PREFIX = "tarball"   # Mirrored-from: tarball <file name>


@dataclass(frozen=True)
class Imported:
    version: Upstream
    commit: str
    present: bool          # already in the mirror from this very file: nothing done
    moved: tuple[Upstream, ...] = ()
    seconds: float = 0.0

    def line(self) -> str:
        what = "present" if self.present else "imported"
        moved = f", re-parented {', '.join(v.tag for v in self.moved)}" if self.moved else ""
        return f"PASS {self.version.tag} {what} ({self.commit[:12]}){moved} in {self.seconds:.0f} s"


def makefile_version(root: Path) -> tuple[str, str]:
    """(X.Y.Z, EXTRAVERSION) from the tree's top Makefile; UserError when it is no kernel's."""
    try:
        text = (root / "Makefile").read_text(errors="replace")[:4096]
    except (FileNotFoundError, IsADirectoryError):
        text = ""
    found = dict(_MAKEFILE_VAR.findall(text))
    parts = [found.get(k, "") for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL")]
    if not all(p.isdigit() for p in parts[:2]) or (parts[2] and not parts[2].isdigit()):
        raise UserError("not a kernel source tarball: its top folder has no Makefile with "
                        "VERSION/PATCHLEVEL/SUBLEVEL (pass a kernel source tarball)")
    version = ".".join(parts[:2]) + (f".{parts[2]}" if parts[2] not in ("", "0") else "")
    return version, found.get("EXTRAVERSION", "")


def release_version(root: Path, tag: str | None) -> tuple[Upstream, str]:
    """The release's version (from --tag, else the Makefile) and what the Makefile says."""
    version, extra = makefile_version(root)
    said = version + (f" with EXTRAVERSION {extra!r}" if extra else "")
    if tag is not None:
        return _tag(tag), said
    if extra:
        raise UserError(f"the tree's Makefile says {said} (make kernelversion: {version}{extra}), "
                        "not a plain release: pass --tag vX.Y.Z to name it")
    return Upstream.parse(version), said


def _tag(tag: str) -> Upstream:
    version = tag_version(tag)
    if version is None:
        raise UserError(f"--tag {tag!r} is not a release tag: pass it like v4.20.1")
    return version


def message(version: Upstream, filename: str, digest: str, makefile: str) -> str:
    return (f"Linux {version} from {filename}\n\n"
            f"Imported by cocci-bot mirror from the source tarball {filename} "
            f"(its Makefile says {makefile}).\n\n"
            f"{repo.TRAILER} {SOURCE_PREFIX} {filename}\n"
            f"Mirrored-file: {filename} sha256:{digest}\n")


def _recorded(rel: repo.Release, digest: str) -> bool:
    return any(line.startswith("Mirrored-file: ") and line.endswith(f" sha256:{digest}")
               for line in rel.message.splitlines())


def mirror_tarball(tarball: Path, repo_path: Path, data_dir: Path,
                   tag: str | None = None) -> Imported:
    """Make the release in `tarball` a tagged commit of the mirror at `repo_path`."""
    start = time.monotonic()
    if not tarball.is_file():
        raise UserError(f"--tarball {tarball} is not a file: pass a kernel source tarball "
                        "(linux-X.Y.Z.tar.xz)")
    wanted = _tag(tag) if tag is not None else None
    fresh = not repo_path.exists() or not any(repo_path.iterdir())
    gitdir = repo.ensure(repo_path)
    try:
        return _mirror_locked(tarball, gitdir, data_dir, tag, wanted, start)
    except BaseException:
        # a mirror this run created for a tarball it could not import is not kept (unless
        # another mirror run filled it meanwhile)
        if fresh and not botgit.out(gitdir, "for-each-ref", "--count=1", "refs/tags"):
            repo.remove_tree(repo_path)
        raise


def _mirror_locked(tarball: Path, gitdir: Path, data_dir: Path, tag: str | None,
                   wanted: Upstream | None, start: float) -> Imported:
    with repo.locked(gitdir):
        digest = apt.sha256_of(tarball)
        existing = repo.releases(gitdir)
        for rel in existing:
            if _recorded(rel, digest) and wanted in (None, rel.version):
                progress("mirror", f"present {rel.version.tag} {rel.commit and rel.commit[:12]} "
                         f"({rel.source})")
                assert rel.commit is not None
                return Imported(rel.version, rel.commit, True,
                                seconds=time.monotonic() - start)
        if wanted is not None:
            _refuse_present(wanted, existing, tarball)
        placed, moved = _import(gitdir, tarball, digest, existing, data_dir / "tmp", tag)
    assert placed.commit is not None
    return Imported(placed.version, placed.commit, False, tuple(r.version for r in moved),
                    time.monotonic() - start)


def _refuse_present(version: Upstream, existing: list[repo.Release], tarball: Path) -> None:
    for rel in existing:
        if rel.version == version:
            raise UserError(f"{version.tag} is already in the mirror (from {rel.source}), not "
                            f"from {tarball.name}: pass --tag with another version or --repo "
                            "another mirror")


def _import(gitdir: Path, tarball: Path, digest: str, existing: list[repo.Release],
            tmp_root: Path, tag: str | None) -> tuple[repo.Release, list[repo.Release]]:
    with stage.work_dir(tmp_root) as work:
        progress("mirror", f"unpack {tarball.name} ...")
        begin = time.monotonic()
        root = _unpack(tarball, work)
        version, said = release_version(root, tag)
        _refuse_present(version, existing, tarball)
        files = stage.count_files(root)
        progress("mirror", f"unpack {tarball.name}: {files} files, Linux {said} "
                 f"in {time.monotonic() - begin:.0f} s")
        progress("mirror", f"import {version.tag} ...")
        begin = time.monotonic()
        tree = stage.store_tree(gitdir, root, work / "index", files, tarball.name)
        rel = repo.Release(version, tree, message(version, tarball.name, digest, said),
                           repo.makefile_date(root))
    return stage.place(gitdir, rel, tarball.name, files, begin)


def _unpack(tarball: Path, work: Path) -> Path:
    src = work / "src"
    src.mkdir()
    res = proc.run(stage.tar_extract_argv(tarball, src), timeout=defaults.TIMEOUT_UNPACK,
                   check=False)
    if not res.ok:
        raise UserError(f"{tarball} is not a readable tarball (tar: {res.tail(1)}): pass an "
                        "intact kernel source tarball")
    tops = list(src.iterdir())
    if len(tops) != 1 or not tops[0].is_dir():
        raise UserError(f"{tarball.name} does not unpack into one folder: not a kernel source "
                        "tarball (pass one like linux-X.Y.Z.tar.xz)")
    return tops[0]

