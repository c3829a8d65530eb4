"""The NFC comparator on small C files compiled by the real gcc: layout moves are not changes,
changed conditions, strings and tables are."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.build import nfc

BASE = r"""
extern int ext(int);
extern void warn(const char *);
static int tab[4] = {1, 2, 3, 4};
__attribute__((noinline)) static int helper(int x) { return tab[x & 3] + ext(x); }
int check(int x)
{
	if (x > 100) {
		warn("too big");
		return helper(x) * 2;
	}
	return helper(x + 1);
}
"""


def compile_c(tmp: Path, name: str, text: str) -> Path:
    (tmp / f"{name}.c").write_text(text)
    subprocess.run(["gcc", "-O2", "-c", "-o", str(tmp / f"{name}.o"), str(tmp / f"{name}.c")],
                   check=True, timeout=60)
    return tmp / f"{name}.o"


def statuses(tmp: Path, after: str) -> dict[str, str]:
    rows = nfc.compare_object(compile_c(tmp, "before", BASE), compile_c(tmp, "after", after),
                              "x.o")
    return {r["function"]: r["status"] for r in rows}


def test_equivalent_rewrite_and_layout_shift_are_identical(tmp_path: Path):
    # an inline helper returning the negation, a new unused static inline, and a function
    # added before (moves every address) change nothing the code does
    after = BASE.replace("if (x > 100) {", "if (!small(x)) {").replace(
        "int check(int x)", "static inline int small(int x) { return x <= 100; }\n"
        "int first(void) { return ext(0) + 17; }\nint check(int x)")
    got = statuses(tmp_path, after)
    assert got["check"] == "identical" and got["helper"] == "identical"
    assert got["tab"] == "identical"
    assert got["first"] == "added"


def test_altered_condition_names_the_function(tmp_path: Path):
    rows = nfc.compare_object(compile_c(tmp_path, "before", BASE),
                              compile_c(tmp_path, "after", BASE.replace("x > 100", "x >= 100")),
                              "x.o")
    changed = [r for r in rows if r["status"] != "identical"]
    assert [r["function"] for r in changed] == ["check"]
    assert any("$0x64" in d or "$0x63" in d for d in changed[0]["diff"])


@pytest.mark.parametrize("edit", [("too big", "too large"), ("{1, 2, 3, 4}", "{1, 2, 3, 5}")])
def test_string_and_table_changes_are_seen(tmp_path: Path, edit: tuple[str, str]):
    got = statuses(tmp_path, BASE.replace(*edit))
    assert set(got.values()) != {"identical"}, got


def test_verdicts(tmp_path: Path):
    step = nfc.Step("a" * 40, "b" * 40, "subject", True, "message", ["x.c"], ["x.o"])
    same = [{"object": "x.o", "function": "f", "kind": "function", "status": "identical",
             "diff": []}]
    diff = [{**same[0], "status": "different"}]
    assert nfc.step_verdict(step, same, [])["verdict"] == "pass"
    failed = nfc.step_verdict(step, diff, [])
    assert failed["verdict"] == "fail" and "f (different, x.o)" in failed["reason"]
    step.claims = False
    assert nfc.step_verdict(step, diff, [])["verdict"] == "not-claimed"


def test_claim_from_manifest_overrides_message(tmp_path: Path):
    manifest = tmp_path / "manifest.toml"
    manifest.write_text('[[step]]\nsubject = "A"\nnfc = true\n[[step]]\nsubject = "B"\n')
    assert nfc.manifest_claims(manifest) == {"A": True}
    assert nfc.CLAIM.search("Foo.\n\nNo functional change intended.")
