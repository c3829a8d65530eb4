from bot.drafts import maintainers

OUTPUT = """Paolo Bonzini <pbonzini@redhat.com> (supporter:KERNEL VIRTUAL MACHINE FOR X86 (KVM/x86))
Sean Christopherson <seanjc@google.com> (reviewer:KERNEL VIRTUAL MACHINE FOR X86 (KVM/x86))
Thomas Gleixner <tglx@linutronix.de> (maintainer:X86 ARCHITECTURE (32-BIT AND 64-BIT))
x86@kernel.org (maintainer:X86 ARCHITECTURE (32-BIT AND 64-BIT))
kvm@vger.kernel.org (open list:KERNEL VIRTUAL MACHINE FOR X86 (KVM/x86))
Paolo Bonzini <pbonzini@redhat.com> (maintainer:KERNEL VIRTUAL MACHINE (KVM))
"""


def test_maintainers_and_supporters_to_the_rest_cc_once_each():
    to, cc = maintainers.parse(OUTPUT)
    assert to == ["Paolo Bonzini <pbonzini@redhat.com>", "Thomas Gleixner <tglx@linutronix.de>",
                  "x86@kernel.org"]
    assert cc == ["Sean Christopherson <seanjc@google.com>", "kvm@vger.kernel.org"]


def test_what_was_tested_says_only_the_checks_that_ran(tmp_path):
    import json

    from bot.drafts import tested

    assert tested.summary(tmp_path) == ""       # nothing ran: nothing claimed
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "build.json").write_text(json.dumps({
        "status": "PASS", "toolchain": "gcc (Debian 12.2.0-14) 12.2.0",
        "fragment": "/x/semantic_patches/kvm-refcounted-pfn/kernel.config",
        "new_warnings": [], "nfc": {"status": "fail", "steps": [
            {"claims": False, "verdict": "not-claimed", "reason": "a fix"},
            {"claims": True, "verdict": "fail", "reason": "generated code changed: f"}]}}))
    text = tested.summary(tmp_path)
    assert "- build: PASS, gcc (Debian 12.2.0-14) 12.2.0, x86_64 defconfig plus" in text
    assert "new warnings: 0" in text and "boot" not in text and "DAX" not in text
    assert "no functional change, patch 2: FAIL: generated code changed: f" in text
    assert "patch 1" not in text         # a fix claims nothing to prove
    (tmp_path / "boot").mkdir()
    (tmp_path / "boot" / "boot.json").write_text(json.dumps({
        "status": "PASS", "accel": "kvm", "kvm_smoke": "pass",
        "dax": {"status": "pass", "reason": ""}}))
    text = tested.summary(tmp_path)
    assert "boot of the patched kernel: PASS under QEMU (kvm); in-guest KVM check:\n  PASS" in text
    assert "DAX check, patched kernel: PASS" in text and "base kernel" not in text
    assert all(len(line) <= 75 for line in text.splitlines())
