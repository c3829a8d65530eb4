// 4.20's arch/x86/kvm/mmu.c: the THP paths test !kvm_is_zone_device_pfn() on a
// line of their own, indented like the rest of their condition; the refcount
// check in mmu_spte_clear_track_bits() stays as it is.
static void mmu_spte_clear_track_bits(kvm_pfn_t pfn)
{
	WARN_ON(!kvm_is_reserved_pfn(pfn) && !page_count(pfn_to_page(pfn)));
}

static void transparent_hugepage_adjust(struct kvm_vcpu *vcpu, kvm_pfn_t pfn,
					int level)
{
	if (!is_error_noslot_pfn(pfn) && !kvm_is_reserved_pfn(pfn) &&
	    level == PT_PAGE_TABLE_LEVEL &&
	    PageTransCompoundMap(pfn_to_page(pfn))) {
		kvm_release_pfn_clean(pfn);
		kvm_get_pfn(pfn);
	}
}

static bool kvm_mmu_zap_collapsible_spte(struct kvm_mmu_page *sp, kvm_pfn_t pfn)
{
	if (sp->role.direct &&
		!kvm_is_reserved_pfn(pfn) &&
		PageTransCompoundMap(pfn_to_page(pfn)))
		return true;
	return false;
}
