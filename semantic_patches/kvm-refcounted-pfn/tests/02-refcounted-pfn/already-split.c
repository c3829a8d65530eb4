// A tree the step already ran on: nothing changes (idempotence).
bool kvm_is_reserved_pfn(kvm_pfn_t pfn)
{
	if (pfn_valid(pfn))
		return PageReserved(pfn_to_page(pfn));
	return true;
}

bool kvm_is_refcounted_pfn(kvm_pfn_t pfn)
{
	return !kvm_is_reserved_pfn(pfn);
}

void kvm_get_pfn(kvm_pfn_t pfn)
{
	if (kvm_is_refcounted_pfn(pfn))
		get_page(pfn_to_page(pfn));
}
