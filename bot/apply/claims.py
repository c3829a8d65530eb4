"""The claim check: every checkable statement of a series, proved against the tree it is for.

A message goes out only if each of its checkable statements holds on this tree:
  - every function named ("name()") exists in the base or the patched tree, or the sentence
    names a known commit that adds it (a statement about another release);
  - every file named exists in the base or the patched tree;
  - every commit id named is in the campaign's [commits] table (title, release); a title given
    with it ("id ("title")") is the table's; where the tree has the commit, git agrees with the
    table (title; an ancestor of the release tag the table names, when the tree has that tag);
  - who did what to a known commit ("acked by", "applied by", "reported by") is what the table
    says; "every later tree carries" is false of a commit the table says was replaced;
  - every release named (v5.4, 4.19.y, 5.10.46) exists (campaign [releases] table);
  - every quoted source text ("..." with code in it) is found in a file of this tree (the
    file the sentence names, else a file the series touches), before or after the series;
    quotes in comments the series adds are checked the same way;
  - "no functional change" only in a patch whose step is a cleanup, and in a cover only when
    every patch is one;
  - the campaign's own [[claims]] rules: a sentence matching `says` only where `when` holds
    (the phrases' facts; messages.py checks those while rendering).
The result goes into report.json ("claims") and to the review queue as the "claims" check.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot import git
from bot.apply.campaign import Campaign

FUNCTION = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\(\)")
FILE = re.compile(r"(?<![\w/.@-])((?:[\w-]+/)+[\w.-]+\.(?:c|h|rst|txt|S)|[\w-]+\.[ch])"
                  r"(?![\w@-]|\.\w)")
COMMIT = re.compile(r"(?<![\w/])([0-9a-f]{12,40})\b(?:\s*\(\"([^\"]+)\"\))?")
RELEASE = re.compile(r"(?<![\w.])v?(\d+)\.(\d+)(?:\.(\d+|y|x))?(?![\w.]*\d)")
QUOTE = re.compile(r"\"([^\"]{6,})\"")
CODE_HINT = re.compile(r"[()_;&|>]|->")
NFC = re.compile(r"no functional change", re.IGNORECASE)
DID = re.compile(r"\b(acked|applied|reviewed|reported|written)\b(?: it)? by (?:an? )?"
                 r"([A-Z][\w/.-]*(?: [A-Z/][\w/.-]*)*(?: maintainers?)?)", re.IGNORECASE)
ROLE_DID = re.compile(r"\ban? ([\w/.-]+(?: [\w/.-]+)*? maintainer) (acked|applied|reviewed)\b",
                      re.IGNORECASE)
EVERY_LATER = re.compile(r"\b(every|all) (later|newer) (trees?|releases?|kernels?)\b",
                         re.IGNORECASE)
MAX_COLUMNS = 75
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(\[])")


@dataclass(frozen=True)
class Message:
    """One message of the series: a patch (with its step's kind) or the cover."""
    label: str              # "01-zone-device", "cover"
    text: str
    kind: str = "cleanup"   # the step's kind; "cover" for the cover letter
    all_cleanup: bool = True   # cover only: every patch of the series is a cleanup
    series: tuple[str, ...] = ()   # the kinds of the series' patches, in order


@dataclass
class Failure:
    message: str
    sentence: str
    why: str


@dataclass
class Result:
    checked: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self) -> dict:
        return {"status": "PASS" if self.ok else "FAIL", "checked": self.checked,
                "failed": [asdict(f) for f in self.failures]}

    def summary(self) -> str:
        if self.ok:
            return f"{self.checked} statements proved on this tree"
        first = self.failures[0]
        return (f"{len(self.failures)} of {self.checked} statements not proved; "
                f"{first.message}: {first.why}: \"{first.sentence}\"")


@dataclass
class Tree:
    """What the check reads of the tree: the base and patched revisions, lazily."""
    repo: Path
    base: str
    head: str
    touched: list[str] = field(default_factory=list)
    added: str = ""     # the lines the series adds: what head has that base has not
    _files: dict[tuple[str, str], str | None] = field(default_factory=dict)
    _words: dict[str, set[str]] = field(default_factory=dict)

    def read(self, rev: str, path: str) -> str | None:
        key = (rev, path)
        if key not in self._files:
            res = git.git(self.repo, "show", f"{rev}:{path}", check=False)
            self._files[key] = res.stdout if res.ok else None
        return self._files[key]

    def has_file(self, path: str) -> bool:
        """A path of the tree; a bare file name ("page-flags.h") anywhere in it."""
        if "/" not in path:
            return bool(self.paths(path))
        return any(self.read(rev, path) is not None for rev in (self.base, self.head))

    def paths(self, name: str) -> list[str]:
        """The tree's files called `name` (base and patched)."""
        if "" not in self._words:
            self._words[""] = set(git.out(self.repo, "ls-tree", "-r", "--name-only",
                                          self.base).splitlines()) | set(self.touched)
        return sorted(p for p in self._words[""] if p.rsplit("/", 1)[-1] == name)

    def has_words(self, words: set[str]) -> set[str]:
        """Which of `words` occur as whole words anywhere in the base or the patched tree."""
        todo = sorted(w for w in words if w not in self._words)
        if todo:     # one pass over the base; the patched tree adds only the series' lines
            args = ["grep", "-h", "-o", "-w", "-I", "-F"]
            for w in todo:
                args += ["-e", w]
            found = set(git.git(self.repo, *args, self.base, "--", check=False).stdout.split())
            added = set(re.findall(r"\w+", self.added))
            for w in todo:
                self._words[w] = {rev for rev, hit in ((self.base, w in found),
                                                       (self.head, w in added)) if hit}
        return {w for w in words if self._words.get(w)}

    def commit(self, cid: str) -> str | None:
        """The subject of commit `cid` where the tree has it, else None."""
        res = git.git(self.repo, "log", "-1", "--format=%s", f"{cid}^{{commit}}", "--",
                      check=False)
        return res.stdout.strip() if res.ok and res.stdout.strip() else None

    def tag(self, name: str) -> bool:
        return git.git(self.repo, "rev-parse", "-q", "--verify", f"refs/tags/{name}",
                       check=False).ok

    def is_ancestor(self, cid: str, rev: str) -> bool:
        return git.git(self.repo, "merge-base", "--is-ancestor", cid, rev, check=False).ok


