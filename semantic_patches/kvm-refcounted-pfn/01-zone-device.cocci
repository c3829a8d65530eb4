#spatch --smpl-spacing
/// The fix, where the tree still needs it: stop counting ZONE_DEVICE (DAX) pages
/// as reserved, so that KVM drops the references it takes on them, and keep them
/// away from the dirty/accessed and hugepage paths, as upstream did in
/// a78986aae9b2 ("KVM: MMU: Do not treat ZONE_DEVICE pages as being reserved",
/// Nov 2019).  Standalone: it needs no other step of the campaign.
///  - kvm_is_zone_device_pfn() is added to the file that defines
///    kvm_is_reserved_pfn() and declared next to it in the header; it answers only
///    for a page somebody holds a reference on (is_zone_device_page() needs that),
///    and WARNs and answers false for a page whose refcount is 0;
///  - kvm_is_reserved_pfn() returns PageReserved(...) && !kvm_is_zone_device_pfn();
///  - every use classify.cocci calls dirty-accessed or hugepage, in any file and
///    on any architecture, excludes ZONE_DEVICE pages again by hand:
///    "!kvm_is_reserved_pfn(pfn)" becomes "!kvm_is_reserved_pfn(pfn) &&
///    !kvm_is_zone_device_pfn(pfn)", a positive test "... || kvm_is_zone_device_pfn(pfn)",
///    so those paths treat ZONE_DEVICE pages as before.  Refcount uses and uses
///    whose question is unknown are not touched: the refcount ones are what the
///    fix is for, the unknown ones are reported.
/// The engine runs this step only where the base tree's definition does not
/// already exclude ZONE_DEVICE (classify.cocci's reserved_excludes_zone_device);
/// each rule is guarded besides, so that a second pass changes nothing.
///
/// Layout: the first line asks for --smpl-spacing, so the added code keeps the
/// kernel layout written here; a new operand of a condition that spans lines goes
/// on a line of its own, indented like the condition's next line (the indentation
/// is read from the file by the python rules), and a line never grows past 80
/// columns where a line break can avoid it.
//
// Confidence: Moderate
// Copyright: (C) 2026 cocci-bot authors. GPL-2.0-only
// Options: --no-includes --include-headers
// Requires: 1.1.1

virtual patch

#include "classify.cocci"

// ------------------------------------- the file defining the predicate

@initialize:python@
@@
import re

ZD_DONE = frozenset(("zd_guarded", "zd_chain"))
MAX_WIDTH = 80


def zd_line(pos):
    with open(pos[0].file) as src:
        return src.read().split("\n")[int(pos[0].line) - 1]


def zd_width(text):
    return len(text.expandtabs(8))


def zd_align(line, col):
    """Whitespace reaching column col of line (its tabs kept): a continuation line."""
    return re.sub(r"\S", " ", line[:col])


def zd_cond_start(line):
    """Where the condition or returned expression on line starts (for a continuation)."""
    m = re.match(r"\s*(?:(?:if|while) \(|return )", line)
    return m.end() if m else len(line) - len(line.lstrip()) + 8


def zd_join(line, added, test):
    """The text that puts test into line, where the code grows by added: " test" if
    the line still fits the width, else test on a new line aligned with the start of
    the line's condition (or returned expression)."""
    if zd_width(line) + len(added) + 1 <= MAX_WIDTH:
        return " " + test
    return "\n" + zd_align(line, zd_cond_start(line)) + test

@zd_has depends on patch@
typedef kvm_pfn_t;
identifier x;
type T;
@@
T kvm_is_zone_device_pfn(kvm_pfn_t x) { ... }

@zd_def_at depends on patch && cb_def && !cb_def_zd@
typedef kvm_pfn_t;
identifier x;
expression P;
position r;
type T;
@@
T kvm_is_reserved_pfn(kvm_pfn_t x)
{
  ...
  if (pfn_valid(x))
    return@r PageReserved(P);
  ...
}

// the new test on a line of its own, aligned with PageReserved()
@script:python zd_def_text@
r << zd_def_at.r;
x << zd_def_at.x;
z;
@@
with open(r[0].file) as src:
    line = src.read().split("\n")[int(r[0].line) - 1]
indent = line[:len(line) - len(line.lstrip())]
coccinelle.z = "\n" + indent + " " * len("return ") + "!kvm_is_zone_device_pfn(" + x + ")"

