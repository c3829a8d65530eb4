// One-line wrappers are uses, not the predicate's definition: their
// surroundings do not say which question they ask.
static bool vendor_pfn_is_ram(kvm_pfn_t pfn)
{
	return !kvm_is_reserved_pfn(pfn);
}

bool vendor_pfn_is_mmio(kvm_pfn_t pfn)
{
	return kvm_is_reserved_pfn(pfn);
}
