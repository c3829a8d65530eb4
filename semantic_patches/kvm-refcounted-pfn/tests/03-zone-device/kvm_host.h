void kvm_vcpu_kick(struct kvm_vcpu *vcpu);

bool kvm_is_reserved_pfn(kvm_pfn_t pfn);

static inline bool kvm_is_refcounted_pfn(kvm_pfn_t pfn)
{
	return !kvm_is_reserved_pfn(pfn);
}

struct kvm_irq_ack_notifier {
	int gsi;
};
