"""Attribution (bot/boot/attribution.py): a failed check of the patched kernel is run on the
base kernel; the same failure there does not block the series, a base that passes does. The
boot flow is driven with a QEMU shim that fails the runs we choose (the real thing, with real
kernels, is tests/slow/test_attribution.py)."""

from __future__ import annotations

import json

from test_boot_units import CHANNEL_OK, fake_qemu

from bot import cli
from bot.boot import attribution
from bot.post import outdir

SMOKE_FAILS = CHANNEL_OK.replace("kvm_smoke=pass", "kvm_smoke=fail KVM_CREATE_VM: EINVAL")
PASSED = {"verdict": "pass", "reason": "booted", "bad_lines": [], "kvm_smoke": "pass",
          "dax": {"status": "pass"}}
OOPS = {**PASSED, "verdict": "fail", "bad_lines": ["WARNING: CPU: 0 PID: 1 at kvm_main.c"]}


def test_results_and_attribute_say_whose_fault_each_check_is():
    assert attribution.failed(PASSED) == []
    dax = {**PASSED, "dax": {"status": "fail", "reason": "leak"}}
    assert attribution.failed(OOPS) == ["oops"] and attribution.failed(dax) == ["dax"]
    hung = {**PASSED, "verdict": "fail", "reason": "deadline of 300 s hit: the guest hung",
            "kvm_smoke": "fail"}
    assert attribution.failed(hung) == ["boot", "kvm_smoke"]
    att = attribution.attribute(OOPS, OOPS)
    assert att["checks"]["oops"]["cause"] == "base" and not att["caused_by_series"]
    assert att["summary"] == "oops fails on base too: not caused by the series"
    att = attribution.attribute(OOPS, PASSED)
    assert att["caused_by_series"]
    assert att["checks"]["oops"]["says"] == "passes on base, fails patched: caused by the series"
    att = attribution.attribute(OOPS, {"verdict": "infra-error", "reason": "QEMU died"})
    assert att["checks"]["oops"]["cause"] == "unknown" and att["caused_by_series"]
    assert attribution.cover_text({"attribution": att}).endswith(
        "- oops: the base kernel could not be checked: counted against the series")
    assert attribution.cover_text({}) == ""


def boot(tmp_path, shim_path, channels):
    count = fake_qemu(shim_path, tmp_path, channels)
    patched, base = tmp_path / "bzImage", tmp_path / "base-bzImage"
    patched.write_bytes(b"patched")
    base.write_bytes(b"base")
    out = tmp_path / "boot"
    rc = cli.main(["boot", "--kernel", str(patched), "--base-kernel", str(base), "--out",
                   str(out), "--accel", "kvm", "--no-dax"])
    return rc, json.loads((out / "boot.json").read_text()), count.read_text()


def test_a_failure_the_base_has_too_does_not_block_the_series(tmp_path, shim_path):
    rc, rec, runs = boot(tmp_path, shim_path, [SMOKE_FAILS, SMOKE_FAILS])
    assert runs == "2" and rc == 0
    assert (rec["verdict"], rec["status"]) == ("fail", "PASS")
    assert rec["attribution"]["checks"]["kvm_smoke"]["cause"] == "base"
    assert "not caused by the series" in rec["reason"]
    assert json.loads((tmp_path / "boot" / "base" / "boot.json").read_text())["verdict"] == "fail"
    checks = {c["context"]: c for c in outdir.checks(tmp_path, {})}
    assert checks["kvm-smoke"]["state"] == "warning"
    assert checks["kvm-smoke"]["description"].startswith("fails on base too")


def test_a_failure_only_the_patched_kernel_has_blocks_the_series(tmp_path, shim_path):
    rc, rec, runs = boot(tmp_path, shim_path, [SMOKE_FAILS, CHANNEL_OK])
    assert runs == "2" and rc == 1
    assert (rec["verdict"], rec["status"]) == ("fail", "FAIL")
    assert rec["attribution"]["checks"]["kvm_smoke"]["cause"] == "series"
    checks = {c["context"]: c for c in outdir.checks(tmp_path, {})}
    assert checks["kvm-smoke"]["state"] == "fail"
    assert checks["kvm-smoke"]["description"].startswith("passes on base, fails patched")


def test_a_passing_kernel_boots_once(tmp_path, shim_path):
    rc, rec, runs = boot(tmp_path, shim_path, [CHANNEL_OK])
    assert (rc, runs, rec["retries"]) == (0, "1", 0) and "attribution" not in rec


