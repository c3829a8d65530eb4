// Not the file that defines kvm_is_reserved_pfn(): the helper is a static inline
// in the header, so the guard here is converted as well.
static void vendor_mark_dirty(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(pfn))
		SetPageDirty(pfn_to_page(pfn));
}
