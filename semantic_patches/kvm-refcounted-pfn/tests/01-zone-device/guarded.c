// Uses that already keep ZONE_DEVICE pages out (a tree with the fix, or a second
// pass): nothing to add.
void kvm_set_pfn_dirty(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(pfn))
		SetPageDirty(pfn_to_page(pfn));
}

static bool zap_collapsible(struct kvm_mmu_page *sp, kvm_pfn_t pfn)
{
	if (sp->role.direct && !kvm_is_reserved_pfn(pfn) &&
	    !kvm_is_zone_device_pfn(pfn) &&
	    PageTransCompoundMap(pfn_to_page(pfn)))
		return true;
	return false;
}
