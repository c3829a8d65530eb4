/// Introduce kvm_is_refcounted_pfn() and use it wherever kvm_is_reserved_pfn()
/// decides whether KVM may take or drop a page reference, hand out the struct
/// page, or map the page at a larger level.
///
/// kvm_is_refcounted_pfn(pfn) is a static inline next to the declaration of
/// kvm_is_reserved_pfn() (visible wherever the predicate is), defined as
/// !kvm_is_reserved_pfn(pfn), so every conversion is an exact logical rewrite:
/// no functional change.  Uses that
/// decide on dirty/accessed tracking, and uses whose surroundings do not say
/// which question they ask (classify.cocci: "unknown"), are left alone.
//
// Confidence: High
// Copyright: (C) 2026 cocci-bot authors. GPL-2.0-only
// Options: --no-includes --include-headers
// Requires: 1.1.1

virtual patch

#include "classify.cocci"

@s1_neg depends on patch@
expression E;
position p : script:python() { cb_class(p) in ("refcount", "hugepage") };
@@
- !kvm_is_reserved_pfn@p(E)
+ kvm_is_refcounted_pfn(E)

@s1_pos depends on patch@
expression E;
position p : script:python() { cb_class(p) in ("refcount", "hugepage") };
@@
- kvm_is_reserved_pfn@p(E)
+ !kvm_is_refcounted_pfn(E)

// The helper is a static inline next to the predicate's declarations, so that every
// file that sees kvm_is_reserved_pfn() sees it too; __always_inline, so that the
// compiler emits the same code for it as for the expression it replaces (with plain
// inline, 4.20's tinyconfig build, CONFIG_OPTIMIZE_INLINING=y with -Os, keeps an
// out-of-line copy in mmu.o, and the no-functional-change check fails).

@s1_has depends on patch@
typedef kvm_pfn_t;
typedef bool;
identifier x;
type T;
@@
T kvm_is_refcounted_pfn(kvm_pfn_t x) { ... }

@s1_has_decl depends on patch@
typedef kvm_pfn_t;
typedef bool;
identifier x;
type T;
@@
T kvm_is_refcounted_pfn(kvm_pfn_t x);

// after the block of kvm_is_*() declarations that holds kvm_is_reserved_pfn()'s,
// so that the declarations stay together
@s1_last depends on patch && !s1_has && !s1_has_decl@
typedef kvm_pfn_t;
typedef bool;
identifier fn;
position d;
@@
bool fn@d(kvm_pfn_t pfn);

@script:python s1_last_only@
d << s1_last.d;
@@
if not cb_last_decl(d):
    cocci.include_match(False)

@s1_decl depends on patch@
typedef kvm_pfn_t;
typedef bool;
identifier s1_last.fn;
position s1_last.d;
attribute name __always_inline;
@@
- bool fn@d(kvm_pfn_t pfn);
+ bool fn(kvm_pfn_t pfn);
+
+/*
+ * kvm_is_refcounted_pfn - may KVM take and drop references on @pfn's page?
+ *
+ * The question KVM's refcounting paths ask, under a name of its own, so that
+ * the pinning rules can change without touching the other users of
+ * kvm_is_reserved_pfn().
+ */
+static __always_inline bool kvm_is_refcounted_pfn(kvm_pfn_t pfn)
+{
+	return !kvm_is_reserved_pfn(pfn);
+}