def sentences(text: str) -> list[str]:
    """Prose sentences of a message (trailer-like and diff lines dropped)."""
    out = []
    for para in re.split(r"\n\s*\n|\n(?=- )|\n(?=[A-Z][\w-]*: )", text):
        body = " ".join(line.strip() for line in para.splitlines())
        out += [s.strip() for s in SENTENCE.split(body) if s.strip()]
    return out


def check(camp: Campaign, tree: Tree, messages: list[Message], added_comments: str = "",
          version: tuple[int, ...] = ()) -> Result:
    """Prove every checkable statement of `messages` (and of quotes in `added_comments`, the
    comment text the series adds) on `tree`; `version` is the tree's own (5, 10, 46)."""
    result = Result()
    # every function any sentence names, looked up in one pass over each revision
    tree.has_words({m.group(1) for msg in messages for m in FUNCTION.finditer(msg.text)})
    for msg in messages:
        for sent in sentences(msg.text):
            for why in _sentence(camp, tree, msg, sent, version):
                result.failures.append(Failure(msg.label, sent, why))
            result.checked += 1
    for sent in sentences(added_comments):
        for why in _quotes(tree, sent):
            result.failures.append(Failure("added comment", sent, why))
        result.checked += 1
    return result


def _sentence(camp: Campaign, tree: Tree, msg: Message, sent: str,
              version: tuple[int, ...]) -> list[str]:
    commits = [(m.group(1), m.group(2)) for m in COMMIT.finditer(sent)
               if re.search(r"[a-f]", m.group(1)) and re.search(r"\d", m.group(1))]
    known = [camp.commits.get(cid[:12]) for cid, _ in commits]
    provided = {name for step in camp.steps for name in step.provides}
    prose = COMMIT.sub(lambda m: m.group(1), sent)    # titles are checked against the table
    out = _functions(tree, prose, [k for k in known if k], provided)
    out += [f"{p} is not a file of this tree" for p in _files(prose) if not tree.has_file(p)]
    for (cid, title), entry in zip(commits, known, strict=True):
        out += _commit(tree, sent, cid, title, entry)
    out += _releases(camp, sent, version)
    out += _quotes(tree, sent)
    numbers = _patch_numbers(sent)
    if NFC.search(sent) and numbers:
        fixes = [n for n in numbers if n > len(msg.series) or msg.series[n - 1] != "cleanup"]
        if fixes:
            out.append(f"patch {fixes[0]} is not a cleanup: \"no functional change\" is for "
                       "cleanup steps")
    elif NFC.search(sent):
        if msg.kind == "fix":
            out.append("a fix changes behaviour: \"no functional change\" is for cleanup steps")
        elif msg.kind == "cover" and not msg.all_cleanup:
            out.append("the series has a fix: the cover cannot say \"no functional change\" "
                       "of it")
    return out


def _patch_numbers(sent: str) -> list[int]:
    """The patches of the series a sentence is about ("patch 2", "patches 2 and 3")."""
    found = re.search(r"\b[Pp]atch(?:es)? (\d+(?:(?:, | and )\d+)*)", sent)
    return [int(n) for n in re.findall(r"\d+", found.group(1))] if found else []


def _functions(tree: Tree, sent: str, known: list[dict], provided: set[str]) -> list[str]:
    """Functions named exist, or a commit named adds them, or they are the campaign's own
    helpers (`provided`: a skipped step's reason names the helper it could not add)."""
    named = {m.group(1) for m in FUNCTION.finditer(sent) if not _absence(sent, m.start())}
    absent = {m.group(1) for m in FUNCTION.finditer(sent) if _absence(sent, m.start())}
    elsewhere = {f for entry in known for f in entry.get("adds", [])} | provided
    found = tree.has_words(named | absent)
    out = [f"{f}() is not in this tree (before or after the series), and no commit the "
           "sentence names adds it" for f in sorted(named - found - elsewhere)]
    return out + [f"the sentence says there is no {f}(), but this tree has it"
                  for f in sorted(absent & found)]


