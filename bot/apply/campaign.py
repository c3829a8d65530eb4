"""Campaigns: semantic_patches/<name>/manifest.toml plus the .cocci files it names.

A campaign is data: an ordered list of steps, each a semantic patch with a
commit subject and message, the site classes it converts, and optionally the
tree facts that make it skip, any one of them (with the reason the report and
cover letter carry).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bot import defaults
from bot.errors import UserError

# the classes every campaign's classifier may report besides its own (manifest [classes])
BASE_CLASSES = {"definition": "the predicate itself", "declaration": "the predicate itself",
                "unknown": "surrounding code does not say which question it asks"}

# what a step is: a fix changes behaviour (stable takes it); a cleanup claims no
# functional change (the build's NFC check proves it)
STEP_KINDS = ("fix", "cleanup")


@dataclass(frozen=True)
class Step:
    index: int
    name: str
    cocci: Path | None
    subject: str
    message: str
    classes: tuple[str, ...]
    skip_if_fact: tuple[str, ...] = ()   # skip when any of these facts holds
    skip_reason: str = ""
    otherwise_reason: str = ""
    unchanged_reason: str = ""
    untouched_note: str = ""   # why a use of this step's classes may stay (else: "missed")
    provides: tuple[str, ...] = ()   # helpers the step adds: must be declared where used
    link: bool = True
    kind: str = "cleanup"   # STEP_KINDS: required in the manifest, no default there
    fixes: str = ""          # the commit a fix step's Fixes: names ([commits] table)
    redoes: str = ""         # the upstream commit a fix step redoes ([commits] table)
    differs: str = ""        # how it differs from that commit (a template)
    suggested_by: tuple[str, ...] = ()   # whose proposal the step automates

    @property
    def is_fix(self) -> bool:
        return self.kind == "fix"

    @property
    def label(self) -> str:
        return f"{self.index:02d}-{self.name}"


@dataclass(frozen=True)
class Campaign:
    name: str
    root: Path
    title: str
    requires: str
    classifier: Path
    cover: str
    scope: tuple[str, ...]
    spatch_options: tuple[str, ...]
    steps: tuple[Step, ...] = field(default_factory=tuple)
    link: str = ""
    phrases: dict[str, list[dict]] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)   # class -> note for an untouched use
    # upstream commits the messages may name: 12-hex id -> title, release, who did what
    commits: dict[str, dict] = field(default_factory=dict)
    releases: dict = field(default_factory=dict)   # [releases]: which kernel releases exist
    claims: tuple[dict, ...] = ()   # [[claims]]: a sentence matching `says` only when `when`
    eras: tuple[dict, ...] = ()     # [[era]]: subject prefixes by kernel version
    stable_cleanup: str = ""   # what a cleanup-only series prepares (stable trees' framing)

    def release_exists(self, major: int, minor: int, point: str | None,
                       version: tuple[int, ...] = ()) -> bool:
        """Whether kernel release major.minor[.point] ("y"/"x": the stable line) exists, by
        the [releases] table: `newest` mainline, `last_minor` per major, `eol` lines' last
        point release; a point release of a live line only up to the tree's own version or
        as the table's commits name it."""
        newest = tuple(int(x) for x in str(self.releases.get("newest", "0.0")).split("."))
        last_minor = {int(k): int(v) for k, v in self.releases.get("last_minor", {}).items()}
        if (major, minor) > newest or minor > last_minor.get(major, 10**6):
            return False
        if point is None or point in ("y", "x"):
            return True
        eol = self.releases.get("eol", {}).get(f"{major}.{minor}")
        if eol is not None:
            return int(point) <= int(eol)
        if version[:2] == (major, minor) and len(version) > 2 and int(point) <= version[2]:
            return True
        named = {str(r) for c in self.commits.values() for r in [c.get("release"),
                                                                  *c.get("stable", [])]}
        return f"{major}.{minor}.{point}" in {r.lstrip("v") for r in named}

    def relpath(self, path: Path) -> str:
        """A campaign file as the report and commit messages name it."""
        try:
            return str(path.relative_to(self.root.parent.parent))
        except ValueError:
            return str(path)

    def hashes(self) -> dict[str, str]:
        """sha256 of every semantic patch the campaign runs (cover letter, dedupe key)."""
        files = [self.classifier, *(s.cocci for s in self.steps if s.cocci)]
        return {self.relpath(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}

    def content_hash(self) -> str:
        h = hashlib.sha256((self.root / "manifest.toml").read_bytes())
        for name, digest in sorted(self.hashes().items()):
            h.update(f"{name}={digest}\n".encode())
        return h.hexdigest()


def campaigns_dir() -> Path:
    return defaults.project_root() / "semantic_patches"


def available(root: Path | None = None) -> list[str]:
    root = root or campaigns_dir()
    return sorted(p.parent.name for p in root.glob("*/manifest.toml"))


def load(name: str, root: Path | None = None) -> Campaign:
    """The campaign called `name`; UserError listing the valid names when unknown."""
    root = root or campaigns_dir()
    names = available(root)
    if name not in names or "/" in name or name.startswith("."):
        raise UserError(f"unknown campaign {name!r}: choose one of {', '.join(names) or '(none)'}"
                        f" (campaigns live in {root})")
    folder = root / name
    manifest = folder / "manifest.toml"
    try:
        data = tomllib.loads(manifest.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{manifest}: {exc}: fix the manifest's TOML") from exc
    return _campaign(folder, data)


def _campaign(folder: Path, data: dict) -> Campaign:
    manifest = folder / "manifest.toml"
    for key in ("name", "title", "requires", "classifier", "step"):
        if key not in data:
            raise UserError(f"{manifest}: missing key {key!r}: add it to the manifest")
    classes = _classes(manifest, data.get("classes", {}))
    steps = tuple(_step(folder, i, raw, classes) for i, raw in enumerate(data["step"], start=1))
    classifier = _file(folder, data["classifier"], "classifier")
    commits = _commits(manifest, data.get("commits", {}))
    for step in steps:
        for cid in (step.fixes, step.redoes):
            if cid and cid[:12] not in commits:
                raise UserError(f"{manifest}: step {step.name!r} names commit {cid}, which "
                                "the [commits] table does not have: add its title and release")
    return Campaign(
        name=data["name"], root=folder, title=data["title"], requires=data["requires"],
        classifier=classifier, cover=data.get("cover", "").strip(),
        scope=tuple(data.get("scope", [])),
        spatch_options=tuple(data.get("spatch_options", [])), steps=steps,
        link=str(data.get("link", "")), phrases=_phrases(manifest, data.get("phrases", {})),
        classes=classes, commits=commits, stable_cleanup=data.get("stable_cleanup", "").strip(),
        releases=dict(data.get("releases", {})), claims=_claims(manifest, data.get("claims", [])),
        eras=tuple(data.get("era", [])))


def _commits(manifest: Path, raw: object) -> dict[str, dict]:
    """[commits.ID] title, release (and optionally id, stable, adds, replaced_in, *_by,
    trailers); keyed by the first 12 hex digits of ID."""
    if not isinstance(raw, dict):
        raise UserError(f"{manifest}: commits must be a table of [commits.ID] tables")
    out = {}
    for cid, entry in raw.items():
        if not re.fullmatch(r"[0-9a-f]{12,40}", cid) or not isinstance(entry, dict) \
                or not {"title", "release"} <= set(entry):
            raise UserError(f"{manifest}: [commits.{cid}]: the key is a commit id (12 to 40 "
                            "hex digits) and the table needs title and release")
        out[cid[:12]] = {"id": cid, **entry}    # the id as the manifest gives it (full)
    return out


def _claims(manifest: Path, raw: object) -> tuple[dict, ...]:
    ok = isinstance(raw, list) and all(
        isinstance(c, dict) and isinstance(c.get("says"), str) and
        isinstance(c.get("when", []), list) for c in raw)
    if not ok:
        raise UserError(f"{manifest}: each [[claims]] takes `says` (a regular expression) "
                        "and `when` (a list of facts)")
    assert isinstance(raw, list)
    for c in raw:
        try:
            re.compile(c["says"])
        except re.error as exc:
            raise UserError(f"{manifest}: [[claims]] says = {c['says']!r}: {exc}") from exc
    return tuple(raw)


def _classes(manifest: Path, raw: object) -> dict[str, str]:
    """[classes] NAME = "note for a use of that class no step converts"; the base classes
    (definition, declaration, unknown) are always there and may get their own note."""
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise UserError(f"{manifest}: [classes] maps each class name to a note (a string)")
    return {**BASE_CLASSES, **{k: " ".join(v.split()) for k, v in raw.items()}}


def _phrases(manifest: Path, raw: object) -> dict[str, list[dict]]:
    """[[phrases.NAME]] cases: {when = [facts], text = "..."}; checked so a typo fails here."""
    if not isinstance(raw, dict):
        raise UserError(f"{manifest}: phrases must be a table of [[phrases.NAME]] lists")
    for name, cases in raw.items():
        ok = isinstance(cases, list) and all(
            isinstance(c, dict) and set(c) <= {"when", "text"} and isinstance(c.get("text", ""), str)
            and isinstance(c.get("when", []), list) for c in cases)
        if not ok:
            raise UserError(f"{manifest}: phrase {name!r}: each [[phrases.{name}]] case takes "
                            "`when` (a list of facts) and `text` (a string)")
    return raw


def _step(folder: Path, index: int, raw: dict, classes: dict[str, str]) -> Step:
    where = f"{folder / 'manifest.toml'}: step {index}"
    for key in ("name", "kind", "subject", "classes"):
        if key not in raw:
            raise UserError(f"{where}: missing key {key!r}: add it to the step")
    bad = [c for c in raw["classes"] if c not in classes]
    if bad:
        raise UserError(f"{where}: unknown class {bad[0]!r}: use one of {', '.join(classes)}"
                        " (declare a campaign's classes in its [classes] table)")
    kind = raw["kind"]
    if kind not in STEP_KINDS:
        raise UserError(f"{where}: kind = {kind!r}: use one of {', '.join(map(repr, STEP_KINDS))}"
                        " (\"fix\" changes behaviour, \"cleanup\" claims no functional change)")
    cocci = _file(folder, raw["cocci"], f"step {index}") if raw.get("cocci") else None
    skip_if = raw.get("skip_if_fact", [])
    skip_if = [skip_if] if isinstance(skip_if, str) else skip_if
    if not isinstance(skip_if, list) or not all(isinstance(f, str) and f for f in skip_if):
        raise UserError(f"{where}: skip_if_fact is a fact or a list of facts (strings)")
    if cocci is None and not skip_if:
        raise UserError(f"{where}: a step without a semantic patch needs skip_if_fact and reasons")
    return Step(
        index=index, name=raw["name"], cocci=cocci, subject=raw["subject"],
        message=raw.get("message", "").strip(), classes=tuple(raw["classes"]),
        skip_if_fact=tuple(skip_if), skip_reason=raw.get("skip_reason", "").strip(),
        otherwise_reason=raw.get("otherwise_reason", "").strip(),
        unchanged_reason=raw.get("unchanged_reason", "").strip(),
        untouched_note=" ".join(raw.get("untouched_note", "").split()),
        link=bool(raw.get("link", True)), provides=tuple(raw.get("provides", [])), kind=kind,
        fixes=str(raw.get("fixes", "")), redoes=str(raw.get("redoes", "")),
        differs=raw.get("differs", "").strip(),
        suggested_by=tuple(raw.get("suggested_by", [])))


def _file(folder: Path, name: str, what: str) -> Path:
    path = (folder / name).resolve()
    if folder.resolve() not in path.parents or not path.is_file():
        raise UserError(f"{folder / 'manifest.toml'}: {what} names {name!r}, "
                        f"which is not a file in {folder}")
    return path
