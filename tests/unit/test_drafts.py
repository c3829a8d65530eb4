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