@zd_def depends on patch@
typedef kvm_pfn_t;
identifier zd_def_at.x;
identifier zd_def_text.z;
expression zd_def_at.P;
position zd_def_at.r;
type T;
@@
T kvm_is_reserved_pfn(kvm_pfn_t x)
{
+	/*
+	 * ZONE_DEVICE pages are PG_reserved, yet KVM takes and drops
+	 * references on them as on RAM (get_user_pages() pins them); only
+	 * the paths that mark a page dirty or accessed, or map it huge,
+	 * keep them out, by hand.
+	 */
  if (pfn_valid(x))
-		return@r PageReserved(P);
+		return PageReserved(P) &&z;
  ...
}

@zd_add depends on patch && zd_def && !zd_has@
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

// ------------------------------------- the header: declared next to it

@zd_has_decl depends on patch@
typedef kvm_pfn_t;
identifier x;
type T;
@@
T kvm_is_zone_device_pfn(kvm_pfn_t x);

@zd_decl depends on patch && !zd_has_decl@
typedef kvm_pfn_t;
typedef bool;
@@
- bool kvm_is_reserved_pfn(kvm_pfn_t pfn);
+bool kvm_is_reserved_pfn(kvm_pfn_t pfn);
+bool kvm_is_zone_device_pfn(kvm_pfn_t pfn);

// ---------- dirty/accessed and hugepage uses: ZONE_DEVICE pages stay out

// a use whose condition already asks kvm_is_zone_device_pfn() about the same pfn
// (a tree that has the fix, a second pass) is left as it is
@zd_guarded depends on patch@
expression E;
position p;
@@
(
  (<+... kvm_is_reserved_pfn@p(E) ...+>) && (<+... kvm_is_zone_device_pfn(E) ...+>)
|
  (<+... kvm_is_zone_device_pfn(E) ...+>) && (<+... kvm_is_reserved_pfn@p(E) ...+>)
|
  (<+... kvm_is_reserved_pfn@p(E) ...+>) || (<+... kvm_is_zone_device_pfn(E) ...+>)
|
  (<+... kvm_is_zone_device_pfn(E) ...+>) || (<+... kvm_is_reserved_pfn@p(E) ...+>)
)

@script:python@
p << zd_guarded.p;
@@
cb_tag(p, "zd_guarded")

// "!kvm_is_reserved_pfn(pfn) &&" where more of the condition follows: the new test
// goes between them; when the use ends its line, on a line of its own indented like
// the next operand's, as a kernel developer would write it
@zd_chain depends on patch && !cb_def_zd@
expression E, X, Y;
position p : script:python() {
    cb_class(p) in ("dirty-accessed", "hugepage")
    and "zd_guarded" not in cb_tags.get(cb_key(p), set()) };
position q;
@@
(
  X && !kvm_is_reserved_pfn@p(E) && Y@q
|
  !kvm_is_reserved_pfn@p(E) && Y@q
)

@script:python zd_text@
p << zd_chain.p;
q << zd_chain.q;
E << zd_chain.E;
z;
@@
cb_tag(p, "zd_chain")
test = "!kvm_is_zone_device_pfn(" + E + ")"
if p[0].line == q[0].line:
    coccinelle.z = zd_join(zd_line(p), test + " &&", test)
else:
    nxt = zd_line(q)
    coccinelle.z = "\n" + nxt[:len(nxt) - len(nxt.lstrip())] + test

@zd_chain_fix depends on patch@
expression zd_chain.E, X, Y;
position zd_chain.p;
identifier zd_text.z;
@@
(
  X && !kvm_is_reserved_pfn@p(E) &&
+z &&
  Y
|
  !kvm_is_reserved_pfn@p(E) &&
+z &&
  Y
)

// every other form: the test joins the use (on its line if that fits the width)
@zd_other depends on patch && !cb_def_zd@
expression E;
position p : script:python() {
    cb_class(p) in ("dirty-accessed", "hugepage")
    and not cb_tags.get(cb_key(p), set()) & ZD_DONE };
@@
kvm_is_reserved_pfn@p(E)

@script:python zd_other_text@
p << zd_other.p;
E << zd_other.E;
z;
@@
neg = "neg" in cb_tags.get(cb_key(p), set())
test = ("!" if neg else "") + "kvm_is_zone_device_pfn(" + E + ")"
coccinelle.z = zd_join(zd_line(p), ("&& " if neg else "|| ") + test, test)

@zd_site depends on patch@
expression zd_other.E;
position zd_other.p;
identifier zd_other_text.z;
@@
(
- !kvm_is_reserved_pfn@p(E)
+!kvm_is_reserved_pfn(E) &&z
|
- kvm_is_reserved_pfn@p(E)
+kvm_is_reserved_pfn(E) ||z
)
