// The RFC's base after steps 1 and 2: kvm_is_reserved_pfn() still counts
// ZONE_DEVICE pages as reserved.
bool kvm_is_reserved_pfn(kvm_pfn_t pfn)
{
	if (pfn_valid(pfn))
		return PageReserved(pfn_to_page(pfn));

	return true;
}

static __always_inline bool kvm_pfn_ad_trackable(kvm_pfn_t pfn)
{
	return !kvm_is_reserved_pfn(pfn);
}

void kvm_release_pfn_clean(kvm_pfn_t pfn)
{
	if (!is_error_noslot_pfn(pfn) && kvm_is_refcounted_pfn(pfn))
		put_page(pfn_to_page(pfn));
}

void kvm_set_pfn_accessed(kvm_pfn_t pfn)
{
	if (kvm_pfn_ad_trackable(pfn))
		mark_page_accessed(pfn_to_page(pfn));
}
