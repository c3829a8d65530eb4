// 5.19: the pfn is a structure member, not an identifier.
void kvm_mmu_hugepage_adjust(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	struct kvm_memory_slot *slot = fault->slot;

	if (unlikely(fault->max_level == PG_LEVEL_4K))
		return;

	if (is_error_noslot_pfn(fault->pfn) || kvm_is_reserved_pfn(fault->pfn))
		return;

	if (kvm_slot_dirty_track_enabled(slot))
		return;

	fault->req_level = kvm_mmu_max_mapping_level(vcpu->kvm, slot, fault->gfn,
						     fault->pfn, fault->max_level);
}

static void fault_release(struct kvm_page_fault *fault)
{
	if (!kvm_is_reserved_pfn(fault->pfn))
		put_page(pfn_to_page(fault->pfn));
}
