/// Let KVM take and drop references on ZONE_DEVICE (DAX) pages where this
/// tree's kvm_is_reserved_pfn() still counts them as reserved, and keep them
/// out of the THP paths that shift references from a tail page to its head.
///
/// Upstream's test (a78986aae9b2, "KVM: MMU: Do not treat ZONE_DEVICE pages as
/// being reserved", Nov 2019) placed where the RFC placed its change: in the
/// refcount question that step 1 named, not in kvm_is_reserved_pfn() itself.
///  - kvm_is_zone_device_pfn(): is the pfn a ZONE_DEVICE page?  Answered only
///    for a page somebody holds a reference on, as is_zone_device_page() needs;
///  - kvm_is_refcounted_pfn() accepts ZONE_DEVICE pages:
///    !kvm_is_reserved_pfn(pfn) || kvm_is_zone_device_pfn(pfn);
///  - the hugepage paths whose condition is a compound-page test ask
///    kvm_is_thp_refcounted_pfn(): refcounted and not ZONE_DEVICE;
///  - kvm_is_reserved_pfn() and every use left on it (dirty/accessed tracking,
///    uses whose question is unknown) keep their meaning: ZONE_DEVICE pages are
///    PG_reserved, so they stay out of dirty/accessed tracking.
/// The engine runs this step only where the base tree's kvm_is_reserved_pfn()
/// does not already exclude ZONE_DEVICE; each rule is guarded so that a second
/// pass changes nothing.
//
// Confidence: Moderate
// Copyright: (C) 2026 cocci-bot authors. GPL-2.0-only
// Options: --no-includes --include-headers
// Requires: 1.1.1

virtual patch

#include "classify.cocci"

// ------------------------------------- the file defining the predicate

@s3_def_zd depends on patch@
typedef kvm_pfn_t;
identifier x;
type T;
@@
T kvm_is_reserved_pfn(kvm_pfn_t x)
{
  <+... \( kvm_is_zone_device_pfn(...) \| is_zone_device_page(...) \) ...+>
}

@s3_has_zd depends on patch@
typedef kvm_pfn_t;
identifier x;
type T;
@@
T kvm_is_zone_device_pfn(kvm_pfn_t x) { ... }

@s3_add_zd depends on patch && !s3_def_zd && !s3_has_zd@
typedef kvm_pfn_t;
typedef bool;
identifier x;
type T;
@@
+bool kvm_is_zone_device_pfn(kvm_pfn_t pfn)
+{
+	/*
+	 * is_zone_device_page() reads metadata that is only guaranteed while
+	 * the page is pinned (e.g. by get_user_pages()).  A page nobody holds a
+	 * reference on is not answered for: WARN, and say "not ZONE_DEVICE".
+	 */
+	if (!pfn_valid(pfn) || WARN_ON_ONCE(!page_count(pfn_to_page(pfn))))
+		return false;
+	return is_zone_device_page(pfn_to_page(pfn));
+}
+
T kvm_is_reserved_pfn(kvm_pfn_t x) { ... }

// ------------------------------- the header: the refcount question changes

@s3_refcounted depends on patch@
typedef kvm_pfn_t;
identifier x;
type T;
@@
T kvm_is_refcounted_pfn(kvm_pfn_t x)
{
- return !kvm_is_reserved_pfn(x);
+ /* DAX (ZONE_DEVICE) pages are PG_reserved, yet pinned like RAM */
+ return !kvm_is_reserved_pfn(x) || kvm_is_zone_device_pfn(x);
}

@s3_has_decl depends on patch@
typedef kvm_pfn_t;
identifier x;
type T;
@@
T kvm_is_zone_device_pfn(kvm_pfn_t x);

@s3_decl depends on patch && s3_refcounted && !s3_has_decl@
typedef kvm_pfn_t;
typedef bool;
@@
- bool kvm_is_reserved_pfn(kvm_pfn_t pfn);
+ bool kvm_is_reserved_pfn(kvm_pfn_t pfn);
+ bool kvm_is_zone_device_pfn(kvm_pfn_t pfn);

@s3_has_thp depends on patch@
typedef kvm_pfn_t;
identifier x;
type T;
@@
T kvm_is_thp_refcounted_pfn(kvm_pfn_t x) { ... }

@s3_thp depends on patch && s3_refcounted && !s3_has_thp@
typedef kvm_pfn_t;
typedef bool;
identifier x;
type T;
@@
T kvm_is_refcounted_pfn(kvm_pfn_t x) { ... }
+
+static inline bool kvm_is_thp_refcounted_pfn(kvm_pfn_t pfn)
+{
+	/*
+	 * The THP paths move a page reference from a tail page to its head:
+	 * right for ordinary compound pages, never for ZONE_DEVICE ones.
+	 */
+	return kvm_is_refcounted_pfn(pfn) && !kvm_is_zone_device_pfn(pfn);
+}

// ---------- hugepage paths: a compound-page test next to kvm_is_refcounted_pfn()

@s3_huge depends on patch@
expression E;
position q;
identifier op : script:python() { op in HUGE_OPS };
@@
(
  (<+... kvm_is_refcounted_pfn@q(E) ...+>) && (<+... op(...) ...+>)
|
  (<+... op(...) ...+>) && (<+... kvm_is_refcounted_pfn@q(E) ...+>)
)

@s3_huge_fix depends on patch@
expression E;
position s3_huge.q;
@@
- kvm_is_refcounted_pfn@q(E)
+ kvm_is_thp_refcounted_pfn(E)