def test_each_boot_is_counted_in_the_hosts_check_history(tmp_path, shim_path, capsys):
    from bot.boot import history

    data = tmp_path / "data"
    count = fake_qemu(shim_path, tmp_path, [SMOKE_FAILS, CHANNEL_OK])
    kernel, base = tmp_path / "bzImage", tmp_path / "base-bzImage"
    kernel.write_bytes(b"patched")
    base.write_bytes(b"base")
    assert cli.main(["boot", "--kernel", str(kernel), "--base-kernel", str(base), "--out",
                     str(tmp_path / "boot"), "--accel", "kvm", "--no-dax",
                     "--data-dir", str(data)]) == 1
    assert count.read_text() == "2"
    rows = history.summary(data)
    assert rows["kvm_smoke"] == {"runs": 2, "passes": 1, "fails": 1, "stalls": 0, "retries": 0}
    rec = json.loads((tmp_path / "boot" / "boot.json").read_text())
    assert rec["history"] == rows
    checks = {c["context"]: c for c in outdir.checks(tmp_path, {})}
    assert "this host's last boots: kvm_smoke 1/2 passed" in checks["kvm-smoke"]["description"]
    (data / history.FILE).open("a").write('{"torn\n')          # a crash mid-line is skipped
    assert cli.main(["status", "--data-dir", str(data)]) == 0
    assert "checks on this host (last 50 boots): boot 2/2 passed" in capsys.readouterr().out


DAX_LEAK = CHANNEL_OK.replace("cocci-bot: dax=pass", "cocci-bot: dax=fail page reference leak: "
                              "dax0.0 did not go away")


def boot_fix_first(tmp_path, shim_path, channels):
    count = fake_qemu(shim_path, tmp_path, channels)
    patched, fix = tmp_path / "bzImage", tmp_path / "fix-bzImage"
    patched.write_bytes(b"patched")
    fix.write_bytes(b"fix")
    out = tmp_path / "boot"
    rc = cli.main(["boot", "--kernel", str(patched), "--fix-kernel", str(fix), "--out", str(out),
                   "--accel", "kvm", "--data-dir", str(tmp_path / "data")])
    return rc, json.loads((out / "boot.json").read_text()), count.read_text()


def test_a_fix_first_series_boots_patch_1_alone_with_the_dax_check(tmp_path, shim_path):
    rc, rec, runs = boot_fix_first(tmp_path, shim_path, [CHANNEL_OK, CHANNEL_OK])
    assert (rc, runs) == (0, "2")
    assert rec["fix_first"]["status"] == "PASS" and rec["fix_first"]["dax"]["status"] == "pass"
    assert (tmp_path / "boot" / "fix-first" / "boot.json").is_file()
    check = next(c for c in outdir.checks(tmp_path, {}) if c["context"] == "fix-first")
    assert check["state"] == "success" and "patch 1 alone" in check["description"]


def test_a_fix_that_fails_the_dax_check_alone_fails_the_series(tmp_path, shim_path):
    rc, rec, runs = boot_fix_first(tmp_path, shim_path, [CHANNEL_OK, DAX_LEAK])
    assert (rc, runs, rec["verdict"], rec["status"]) == (1, "2", "pass", "FAIL")
    assert "patch 1 alone (the fix): boot pass, dax fail: page reference leak" in rec["reason"]
    check = next(c for c in outdir.checks(tmp_path, {}) if c["context"] == "fix-first")
    assert check["state"] == "fail"


def test_the_first_step_of_a_fix_first_series_is_found_by_its_manifest_kind(tmp_path):
    import subprocess
    from types import SimpleNamespace

    from bot.build import nfc
    from bot.build import run as build_run

    repo = tmp_path / "tree"
    repo.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], check=True, text=True,
                              capture_output=True).stdout.strip()

    git("init", "-q")
    for name in ("base", "fix", "cleanup"):
        (repo / f"{name}.c").write_text(name)
        git("add", ".")
        git("commit", "-qm", f"{name}: subject\n\nGenerated by: x/0-{name}.cocci")
    manifest = tmp_path / "manifest.toml"
    manifest.write_text('[[step]]\nsubject = "other"\ncocci = "0-fix.cocci"\nkind = "fix"\n'
                        '[[step]]\nsubject = "cleanup: subject"\nkind = "cleanup"\n')
    steps = nfc.series_steps(repo, git("rev-parse", "HEAD~2"), git("rev-parse", "HEAD"),
                             manifest)
    assert [s.kind for s in steps] == ["fix", "cleanup"]
    assert build_run.first_fix(SimpleNamespace(proof=SimpleNamespace(steps=steps))) is steps[0]
    assert build_run.first_fix(SimpleNamespace(proof=SimpleNamespace(steps=steps[:1]))) is None
    assert build_run.first_fix(SimpleNamespace(proof=SimpleNamespace(steps=steps[::-1]))) is None
