// The page reaches the mm primitive through a local variable.

/* 4.19/4.20 kvm_set_pfn_dirty(): nested, with its own PageReserved() test */
void kvm_set_pfn_dirty(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn)) {
		struct page *page = pfn_to_page(pfn);

		if (!PageReserved(page))
			SetPageDirty(page);
	}
}

/* 5.4 form: the local, then the primitive */
void kvm_set_pfn_dirty_54(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn)) {
		struct page *page = pfn_to_page(pfn);

		SetPageDirty(page);
	}
}

/* a local page that is then released: refcount */
void vendor_put_local(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn)) {
		struct page *page = pfn_to_page(pfn);

		put_page(page);
	}
}
