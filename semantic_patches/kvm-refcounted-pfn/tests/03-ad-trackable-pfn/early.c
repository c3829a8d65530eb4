// An early 5.10 kvm_main.c after step 2: the dirty/accessed guards get a name.
bool kvm_is_reserved_pfn(kvm_pfn_t pfn)
{
	if (pfn_valid(pfn))
		return PageReserved(pfn_to_page(pfn)) &&
		       !kvm_is_zone_device_pfn(pfn);

	return true;
}

bool kvm_is_refcounted_pfn(kvm_pfn_t pfn)
{
	return !kvm_is_reserved_pfn(pfn);
}

bool kvm_is_transparent_hugepage(kvm_pfn_t pfn)
{
	return PageTransCompoundMap(pfn_to_page(pfn));
}

void kvm_set_pfn_dirty(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(pfn))
		SetPageDirty(pfn_to_page(pfn));
}

void kvm_set_pfn_accessed(kvm_pfn_t pfn)
{
	if (!kvm_is_zone_device_pfn(pfn) && !kvm_is_reserved_pfn(pfn))
		mark_page_accessed(pfn_to_page(pfn));
}

/* a vendor's early return in the same shape: converted too */
static void vendor_mark_dirty(kvm_pfn_t pfn)
{
	if (kvm_is_reserved_pfn(pfn) || kvm_is_zone_device_pfn(pfn))
		return;
	SetPageDirty(pfn_to_page(pfn));
}

/* a guard without the ZONE_DEVICE half is a different predicate: left alone */
static void vendor_mark_accessed(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn))
		mark_page_accessed(pfn_to_page(pfn));
}

void kvm_get_pfn(kvm_pfn_t pfn)
{
	if (kvm_is_refcounted_pfn(pfn))
		get_page(pfn_to_page(pfn));
}
