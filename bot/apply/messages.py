"""Commit messages and the cover letter: the campaign's templates filled with this run's facts.

Every sentence a message says must hold for the tree it was generated on, so the
text comes from the manifest (templates) and every name, count and property in it
from the run (the classifier's tree facts, the per-site report, the step's diff).

Placeholders in a template:
  {NAME}              a phrase of the manifest's [[phrases.NAME]] cases: the first case
                      whose `when` (a list of facts, "!fact" negated) holds on this run
  {functions}         the functions this patch changes, "a(), b() and c()"
  {functions:CLASS}   those of them whose use is of class CLASS
  {uses:CLASS}        the base tree's functions with a use of class CLASS
  {count}             how many uses this patch changes

Facts a `when` can test: the classifier's tree facts (e.g. reserved_excludes_zone_device),
"class:CLASS" (the base tree has a use of that class), "changes:CLASS" (this patch
changes one), "changes:negated" / "changes:bare" (this patch changes a use written
"!pred(x)" / "pred(x)"), "ran:STEP" / "changed:STEP" (a step ran / committed, so far in the
run), "stable_tree" / "mainline_tree" (the tree's kind, bot/apply/framing.py).

The campaign's [[claims]] rules are checked here, with the facts the text was rendered with:
a sentence matching `says` holds only where every fact of `when` does; one that does not is
recorded (Facts.unproved) and fails the claim check (bot/apply/claims.py).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.apply.campaign import Campaign, Step
from bot.apply.claims import sentences
from bot.apply.identity import Identity
from bot.apply.report import Site
from bot.errors import UserError

_FIELD = re.compile(r"\{([A-Za-z_][\w-]*)(?::([\w-]+))?\}")
WRAP = 72


@dataclass
class Facts:
    """What a template may say about this run: tree facts and the sites in play."""
    tree: set[str] = field(default_factory=set)
    sites: list[Site] = field(default_factory=list)
    changed: list[Site] = field(default_factory=list)   # sites this patch changes
    steps: set[str] = field(default_factory=set)        # "ran:NAME", "changed:NAME"
    unproved: list[tuple[str, str, str]] = field(default_factory=list)  # (where, sentence, why)

    def holds(self, fact: str) -> bool:
        if fact.startswith("!"):
            return not self.holds(fact[1:])
        kind, _, value = fact.partition(":")
        if kind == "class":
            return any(s.cls == value for s in self.sites)
        if kind == "changes" and value in ("negated", "bare"):
            return any(s.expression.startswith("!") == (value == "negated")
                       for s in self.changed)
        if kind == "changes":
            return any(s.cls == value for s in self.changed)
        return fact in self.tree or fact in self.steps


def names(functions: Iterable[str]) -> str:
    """["a", "b", "c"] -> "a(), b() and c()" (each once, in order)."""
    unique = [f"{f}()" for f in dict.fromkeys(functions) if f]
    if len(unique) < 2:
        return "".join(unique)
    return ", ".join(unique[:-1]) + " and " + unique[-1]


def render(camp: Campaign, template: str, facts: Facts, where: str) -> str:
    """Fill a template; an unknown placeholder is the manifest author's error."""
    def field_value(match: re.Match) -> str:
        name, arg = match.group(1), match.group(2)
        if name == "functions":
            return names(s.function for s in facts.changed if arg is None or s.cls == arg)
        if name == "uses" and arg:
            return names(s.function for s in facts.sites if s.cls == arg)
        if name == "count" and arg is None:
            return str(len(facts.changed))
        if name in camp.phrases and arg is None:
            return render(camp, _phrase(camp, name, facts), facts, f"phrase {name!r}")
        raise UserError(f"{camp.root / 'manifest.toml'}: {where} uses {{{match.group(0)[1:-1]}}}, "
                        "which is not a phrase or a run value: define [[phrases."
                        f"{name}]] or use functions, functions:CLASS, uses:CLASS, count")
    return _FIELD.sub(field_value, template)


def prove(camp: Campaign, text: str, facts: Facts, where: str) -> str:
    """Record the sentences of `text` a [[claims]] rule says do not hold on these facts."""
    for sent in sentences(text):
        for rule in camp.claims:
            if re.search(rule["says"], sent) and not all(facts.holds(f) for f in rule["when"]):
                why = rule.get("why") or f"holds only where {' and '.join(rule['when'])}"
                facts.unproved.append((where, sent, why))
    return text


def _phrase(camp: Campaign, name: str, facts: Facts) -> str:
    for case in camp.phrases[name]:
        if all(facts.holds(f) for f in case.get("when", [])):
            return str(case.get("text", ""))
    return ""


