// 5.15: the hugepage question asked through the mapping-level helper.
static bool kvm_mmu_zap_collapsible_spte(struct kvm *kvm,
					 struct kvm_rmap_head *rmap_head,
					 const struct kvm_memory_slot *slot)
{
	struct kvm_mmu_page *sp = sptep_to_sp(0);
	kvm_pfn_t pfn = spte_to_pfn(0);

	if (sp->role.direct && !kvm_is_reserved_pfn(pfn) &&
	    sp->role.level < kvm_mmu_max_mapping_level(kvm, slot, sp->gfn,
						       pfn, PG_LEVEL_NUM)) {
		pte_list_remove(kvm, rmap_head, NULL);
		return true;
	}
	return false;
}

static void zap_collapsible_spte_range(struct kvm *kvm,
				       const struct kvm_memory_slot *slot)
{
	struct tdp_iter iter;
	kvm_pfn_t pfn;

	for (;;) {
		pfn = spte_to_pfn(iter.old_spte);
		if (kvm_is_reserved_pfn(pfn) ||
		    iter.level >= kvm_mmu_max_mapping_level(kvm, slot, iter.gfn,
							    pfn, PG_LEVEL_NUM))
			continue;
		zap(kvm, &iter);
	}
}
