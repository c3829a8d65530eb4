// 4.19-5.4 shapes: the compound-page test sits in the middle of an && chain,
// and the guarded body moves a reference from the tail page to the head.
static void transparent_hugepage_adjust(struct kvm_vcpu *vcpu, gfn_t *gfnp,
					kvm_pfn_t *pfnp, int *levelp)
{
	kvm_pfn_t pfn = *pfnp;
	gfn_t gfn = *gfnp;
	int level = *levelp;

	if (!is_error_noslot_pfn(pfn) && !kvm_is_reserved_pfn(pfn) &&
	    level == PT_PAGE_TABLE_LEVEL &&
	    PageTransCompoundMap(pfn_to_page(pfn)) &&
	    !mmu_gfn_lpage_is_disallowed(vcpu, gfn, PT_DIRECTORY_LEVEL)) {
		unsigned long mask;

		*levelp = level = PT_DIRECTORY_LEVEL;
		mask = KVM_PAGES_PER_HPAGE(level) - 1;
		if (pfn & mask) {
			kvm_release_pfn_clean(pfn);
			pfn &= ~mask;
			kvm_get_pfn(pfn);
			*pfnp = pfn;
		}
	}
}

static bool kvm_mmu_zap_collapsible_spte(struct kvm *kvm,
					 struct kvm_rmap_head *rmap_head)
{
	struct kvm_mmu_page *sp = page_header(0);
	kvm_pfn_t pfn = spte_to_pfn(0);

	if (sp->role.direct &&
		!kvm_is_reserved_pfn(pfn) &&
		PageTransCompoundMap(pfn_to_page(pfn))) {
		pte_list_remove(rmap_head, NULL);
		return true;
	}
	return false;
}

/* the compound test first, the predicate last */
static bool compound_first(kvm_pfn_t pfn, int level)
{
	if (PageTransCompoundMap(pfn_to_page(pfn)) && level == 1 &&
	    !kvm_is_reserved_pfn(pfn))
		return true;
	return false;
}
