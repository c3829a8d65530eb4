// Held-out vendor shapes: the page reaches the mm primitive through a local that
// is assigned (not initialised) from pfn_to_page(), before or after the test, in
// the same branch or a nested one.  Each has a neighbour that must not match.

/* the local assigned inside the guarded branch: refcount */
static void vendor_get_assign(kvm_pfn_t pfn)
{
	struct page *page;

	if (!kvm_is_reserved_pfn(pfn)) {
		page = pfn_to_page(pfn);
		get_page(page);
	}
}

/* the same, one branch deeper: refcount */
static void vendor_get_nested(kvm_pfn_t pfn, bool pin)
{
	struct page *page;

	if (!kvm_is_reserved_pfn(pfn)) {
		if (pin) {
			page = pfn_to_page(pfn);
			get_page(page);
		}
	}
}

/* the local assigned before the test, used in the guarded branch: refcount */
static void vendor_put_before(kvm_pfn_t pfn)
{
	struct page *page = pfn_to_page(pfn);

	if (!kvm_is_reserved_pfn(pfn))
		put_page(page);
}

/* assigned before the test, then an early exit: refcount */
static void vendor_put_before_early(kvm_pfn_t pfn)
{
	struct page *page;

	page = pfn_to_page(pfn);
	if (kvm_is_reserved_pfn(pfn))
		return;
	put_page(page);
}

/* an early exit, then the local: refcount */
static void vendor_get_after_early(kvm_pfn_t pfn)
{
	struct page *page;

	if (kvm_is_reserved_pfn(pfn))
		return;
	page = pfn_to_page(pfn);
	get_page(page);
}

/* an early exit, then the local, then dirty: dirty-accessed */
static void vendor_dirty_after_early(kvm_pfn_t pfn)
{
	struct page *page;

	if (kvm_is_reserved_pfn(pfn))
		return;
	page = pfn_to_page(pfn);
	SetPageDirty(page);
}

/* neighbour: the local holds another pfn's page: unknown */
static void vendor_get_other(kvm_pfn_t pfn, kvm_pfn_t other)
{
	struct page *page;

	if (!kvm_is_reserved_pfn(pfn)) {
		page = pfn_to_page(other);
		get_page(page);
	}
}

/* neighbour: the local is reassigned before the primitive: unknown */
static void vendor_get_reassigned(kvm_pfn_t pfn, struct page *spare)
{
	struct page *page = pfn_to_page(pfn);

	page = spare;
	if (!kvm_is_reserved_pfn(pfn))
		get_page(page);
}

/* neighbour: the primitive is on the unguarded side of the test: unknown */
static void vendor_get_else(kvm_pfn_t pfn)
{
	struct page *page = pfn_to_page(pfn);

	if (!kvm_is_reserved_pfn(pfn))
		trace_kvm_pfn(pfn);
	else
		get_page(page);
}

/* neighbour: the local is taken but nothing is done with it: unknown */
static void vendor_peek(kvm_pfn_t pfn)
{
	struct page *page;

	if (!kvm_is_reserved_pfn(pfn)) {
		page = pfn_to_page(pfn);
		trace_kvm_page(page);
	}
}
