// Another file: no definition here, only users.
static int mmu_spte_clear_track_bits(u64 *sptep)
{
	kvm_pfn_t pfn = spte_to_pfn(*sptep);

	/* a page_count() sanity check: refcount */
	WARN_ON(!kvm_is_reserved_pfn(pfn) && !page_count(pfn_to_page(pfn)));
	return 1;
}

/* "map at 4K" when reserved: hugepage */
int kvm_mmu_hugepage_adjust(struct kvm_vcpu *vcpu, gfn_t gfn, int max_level, kvm_pfn_t *pfnp)
{
	kvm_pfn_t pfn = *pfnp;

	if (is_error_noslot_pfn(pfn) || kvm_is_reserved_pfn(pfn))
		return PG_LEVEL_4K;

	return max_level;
}

/* compound-page test in the same condition: hugepage */
static bool kvm_mmu_zap_collapsible_spte(struct kvm *kvm, struct kvm_rmap_head *rmap_head)
{
	struct kvm_mmu_page *sp = NULL;
	kvm_pfn_t pfn = 0;

	if (sp->role.direct && !kvm_is_reserved_pfn(pfn) &&
	    (kvm_is_zone_device_pfn(pfn) ||
	     PageCompound(pfn_to_page(pfn)))) {
		pte_list_remove(rmap_head, NULL);
		return true;
	}
	return false;
}

static void zap_collapsible_spte_range(struct kvm *kvm, kvm_pfn_t pfn)
{
	for (;;) {
		if (kvm_is_reserved_pfn(pfn) ||
		    (!PageCompound(pfn_to_page(pfn)) &&
		     !kvm_is_zone_device_pfn(pfn)))
			continue;
		zap(kvm, pfn);
	}
}

/* an older tree's transparent_hugepage_adjust(): hugepage */
static void transparent_hugepage_adjust(struct kvm_vcpu *vcpu, kvm_pfn_t pfn, int level)
{
	if (!is_error_noslot_pfn(pfn) && !kvm_is_reserved_pfn(pfn) &&
	    level == PT_PAGE_TABLE_LEVEL &&
	    PageTransCompoundMap(pfn_to_page(pfn)))
		adjust(vcpu, pfn);
}
