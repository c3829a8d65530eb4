"""The seed's scenario on real kernels: a KVM guest on device-DAX memory, then the DAX device
disabled (bot/boot/guest/kvm-dax.c), before and after the campaign's series.

- Linux 5.10.223 has upstream's fix (a78986aae9b2): base and patched both pass (the series must
  not break DAX-backed guests).
- Linux 4.20.1, the RFC's base: KVM never drops the references it takes on ZONE_DEVICE pages, so
  the base kernel's DAX device never goes away (the leak is named); patch 1 of the series alone
  (the campaign's fix, 01-zone-device) passes.

Each tree is applied and built once (base + patched, ccache); each kernel is booted once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import cli, defaults

pytestmark = pytest.mark.slow
CAMPAIGN = "kvm-refcounted-pfn"


def work_dir() -> Path:
    return defaults.cache_dir() / "test-build-work"


def apply_and_build(tree: Path, tag: str, out: Path, first_only: bool = False) -> dict:
    """The campaign on `tree` at `tag`, built; the base and patched bzImages.  first_only:
    "patched" is the first patch of the series alone, not the whole series."""
    assert cli.main(["apply", "--tree", str(tree), "--rev", tag, "--campaign", CAMPAIGN,
                     "--out", str(out / "run"), "--data-dir", str(out / "data")]) == 0
    report = json.loads((out / "run" / "report.json").read_text())
    rev = next(s["commit"] for s in report["steps"] if s["commit"]) if first_only \
        else report["head"]
    rc = cli.main(["build", "--tree", str(tree), "--rev", rev, "--base", tag,
                   "--out", str(out / "run" / "build"), "--work-dir", str(work_dir()),
                   "--data-dir", str(out / "data"), "--no-nfc"])
    build = json.loads((out / "run" / "build" / "build.json").read_text())
    assert rc == 0, build["reason"]
    return {"base": Path(build["builds"]["base"]["output_dir"]) / "bzImage",
            "patched": Path(build["kernel"]), "steps": report["steps"]}


def boot_dax(kernel: Path, out: Path) -> tuple[int, dict]:
    rc = cli.main(["boot", "--kernel", str(kernel), "--out", str(out), "--accel", "tcg",
                   "--dax"])
    return rc, json.loads((out / "boot.json").read_text())


@pytest.fixture(scope="module")
def kernels_5_10(kernel_repo, tmp_path_factory) -> dict:
    return apply_and_build(kernel_repo, "v5.10.223", tmp_path_factory.mktemp("dax-5.10"))


@pytest.fixture(scope="module")
def kernels_4_20(linux_4_20_repo, tmp_path_factory) -> dict:
    return apply_and_build(linux_4_20_repo, "v4.20.1", tmp_path_factory.mktemp("dax-4.20"),
                           first_only=True)


@pytest.mark.parametrize("which", ["base", "patched"])
def test_dax_guest_on_5_10_passes_before_and_after(kernels_5_10, which, tmp_path):
    rc, rec = boot_dax(kernels_5_10[which], tmp_path / "boot")
    assert (rc, rec["verdict"], rec["kvm_smoke"]) == (0, "pass", "pass"), rec["reason"]
    assert rec["dax"]["status"] == "pass", rec["dax"]["reason"]
    verdicts = (tmp_path / "boot" / "verdict.log").read_text()
    assert "/dev/dax0.0 gone" in verdicts or "gone after" in verdicts


def test_dax_guest_on_4_20_base_leaks_and_the_leak_is_named(kernels_4_20, tmp_path):
    rc, rec = boot_dax(kernels_4_20["base"], tmp_path / "boot")
    assert rec["verdict"] == "pass", rec["reason"]          # the kernel boots; DAX is what fails
    assert rc == 1 and rec["dax"]["status"] == "fail"
    assert rec["dax"]["reason"].startswith("page reference leak"), rec["dax"]["reason"]
    assert "a78986aae9b2" in rec["dax"]["reason"]


def test_dax_guest_on_4_20_with_patch_1_alone_passes(kernels_4_20, tmp_path):
    first = kernels_4_20["steps"][0]
    assert first["name"] == "01-zone-device" and first["commit"]   # the fix is patch 1
    rc, rec = boot_dax(kernels_4_20["patched"], tmp_path / "boot")
    assert (rc, rec["verdict"]) == (0, "pass"), rec["reason"]
    assert rec["dax"]["status"] == "pass", rec["dax"]["reason"]
