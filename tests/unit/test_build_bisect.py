"""Bisectability (bot/build/nfc.py Proof.bisect): every prefix of the series compiles, from the
states the proof compiles between steps; the first that does not is named with its patch, and
the queue's build check says it. The real thing: tests/slow/test_build_incremental.py."""

from __future__ import annotations

import json

from bot.build import nfc
from bot.post import outdir


def proof(broken: dict[int, str], objects: list[list[str]]) -> nfc.Proof:
    p = nfc.Proof.__new__(nfc.Proof)
    p.steps = [nfc.Step(f"{k}" * 40, "0" * 40, f"patch {k}", False, "", [f"f{k}.c"], objs)
               for k, objs in enumerate(objects, start=1)]
    p.broken = broken
    return p


def test_every_prefix_compiles():
    got = proof({}, [["a.o"], ["b.o"], ["c.o"]]).bisect()
    assert got["status"] == "pass" and got["first_broken"] is None
    assert [r["checked"] for r in got["patches"]] == [True, True, True]


def test_the_first_prefix_that_does_not_compile_is_named():
    got = proof({2: "the objects do not compile at 2222 (see make-02.log)"},
                [["a.o"], ["b.o"], ["c.o"]]).bisect()
    assert got["status"] == "fail"
    assert (got["first_broken"]["patch"], got["first_broken"]["subject"]) == (2, "patch 2")
    assert [r["compiles"] for r in got["patches"]] == [True, False, True]


def test_a_state_with_no_compiled_object_is_said_unchecked():
    got = proof({}, [[], [], ["c.o"]]).bisect()
    assert [r["checked"] for r in got["patches"]] == [False, True, True]   # 2's next has c.o
    assert got["patches"][0]["reason"] == "it touches no object this config compiles"


def test_the_build_check_says_the_series_is_not_bisectable(tmp_path):
    (tmp_path / "build").mkdir()
    first = {"patch": 1, "subject": "kvm: break the build", "commit": "1" * 40,
             "compiles": False, "checked": True, "reason": "does not compile"}
    (tmp_path / "build" / "build.json").write_text(json.dumps({
        "status": "FAIL", "new_warnings": [], "bisect": {"status": "fail", "first_broken": first,
                                                         "patches": [first]}}))
    check = next(c for c in outdir.checks(tmp_path, {}) if c["context"] == "build")
    assert check["state"] == "fail"
    assert "not bisectable: after patch 1 (kvm: break the build)" in check["description"]