def wrap(text: str) -> str:
    """Re-wrap prose paragraphs at 72 columns; keep lines that look like code or lists,
    re-wrapping each "- " list item on its own with a hanging indent."""
    out = []
    for para in text.strip().split("\n\n"):
        lines = para.splitlines()
        if lines and all(line.startswith(("- ", "  ")) for line in lines) and lines[0][:2] == "- ":
            out.append(_wrap_list(lines))
        elif any(line.startswith(("  ", "\t", "-", "*")) for line in lines):
            out.append(para)
        else:
            out.append(textwrap.fill(" ".join(lines), WRAP, break_on_hyphens=False,
                                     break_long_words=False))
    return "\n\n".join(p for p in out if p.strip())


def _wrap_list(lines: list[str]) -> str:
    items: list[str] = []
    for line in lines:
        if line.startswith("- "):
            items.append(line[2:].strip())
        else:
            items[-1] += " " + line.strip()
    return "\n".join(textwrap.fill(item, WRAP, initial_indent="- ", subsequent_indent="  ",
                                   break_on_hyphens=False, break_long_words=False)
                     for item in items)


def changed_block(changed: list[Site]) -> str:
    """The uses a patch changes, one per line: what the truth test checks against the diff."""
    rows = sorted({f"  {s.function}() ({s.cls}, {s.file})" for s in changed if s.function})
    return ("Changed uses:\n" + "\n".join(rows)) if rows else ""


def commit_message(camp: Campaign, step: Step, facts: Facts, ident: Identity,
                   subject: str, trailers: list[str], upstream: str = "") -> str:
    """A step's commit: subject, the stable convention's upstream line where the step redoes
    an upstream commit, the body, how it differs from upstream, the uses it changes, then
    the kernel trailers and the sign-off."""
    where = f"step {step.name!r} message"
    body = prove(camp, wrap(render(camp, step.message, facts, where)), facts, step.label)
    if step.differs and upstream:
        body += "\n\n" + prove(camp, wrap(render(camp, step.differs, facts, where)), facts,
                                step.label)
    block = changed_block(facts.changed)
    if block:
        body += "\n\n" + block
    head = f"{upstream}\n\n" if upstream else ""
    if ident.signs:     # the bot signs nothing: the approving maintainer does, in the drafts
        trailers = [*trailers, f"Signed-off-by: {ident}"]
    return f"{subject}\n\n{head}{body}\n\n" + "\n".join(trailers) + "\n"


def skip_reason(camp: Campaign, step: Step, facts: Facts) -> str:
    return wrap(render(camp, step.skip_reason, facts, f"step {step.name!r} skip_reason"))


def unchanged_reason(camp: Campaign, step: Step, facts: Facts) -> str:
    if not step.unchanged_reason:
        return "its semantic patch changed nothing on this tree"
    return wrap(render(camp, step.unchanged_reason, facts, f"step {step.name!r} unchanged_reason"))


def cover_blurb(camp: Campaign, doc: dict, facts: Facts, tool: str,
                frame_note: str = "") -> str:
    """The cover letter: what the series is on this tree (frame_note), the campaign's text,
    then what each step did on this tree; the campaign's Link once."""
    lines = [frame_note] if frame_note else []
    lines.append(prove(camp, wrap(render(camp, camp.cover, facts, "cover")), facts, "cover"))
    lines.append("On this tree:\n" + _wrap_list(_step_lines(doc)))
    for step in doc["steps"]:
        if step.get("skipped"):
            lines.append(f"{step['name']} is skipped here:\n{step['skipped']}")
        elif not step.get("commit") and step.get("unchanged"):
            lines.append(f"{step['name']} changed nothing here:\n{step['unchanged']}")
    if camp.link:
        lines.append(f"Link: {camp.link}")
    lines.append(tool)
    return "\n\n".join(lines)


def _step_lines(doc: dict) -> list[str]:
    out = []
    for step in doc["steps"]:
        if step.get("commit"):
            uses = [s for s in doc["sites"] if step["name"] in s.get("changed_by", [])]
            what = f"{len(uses)} use{'s' if len(uses) != 1 else ''} in " \
                   f"{len(step['files'])} file{'s' if len(step['files']) != 1 else ''}"
            out.append(f"- {step['name']}: {step['subject']} ({what})")
        elif step.get("skipped"):
            out.append(f"- {step['name']}: skipped (reason below)")
        else:
            out.append(f"- {step['name']}: no change (reason below)")
    return out
