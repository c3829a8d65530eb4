// 4.20's kvm_main.c after the fix (step 1) and step 2: the guards the fix wrote
// get the name, including one inside a longer condition.
bool kvm_is_reserved_pfn(kvm_pfn_t pfn)
{
	if (pfn_valid(pfn))
		return PageReserved(pfn_to_page(pfn)) &&
		       !kvm_is_zone_device_pfn(pfn);

	return true;
}

void kvm_release_pfn_clean(kvm_pfn_t pfn)
{
	if (!is_error_noslot_pfn(pfn) && kvm_is_refcounted_pfn(pfn))
		put_page(pfn_to_page(pfn));
}

void kvm_set_pfn_dirty(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(pfn)) {
		struct page *page = pfn_to_page(pfn);

		if (!PageReserved(page))
			SetPageDirty(page);
	}
}

void kvm_set_pfn_accessed(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(pfn))
		mark_page_accessed(pfn_to_page(pfn));
}

static void vendor_mark_dirty_if(kvm_pfn_t pfn, bool dirty)
{
	if (dirty && !kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(pfn))
		SetPageDirty(pfn_to_page(pfn));
}

/* the test on another pfn is not the guard: left alone */
static void vendor_mark_other(kvm_pfn_t pfn, kvm_pfn_t other)
{
	if (!kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(other))
		SetPageDirty(pfn_to_page(pfn));
}
