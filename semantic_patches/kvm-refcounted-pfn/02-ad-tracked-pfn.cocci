/// Give the dirty/accessed uses of kvm_is_reserved_pfn() their own predicate,
/// kvm_is_ad_tracked_pfn(), where a tree still guards SetPageDirty() and
/// mark_page_accessed() with "!kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(pfn)".
///
/// The new static helper returns exactly that expression, so behaviour does not
/// change.  Trees that already have kvm_is_ad_tracked_pfn() (later 5.10 stable
/// releases, where it tests PageReserved directly) are left as they are: folding
/// a guard into that helper would change what it decides.
//
// Confidence: High
// Copyright: (C) 2026 cocci-bot authors. GPL-2.0-only
// Options: --no-includes --include-headers
// Requires: 1.1.1

virtual patch

#include "classify.cocci"

@s2_has depends on patch@
typedef kvm_pfn_t;
identifier x;
type T;
@@
T kvm_is_ad_tracked_pfn(kvm_pfn_t x) { ... }

@s2_guard depends on patch && cb_def && !s2_has@
expression E;
position p : script:python() { cb_class(p) == "dirty-accessed" };
@@
(
- !kvm_is_reserved_pfn@p(E) && !kvm_is_zone_device_pfn(E)
+ kvm_is_ad_tracked_pfn(E)
|
- !kvm_is_zone_device_pfn(E) && !kvm_is_reserved_pfn@p(E)
+ kvm_is_ad_tracked_pfn(E)
|
- kvm_is_reserved_pfn@p(E) || kvm_is_zone_device_pfn(E)
+ !kvm_is_ad_tracked_pfn(E)
)

@s2_def depends on patch && s2_guard@
typedef kvm_pfn_t;
typedef bool;
identifier x;
type T;
@@
T kvm_is_refcounted_pfn(kvm_pfn_t x) { ... }
+
+static bool kvm_is_ad_tracked_pfn(kvm_pfn_t pfn)
+{
+	/*
+	 * May KVM mark this page dirty or accessed?  Per page-flags.h, pages
+	 * tagged PG_reserved "should in general not be touched (e.g. set dirty)
+	 * except by its owner", and ZONE_DEVICE pages are left alone as well.
+	 * This is the check the dirty/accessed paths have always made, now
+	 * under a name of its own.
+	 */
+	return !kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(pfn);
+}

@s2_def_early depends on patch && s2_guard && !s2_def@
typedef kvm_pfn_t;
typedef bool;
identifier x;
type T;
@@
T kvm_is_reserved_pfn(kvm_pfn_t x) { ... }
+
+static bool kvm_is_ad_tracked_pfn(kvm_pfn_t pfn)
+{
+	/*
+	 * May KVM mark this page dirty or accessed?  Per page-flags.h, pages
+	 * tagged PG_reserved "should in general not be touched (e.g. set dirty)
+	 * except by its owner", and ZONE_DEVICE pages are left alone as well.
+	 * This is the check the dirty/accessed paths have always made, now
+	 * under a name of its own.
+	 */
+	return !kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(pfn);
+}