def _absence(sent: str, start: int) -> bool:
    """"calls no f()", "without f()": the sentence claims f() is absent."""
    return bool(re.search(r"\b(no|without)\s+$", sent[:start], re.IGNORECASE))


def _files(sent: str) -> list[str]:
    return sorted({m.group(1) for m in FILE.finditer(sent)
                   if not m.group(1).startswith(("e.g", "i.e"))})


def _commit(tree: Tree, sent: str, cid: str, title: str | None, entry: dict | None) -> list[str]:
    if entry is None:
        return [f"commit {cid} is not in the campaign's [commits] table (title, release)"]
    out = []
    if title is not None and title != entry["title"]:
        out.append(f"commit {cid} is \"{entry['title']}\", not \"{title}\"")
    subject = tree.commit(cid)
    if subject is not None and subject != entry["title"]:
        out.append(f"this tree's {cid} is \"{subject}\", the table says \"{entry['title']}\"")
    release = entry.get("release", "")
    if subject is not None and release and tree.tag(release) and \
            not tree.is_ancestor(cid, f"refs/tags/{release}"):
        out.append(f"this tree's {release} does not contain {cid}")
    for verb, who in _did(sent):
        said = str(entry.get(f"{verb}_by", ""))
        if who.lower() not in said.lower():
            out.append(f"{cid} was {verb} by {said or 'nobody the table knows'}, "
                       f"not by {who}")
    if EVERY_LATER.search(sent) and entry.get("replaced_in"):
        out.append(f"{cid} was replaced in {entry['replaced_in']}: not every later tree "
                   "carries it")
    return out


def _did(sent: str) -> list[tuple[str, str]]:
    pairs = [(m.group(1).lower(), m.group(2).rstrip(".")) for m in DID.finditer(sent)]
    pairs += [(m.group(2).lower(), m.group(1)) for m in ROLE_DID.finditer(sent)]
    return pairs


def _releases(camp: Campaign, sent: str, version: tuple[int, ...]) -> list[str]:
    out = []
    for m in RELEASE.finditer(sent):
        major, minor, point = int(m.group(1)), int(m.group(2)), m.group(3)
        if major < 2 or major > 9:
            continue     # not a kernel release (a version of something else, a number)
        if not camp.release_exists(major, minor, point, version):
            out.append(f"release {m.group(0)} is not a release the campaign's [releases] "
                       "table knows")
    return out


def _quotes(tree: Tree, sent: str) -> list[str]:
    out = []
    for m in QUOTE.finditer(sent):
        text = m.group(1)
        if not CODE_HINT.search(text) or COMMIT.fullmatch(text):
            continue
        if _titled(sent, m.start()):
            continue    # a commit's title: checked against the table
        where = _files(sent) or tree.touched
        paths = [q for p in where for q in ([p] if "/" in p else tree.paths(p))]
        if not any(_found(tree, path, text) for path in paths):
            named = ", ".join(where) if _files(sent) else "any file the series touches"
            out.append(f"the quoted text is not in {named} of this tree")
    return out


def _titled(sent: str, start: int) -> bool:
    return bool(re.search(r"[0-9a-f]{12,40}\s*\($", sent[:start]))


def _found(tree: Tree, path: str, text: str) -> bool:
    want = _squash(text)
    for rev in (tree.base, tree.head):
        content = tree.read(rev, path)
        if content is not None and want in _squash(_uncomment(content)):
            return True
    return False


def _uncomment(code: str) -> str:
    """Comment leaders dropped, so a quote of a comment spanning lines is found."""
    return re.sub(r"(?m)^\s*(/\*+|\*+/?|//)", " ", code)


def _squash(text: str) -> str:
    return " ".join(text.split())


def comments(code: str) -> str:
    """The text of the C comments in `code` (the lines a series adds), as prose."""
    found = re.findall(r"/\*(.*?)\*/|//([^\n]*)", code, re.DOTALL)
    return "\n".join(_uncomment(a or b) for a, b in found)


def message_lines(mail: str) -> list[str]:
    """The lines a reader reads as the message of a mail: headers' Subject, the body up to
    the diff (the notes below `---` included), the diffstat and the patch excluded; a trailer
    or a line that is only a URL may be longer (kernel habit: never break a link)."""
    head, _, body = mail.partition("\n\n")
    folded = re.search(r"(?m)^Subject: (.*(?:\n .*)*)", head)
    subject = [re.sub(r"^\[[^]]*\] ", "", " ".join(folded.group(1).split()))] if folded else []
    text = body.split("\ndiff --git ", 1)[0]
    lines = []
    for line in subject + text.splitlines():
        if re.match(r"^\s*[\w./-]+\s+\|\s+\d+", line) or line.startswith("base-commit:"):
            continue     # diffstat, format-patch footer
        if re.match(r"^(Link|Closes|Fixes): |^\s*https?://\S+$", line):
            continue
        lines.append(line)
    return lines
