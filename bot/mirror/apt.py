"""What the configured apt sources offer, and fetching it into the download cache.

Two kinds of offer:

- binary: a `linux-source-X.Y` .deb (`apt-get download`), which carries
  /usr/src/linux-source-X.Y.tar.xz, Debian's patched tree;
- orig: the upstream tarball of a `linux` source package (`apt-get source --download-only`),
  the fallback for early releases no binary package in the sources carries any more.

For one upstream version a binary offer wins over an orig one, and the latest Debian
revision wins among offers of one kind (6.1.176-1 over 6.1.176-1~deb11u1).

Downloads land in <cache>/debian/ under the archive's own file name. Each one is fetched
into a private temporary folder there, checked against the SHA-256 apt lists, and only
then moved into place, so the cache never holds a partial file and concurrent runs do
not trip over each other. A cached file is checked the same way before it is used.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot import defaults, proc
from bot.errors import InfraError, UserError
from bot.mirror.versions import Request, Upstream, compare_debian, upstream_of

BINARY = "binary"
ORIG = "orig"


@dataclass(frozen=True)
class Offer:
    """One Debian package version that yields a kernel tree."""

    package: str
    version: str  # Debian version, e.g. 5.10.223-1
    kind: str     # BINARY or ORIG

    @property
    def upstream(self) -> Upstream:
        up = upstream_of(self.version)
        assert up is not None  # offers are built only from kernel versions
        return up

    def __str__(self) -> str:
        return f"{self.package} {self.version}"


@dataclass(frozen=True)
class Artifact:
    """The file an offer downloads: archive file name, size and SHA-256 as apt lists them."""

    offer: Offer
    filename: str
    size: int
    sha256: str


# --- argv builders ------------------------------------------------------------------------

def madison_argv(packages: Sequence[str]) -> list[str]:
    return ["apt-cache", "madison", *packages]


def show_argv(package: str, version: str) -> list[str]:
    return ["apt-cache", "show", f"{package}={version}"]


def showsrc_argv(package: str) -> list[str]:
    return ["apt-cache", "showsrc", "--only-source", package]


def download_argv(offer: Offer) -> list[str]:
    if offer.kind == BINARY:
        return ["apt-get", "download", f"{offer.package}={offer.version}"]
    return ["apt-get", "source", "--download-only", "--only-source",
            f"{offer.package}={offer.version}"]


# --- parsers --------------------------------------------------------------------------------

def parse_madison(text: str, packages: Iterable[str], kind: str) -> list[Offer]:
    """Offers from `apt-cache madison` output: 'pkg | version | url dist/comp arch Packages'.

    Binary offers come from 'Packages' lines, orig offers from 'Sources' lines; versions that
    are not kernel versions are skipped, duplicates (one version in two archives) merged.
    """
    wanted = set(packages)
    suffix = "Packages" if kind == BINARY else "Sources"
    offers: dict[tuple[str, str], Offer] = {}
    for line in text.splitlines():
        fields = [f.strip() for f in line.split("|")]
        if len(fields) != 3 or fields[0] not in wanted or not fields[2].endswith(suffix):
            continue
        if upstream_of(fields[1]) is None:
            continue
        offers.setdefault((fields[0], fields[1]), Offer(fields[0], fields[1], kind))
    return list(offers.values())


def parse_paragraphs(text: str) -> list[dict[str, str]]:
    """deb822 paragraphs (apt-cache show/showsrc output) as dicts; continuation lines joined by \\n."""
    paragraphs: list[dict[str, str]] = []
    current: dict[str, str] = {}
    field = None
    for line in text.splitlines():
        if not line.strip():
            if current:
                paragraphs.append(current)
            current, field = {}, None
        elif line[0] in " \t" and field is not None:
            current[field] += "\n" + line.strip()
        elif ":" in line:
            field, _, value = line.partition(":")
            current[field] = value.strip()
    if current:
        paragraphs.append(current)
    return paragraphs


def binary_artifact(offer: Offer, show_output: str) -> Artifact:
    """The .deb of a binary offer, from `apt-cache show pkg=version`."""
    for para in parse_paragraphs(show_output):
        if para.get("Package") == offer.package and para.get("Version") == offer.version:
            try:
                return Artifact(offer, Path(para["Filename"]).name, int(para["Size"]),
                                para["SHA256"])
            except (KeyError, ValueError) as exc:
                raise InfraError(f"apt-cache show {offer.package}={offer.version} lacks "
                                 f"Filename/Size/SHA256 ({exc}): run apt-get update") from exc
    raise InfraError(f"apt-cache show does not list {offer}: run apt-get update")


def orig_artifact(offer: Offer, showsrc_output: str) -> Artifact:
    """The orig tarball of a source offer, from `apt-cache showsrc` (its Checksums-Sha256)."""
    for para in parse_paragraphs(showsrc_output):
        if para.get("Package") != offer.package or para.get("Version") != offer.version:
            continue
        for line in para.get("Checksums-Sha256", "").splitlines():
            parts = line.split()
            if len(parts) == 3 and ".orig.tar." in parts[2]:
                return Artifact(offer, parts[2], int(parts[1]), parts[0])
        raise InfraError(f"{offer} lists no orig tarball in apt-cache showsrc")
    raise InfraError(f"apt-cache showsrc does not list {offer}: run apt-get update")


# --- choosing ---------------------------------------------------------------------------------

def best_offers(offers: Iterable[Offer]) -> dict[Upstream, Offer]:
    """For each upstream version, the offer to use: binary over orig, then latest revision."""
    best: dict[Upstream, Offer] = {}
    for offer in offers:
        cur = best.get(offer.upstream)
        if cur is None or _better(offer, cur):
            best[offer.upstream] = offer
    return dict(sorted(best.items()))


def _better(a: Offer, b: Offer) -> bool:
    if a.kind != b.kind:
        return a.kind == BINARY
    return compare_debian(a.version, b.version) > 0


def choose(request: Request, offers: Sequence[Offer]) -> Offer:
    """The offer that satisfies `request`; UserError listing what is on offer otherwise."""
    if request.debian is not None:
        exact = [o for o in offers if o.version == request.debian]
        if exact:
            return best_offers(exact)[request.upstream]
    else:
        best = best_offers(offers)
        if request.upstream in best:
            return best[request.upstream]
    raise unknown_version(request, offers)


def unknown_version(request: Request, offers: Sequence[Offer]) -> UserError:
    if not offers:
        return UserError(f"no kernel releases on offer, so {request} cannot be mirrored: add the "
                         "bullseye apt sources (deb and deb-src; deploy/setup.sh does it) and run "
                         "apt-get update")
    if request.debian is not None:
        listed = sorted({o.version for o in offers if o.upstream == request.upstream},
                        key=_DebKey)
        if listed:
            return UserError(f"Debian version {request.debian} is not offered by the configured "
                             f"apt sources; {request.upstream} is offered as {', '.join(listed)}")
    versions = ", ".join(str(u) for u in best_offers(offers))
    return UserError(f"unknown version {request}: the configured apt sources offer {versions} "
                     "(pass one of these; add apt sources for others)")


class _DebKey:
    """Sort key for Debian versions."""

    def __init__(self, v: str):
        self.v = v

    def __lt__(self, other: _DebKey) -> bool:
        return compare_debian(self.v, other.v) < 0


# --- querying apt -----------------------------------------------------------------------------

def require_apt() -> None:
    for tool in ("apt-cache", "apt-get"):
        if proc.which(tool) is None:
            raise InfraError(f"{tool} not found: cocci-bot mirror downloads Debian's kernel "
                             "packages with apt; run it on Debian with the bullseye sources "
                             "that deploy/setup.sh adds")


def query_offers(binary_packages: Sequence[str] = defaults.MIRROR_BINARY_PACKAGES,
                 source_packages: Sequence[str] = defaults.MIRROR_SOURCE_PACKAGES) -> list[Offer]:
    """Every kernel release the configured apt sources offer (binary and orig)."""
    require_apt()
    offers: list[Offer] = []
    for packages, kind in ((binary_packages, BINARY), (source_packages, ORIG)):
        if not packages:
            continue
        res = proc.run(madison_argv(packages), timeout=defaults.TIMEOUT_APT_QUERY, check=False)
        if not res.ok:
            raise InfraError(f"apt-cache madison failed (exit {res.returncode}): {res.tail()} "
                             "(check /etc/apt/sources.list.d and run apt-get update)")
        offers.extend(parse_madison(res.stdout, packages, kind))
    return offers


def artifact(offer: Offer) -> Artifact:
    """Ask apt which file `offer` downloads (name, size, SHA-256)."""
    if offer.kind == BINARY:
        res = proc.run(show_argv(offer.package, offer.version),
                       timeout=defaults.TIMEOUT_APT_QUERY)
        return binary_artifact(offer, res.stdout)
    res = proc.run(showsrc_argv(offer.package), timeout=defaults.TIMEOUT_APT_QUERY)
    return orig_artifact(offer, res.stdout)


# --- the download cache -----------------------------------------------------------------------

def cache_root() -> Path:
    return defaults.cache_dir() / "debian"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cached(art: Artifact, cache: Path) -> Path | None:
    """The cached file of `art` when it is there and intact, else None (a bad copy is removed)."""
    path = cache / art.filename
    if not path.is_file():
        return None
    if path.stat().st_size == art.size and sha256_of(path) == art.sha256:
        return path
    path.unlink()
    return None


def download(art: Artifact, cache: Path) -> Path:
    """Fetch `art` with apt into `cache`; return its path. InfraError naming the cause on failure."""
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=cache))
    try:
        res = proc.run(download_argv(art.offer), cwd=tmp, timeout=defaults.TIMEOUT_APT,
                       check=False)
        got = tmp / art.filename
        # apt-get source also fetches the .dsc and .debian.tar.xz; a failure on those
        # (404 on superseded revisions) does not matter once the orig tarball is here.
        intact = got.is_file() and got.stat().st_size == art.size and sha256_of(got) == art.sha256
        if not intact and (not res.ok or not got.is_file()):
            raise InfraError(f"{proc.cmdline(res.argv)} did not fetch {art.filename} "
                             f"(exit {res.returncode}): {res.tail()} "
                             "(check the network and apt sources; run apt-get update)")
        if not intact:
            raise InfraError(f"{art.filename} from apt does not match the SHA-256 apt lists: "
                             "run apt-get update and retry")
        dest = cache / art.filename
        got.replace(dest)
        return dest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
