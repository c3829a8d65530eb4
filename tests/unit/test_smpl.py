"""SmPL tests: every step's semantic patch on small C inputs, compared with expected results.

semantic_patches/<campaign>/tests/<step file stem>/<input>.{c,h} is run through
that step with real spatch; <input>.res is what the file must look like
afterwards (identical to the input when the step must leave it alone).  The
classifier's verdicts are checked against tests/classes.json.  Regenerate the
expected files with COCCI_BOT_REGEN=1 — and read the diff before committing.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from bot.apply import cocci

ROOT = Path(__file__).resolve().parents[2] / "semantic_patches"
OPTIONS = ("--no-includes", "--include-headers")
REGEN = os.environ.get("COCCI_BOT_REGEN") == "1"


def cases() -> list[tuple[Path, Path]]:
    out = []
    for step_dir in sorted(ROOT.glob("*/tests/*")):
        sp_file = step_dir.parent.parent / f"{step_dir.name}.cocci"
        if not sp_file.is_file():
            continue
        for src in sorted(step_dir.iterdir()):
            if src.suffix in (".c", ".h"):
                out.append((sp_file, src))
    return out


def _git_tree(tmp_path: Path, src: Path) -> Path:
    """spatch --use-gitgrep wants a git work tree: one per case, holding just the input."""
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(src, tree / src.name)
    cocci.proc.run(["git", "init", "-q", str(tree)])
    cocci.proc.run(["git", "-C", str(tree), "add", "-A"])
    return tree


@pytest.mark.parametrize(("sp_file", "src"), cases(), ids=lambda v: f"{v.parent.name}/{v.name}")
def test_step_on_input(tmp_path: Path, sp_file: Path, src: Path):
    tree = _git_tree(tmp_path, src)
    run = cocci.run(sp_file, tree, "patch", OPTIONS, in_place=True, jobs=1)
    assert not run.file_problems, run.file_problems
    result = (tree / src.name).read_text()
    expected = src.with_suffix(src.suffix + ".res")
    if REGEN:
        expected.write_text(result)
    assert result == expected.read_text()


def test_cases_exist_for_every_step():
    steps = {p.stem for p in ROOT.glob("*/[0-9][0-9]-*.cocci")}
    covered = {sp.stem for sp, _ in cases()}
    assert steps and steps == covered


def test_every_shape_changes_something():
    """Guard against a step that silently stopped matching: some inputs must change."""
    changed = [src for _, src in cases()
               if src.with_suffix(src.suffix + ".res").read_text() != src.read_text()]
    assert len(changed) >= 4


def test_classifier_verdicts(tmp_path: Path):
    """classify.cocci -D report on the step-1 inputs: every use gets the expected class."""
    campaign = ROOT / "kvm-refcounted-pfn"
    tree = tmp_path / "tree"
    tree.mkdir()
    for src in (campaign / "tests" / "02-refcounted-pfn").glob("*.[ch]"):
        shutil.copy(src, tree / src.name)
    cocci.proc.run(["git", "init", "-q", str(tree)])
    cocci.proc.run(["git", "-C", str(tree), "add", "-A"])
    run = cocci.run(campaign / "classify.cocci", tree, "report", OPTIONS, jobs=1)
    got: dict[str, list[str]] = {}
    for rec in run.records:
        if rec["kind"] == "site":
            got.setdefault(f"{rec['file']}:{rec['function']}", []).append(rec["cls"])
    expected_file = campaign / "tests" / "classes.json"
    got = {k: sorted(v) for k, v in sorted(got.items())}
    if REGEN:
        expected_file.write_text(json.dumps(got, indent=2) + "\n")
    assert got == json.loads(expected_file.read_text())
