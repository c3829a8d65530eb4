// A 5.4/5.10 kvm_main.c: the definition already excludes ZONE_DEVICE pages.
// Nothing to do here (the engine skips the step on such a tree anyway).
bool kvm_is_zone_device_pfn(kvm_pfn_t pfn)
{
	if (!pfn_valid(pfn) || WARN_ON_ONCE(!page_count(pfn_to_page(pfn))))
		return false;

	return is_zone_device_page(pfn_to_page(pfn));
}

bool kvm_is_reserved_pfn(kvm_pfn_t pfn)
{
	if (pfn_valid(pfn))
		return PageReserved(pfn_to_page(pfn)) &&
		       !kvm_is_zone_device_pfn(pfn);

	return true;
}
