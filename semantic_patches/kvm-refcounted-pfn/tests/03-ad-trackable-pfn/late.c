// A late 5.10 kvm_main.c: kvm_is_ad_tracked_pfn() exists with its own definition,
// so even a guard in the old shape is left alone (folding it in would change it).
bool kvm_is_reserved_pfn(kvm_pfn_t pfn)
{
	if (pfn_valid(pfn))
		return PageReserved(pfn_to_page(pfn)) &&
		       !kvm_is_zone_device_pfn(pfn);

	return true;
}

static bool kvm_is_ad_tracked_pfn(kvm_pfn_t pfn)
{
	if (!pfn_valid(pfn))
		return false;

	return !PageReserved(pfn_to_page(pfn));
}

void kvm_set_pfn_dirty(kvm_pfn_t pfn)
{
	if (kvm_is_ad_tracked_pfn(pfn))
		SetPageDirty(pfn_to_page(pfn));
}

static void vendor_mark_dirty(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(pfn))
		SetPageDirty(pfn_to_page(pfn));
}
