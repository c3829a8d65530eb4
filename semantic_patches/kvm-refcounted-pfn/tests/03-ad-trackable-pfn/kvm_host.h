// 4.20's kvm_host.h after steps 1 and 2: the helper follows the declarations.
void kvm_vcpu_kick(struct kvm_vcpu *vcpu);

bool kvm_is_reserved_pfn(kvm_pfn_t pfn);
bool kvm_is_zone_device_pfn(kvm_pfn_t pfn);

static __always_inline bool kvm_is_refcounted_pfn(kvm_pfn_t pfn)
{
	return !kvm_is_reserved_pfn(pfn);
}

struct kvm_irq_ack_notifier {
	int gsi;
};
