/// Give the dirty/accessed uses of kvm_is_reserved_pfn() their own predicate,
/// kvm_is_ad_trackable_pfn(), a static inline in the header next to the
/// predicate's declarations, so that every file with such a use can call it.
///
/// The helper returns exactly the guard the tree uses before SetPageDirty()/
/// mark_page_accessed(): "!kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(pfn)"
/// (4.19.y stable, 5.4 to early 5.10, or any tree after this campaign's first step),
/// so behaviour does not change.  Only guards of that form are converted; any other
/// dirty/accessed use is reported, not changed.  The engine skips the step where the
/// tree already has a dirty/accessed predicate (kvm_is_ad_tracked_pfn(), later
/// 5.10.y and v6.0: pfn_valid() && !PageReserved(), a different body) or has no
/// dirty/accessed use; the new name differs from that one, so that a later backport
/// of that fix cannot collide with this helper.  It is __always_inline, as step 2's
/// helper is, so that the compiler emits the same code as for the guard it replaces
/// (with plain inline and CONFIG_OPTIMIZE_INLINING, gcc may keep it out of line, and
/// the build's no-functional-change check could not prove the claim).
//
// Confidence: High
// Copyright: (C) 2026 cocci-bot authors. GPL-2.0-only
// Options: --no-includes --include-headers
// Requires: 1.1.1

virtual patch

#include "classify.cocci"

@s3_has depends on patch@
typedef kvm_pfn_t;
identifier x;
type T;
@@
T kvm_is_ad_tracked_pfn(kvm_pfn_t x) { ... }

// ------------------------------------------------ the uses: the guard's forms

@s3_guard depends on patch && !s3_has@
expression E, X;
position p : script:python() { cb_class(p) == "dirty-accessed" };
@@
(
- !kvm_is_reserved_pfn@p(E) && !kvm_is_zone_device_pfn(E)
+ kvm_is_ad_trackable_pfn(E)
|
- !kvm_is_zone_device_pfn(E) && !kvm_is_reserved_pfn@p(E)
+ kvm_is_ad_trackable_pfn(E)
|
  X &&
- !kvm_is_reserved_pfn@p(E) && !kvm_is_zone_device_pfn(E)
+ kvm_is_ad_trackable_pfn(E)
|
- kvm_is_reserved_pfn@p(E) || kvm_is_zone_device_pfn(E)
+ !kvm_is_ad_trackable_pfn(E)
|
- kvm_is_zone_device_pfn(E) || kvm_is_reserved_pfn@p(E)
+ !kvm_is_ad_trackable_pfn(E)
|
  X ||
- kvm_is_reserved_pfn@p(E) || kvm_is_zone_device_pfn(E)
+ !kvm_is_ad_trackable_pfn(E)
)

// ------------------------------- the header: after the predicate's declarations

@s3_has_own depends on patch@
typedef kvm_pfn_t;
identifier x;
type T;
@@
T kvm_is_ad_trackable_pfn(kvm_pfn_t x) { ... }

@s3_zd_decl depends on patch@
typedef kvm_pfn_t;
typedef bool;
@@
bool kvm_is_zone_device_pfn(kvm_pfn_t pfn);

// after the block of kvm_is_*() declarations that holds kvm_is_reserved_pfn()'s
// (it needs kvm_is_zone_device_pfn() declared), so the declarations stay together
@s3_last depends on patch && s3_zd_decl && !s3_has_own@
typedef kvm_pfn_t;
typedef bool;
identifier fn;
position d;
@@
bool fn@d(kvm_pfn_t pfn);

@script:python s3_last_only@
d << s3_last.d;
@@
if not cb_last_decl(d):
    cocci.include_match(False)

@s3_decl depends on patch@
typedef kvm_pfn_t;
typedef bool;
identifier s3_last.fn;
position s3_last.d;
attribute name __always_inline;
@@
- bool fn@d(kvm_pfn_t pfn);
+ bool fn(kvm_pfn_t pfn);
+
+/*
+ * kvm_is_ad_trackable_pfn - may KVM mark @pfn's page dirty or accessed?
+ *
+ * Not for a reserved page (MMIO and the like) nor for a ZONE_DEVICE page:
+ * the dirty/accessed paths' own question, under a name of its own, so that
+ * it stays put when the refcounting rules change.
+ */
+static __always_inline bool kvm_is_ad_trackable_pfn(kvm_pfn_t pfn)
+{
+	return !kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(pfn);
+}
