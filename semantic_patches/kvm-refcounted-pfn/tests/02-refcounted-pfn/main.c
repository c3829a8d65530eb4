// The defining file: the new helper lands right after kvm_is_reserved_pfn().
bool kvm_is_reserved_pfn(kvm_pfn_t pfn)
{
	if (pfn_valid(pfn))
		return PageReserved(pfn_to_page(pfn)) &&
		       !is_zero_pfn(pfn) &&
		       !kvm_is_zone_device_pfn(pfn);

	return true;
}

bool kvm_is_transparent_hugepage(kvm_pfn_t pfn)
{
	return PageTransCompoundMap(pfn_to_page(pfn));
}

/* guard around put_page(): refcount */
void kvm_release_pfn_clean(kvm_pfn_t pfn)
{
	if (!is_error_noslot_pfn(pfn) && !kvm_is_reserved_pfn(pfn))
		put_page(pfn_to_page(pfn));
}

/* guard around get_page(): refcount */
void kvm_get_pfn(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn))
		get_page(pfn_to_page(pfn));
}

/* early return, then get_page_unless_zero(): refcount */
static int kvm_try_get_pfn(kvm_pfn_t pfn)
{
	if (kvm_is_reserved_pfn(pfn))
		return 1;
	return get_page_unless_zero(pfn_to_page(pfn));
}

/* early return, then the struct page is handed out: refcount */
static struct page *kvm_pfn_to_page(kvm_pfn_t pfn)
{
	if (is_error_noslot_pfn(pfn))
		return KVM_ERR_PTR_BAD_PAGE;

	if (kvm_is_reserved_pfn(pfn)) {
		WARN_ON(1);
		return KVM_ERR_PTR_BAD_PAGE;
	}

	return pfn_to_page(pfn);
}

/* a vendor's early return before put_page() in a braced block: refcount */
static void vendor_put_pfn(kvm_pfn_t pfn)
{
	if (kvm_is_reserved_pfn(pfn)) {
		trace_vendor(pfn);
		return;
	}
	vendor_account(pfn);
	put_page(pfn_to_page(pfn));
}

/* dirty/accessed guards are step 2's business: untouched here */
void kvm_set_pfn_dirty(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(pfn))
		SetPageDirty(pfn_to_page(pfn));
}

void kvm_set_pfn_accessed(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(pfn))
		mark_page_accessed(pfn_to_page(pfn));
}

/* both questions at once: unknown, untouched */
static void vendor_release_dirty(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn)) {
		SetPageDirty(pfn_to_page(pfn));
		put_page(pfn_to_page(pfn));
	}
}

/* the answer escapes into a variable: unknown, untouched */
static bool vendor_remember(kvm_pfn_t pfn)
{
	bool reserved = kvm_is_reserved_pfn(pfn);

	vendor_log(reserved);
	return reserved;
}

/* early return with nothing page-related after it: unknown, untouched */
static void vendor_trace_only(kvm_pfn_t pfn)
{
	if (kvm_is_reserved_pfn(pfn))
		return;
	trace_vendor(pfn);
}
