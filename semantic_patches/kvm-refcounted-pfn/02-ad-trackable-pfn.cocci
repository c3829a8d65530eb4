/// Give the dirty/accessed uses of kvm_is_reserved_pfn() their own predicate,
/// kvm_pfn_ad_trackable(), in the file that defines kvm_is_reserved_pfn().
///
/// The helper returns exactly the guard the tree already uses before
/// SetPageDirty()/mark_page_accessed(): "!kvm_is_reserved_pfn(pfn) &&
/// !kvm_is_zone_device_pfn(pfn)" where the file knows kvm_is_zone_device_pfn(),
/// "!kvm_is_reserved_pfn(pfn)" where it does not, so behaviour does not change.
/// A tree that already has a dirty/accessed predicate (kvm_is_ad_tracked_pfn(),
/// 5.10.y stable and v6.0: pfn_valid() && !PageReserved(), a different body) is
/// left alone, and the new name differs from it, so that a later backport of that
/// fix cannot collide with this one.  Guards in other files are reported, not
/// converted: the helper is static.  It is __always_inline, as step 1's helper is, so
/// that the compiler emits the same code as for the guard it replaces (out of line,
/// the callers would call it, and the build's no-functional-change check could not
/// prove the claim).
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

@s2_has_own depends on patch@
typedef kvm_pfn_t;
identifier x;
type T;
@@
T kvm_pfn_ad_trackable(kvm_pfn_t x) { ... }

@s2_knows_zd depends on patch@
@@
kvm_is_zone_device_pfn(...)

@s2_guard depends on patch && cb_def && !s2_has && !s2_has_own@
expression E;
position p : script:python() { cb_class(p) == "dirty-accessed" };
@@
(
- !kvm_is_reserved_pfn@p(E) && !kvm_is_zone_device_pfn(E)
+ kvm_pfn_ad_trackable(E)
|
- !kvm_is_zone_device_pfn(E) && !kvm_is_reserved_pfn@p(E)
+ kvm_pfn_ad_trackable(E)
|
- kvm_is_reserved_pfn@p(E) || kvm_is_zone_device_pfn(E)
+ !kvm_pfn_ad_trackable(E)
)

@s2_plain depends on patch && cb_def && !s2_has && !s2_has_own && !s2_knows_zd@
expression E;
position p : script:python() { cb_class(p) == "dirty-accessed" };
@@
(
- !kvm_is_reserved_pfn@p(E)
+ kvm_pfn_ad_trackable(E)
|
- kvm_is_reserved_pfn@p(E)
+ !kvm_pfn_ad_trackable(E)
)

@s2_def depends on patch && s2_guard@
typedef kvm_pfn_t;
typedef bool;
attribute name __always_inline;
identifier x;
type T;
@@
T kvm_is_reserved_pfn(kvm_pfn_t x) { ... }
+
+static __always_inline bool kvm_pfn_ad_trackable(kvm_pfn_t pfn)
+{
+	/*
+	 * May KVM mark this page dirty or accessed?  Per page-flags.h, a page
+	 * tagged PG_reserved should in general not be touched (e.g. set dirty)
+	 * except by its owner; ZONE_DEVICE pages are left alone as well.  The
+	 * dirty/accessed paths' own check, named so that it stays put when the
+	 * refcounting rules change.
+	 */
+	return !kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(pfn);
+}

@s2_def_plain depends on patch && s2_plain@
typedef kvm_pfn_t;
typedef bool;
attribute name __always_inline;
identifier x;
type T;
@@
T kvm_is_reserved_pfn(kvm_pfn_t x) { ... }
+
+static __always_inline bool kvm_pfn_ad_trackable(kvm_pfn_t pfn)
+{
+	/*
+	 * May KVM mark this page dirty or accessed?  Per page-flags.h, a page
+	 * tagged PG_reserved should in general not be touched (e.g. set dirty)
+	 * except by its owner; ZONE_DEVICE pages are left alone as well.  The
+	 * dirty/accessed paths' own check, named so that it stays put when the
+	 * refcounting rules change.
+	 */
+	return !kvm_is_reserved_pfn(pfn);
+}
