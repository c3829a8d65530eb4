// Uses on another architecture, in a file that does not define the predicate:
// the class decides, not the function's name or file.
static void booke_release_dirty(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn))
		SetPageDirty(pfn_to_page(pfn));
}

// an early exit before the dirty/accessed primitive: the positive test grows
static void booke_touch(kvm_pfn_t pfn)
{
	if (kvm_is_reserved_pfn(pfn))
		return;
	mark_page_accessed(pfn_to_page(pfn));
}

// an early exit inside a || chain before a hugepage decision
static int stage2_level(kvm_pfn_t pfn)
{
	if (is_error_noslot_pfn(pfn) || kvm_is_reserved_pfn(pfn))
		return PG_LEVEL_4K;
	return kvm_is_transparent_hugepage(pfn) ? PG_LEVEL_2M : PG_LEVEL_4K;
}

// a hugepage chain on one line: the test joins it there
static bool stage2_thp(kvm_pfn_t pfn)
{
	return !kvm_is_reserved_pfn(pfn) && PageTransCompoundMap(pfn_to_page(pfn));
}

// refcount uses elsewhere stay as they are: that is what the fix is for
static void booke_put(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn))
		put_page(pfn_to_page(pfn));
}
