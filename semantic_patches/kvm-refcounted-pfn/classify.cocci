/// Classify every use of kvm_is_reserved_pfn() by the question it answers.
///
/// kvm_is_reserved_pfn() is asked two different questions: may KVM take or drop a
/// reference on the page (or hand out its struct page), and may KVM mark the page
/// dirty/accessed.  A third family asks whether the page may be mapped at a larger
/// level (hugepage/collapsible checks), which today depends on the page being
/// refcounted.  The class of a use is read off the code around it: the mm primitive
/// the guarded code calls, the condition it sits in, or what the code does after an
/// early return.  A use whose surroundings say nothing, or say two things at once,
/// is "unknown" and is never transformed.
///
/// Included by every step of the campaign (#include "classify.cocci"); with
/// -D report it prints one "cocci-bot-site {json}" line per use on stdout.
//
// Confidence: High
// Copyright: (C) 2026 cocci-bot authors. GPL-2.0-only
// Options: --no-includes --include-headers
// Requires: 1.1.1


virtual report

@initialize:python@
@@
import json


# mm primitives that take, drop or read a page reference, or hand out the page
REFCOUNT_OPS = frozenset("""get_page put_page get_page_unless_zero try_get_page
    page_count page_ref_count put_page_testzero page_ref_inc page_ref_dec
    page_ref_add page_ref_sub folio_get folio_put folio_try_get""".split())
# mm primitives that mark a page dirty or accessed
AD_OPS = frozenset("""SetPageDirty set_page_dirty set_page_dirty_lock
    mark_page_accessed SetPageReferenced folio_mark_dirty folio_mark_accessed""".split())
# mm primitives and constants that decide on a mapping larger than a page
HUGE_OPS = frozenset("""PageCompound PageTransCompound PageTransCompoundMap
    PageTransHuge PageHuge PageHead compound_order kvm_is_transparent_hugepage
    kvm_mmu_max_mapping_level host_pfn_mapping_level
    PG_LEVEL_4K PT_PAGE_TABLE_LEVEL""".split())
# the campaign's own helpers: defined in terms of the predicate, never converted
HELPERS = frozenset("""kvm_is_refcounted_pfn kvm_is_ad_trackable_pfn""".split())
HUGE_TAGS = frozenset(("cond_huge", "branch_huge", "early_huge"))

cb_decl_lines = {}  # file -> lines holding a kvm_is_*(kvm_pfn_t) declaration
cb_reserved_decl = {}  # file -> the line declaring kvm_is_reserved_pfn()
cb_spans = {}       # file -> [(first, last line)] of conditions and returned expressions
cb_tags = {}        # (file, line, col) -> set of shape tags
cb_facts = set()    # tree facts, e.g. the definition already excludes ZONE_DEVICE


def cb_key(p):
    return (p[0].file, int(p[0].line), int(p[0].column))


def cb_tag(p, tag):
    cb_tags.setdefault(cb_key(p), set()).add(tag)


def cb_op_tag(p, op, prefix):
    for ops, kind in ((REFCOUNT_OPS, "ref"), (AD_OPS, "ad"), (HUGE_OPS, "huge")):
        if op in ops:
            cb_tag(p, prefix + kind)


def cb_class(p):
    tags = cb_tags.get(cb_key(p), set())
    if "helper" in tags:
        return "definition"
    kinds = set()
    if tags & HUGE_TAGS:
        kinds.add("hugepage")
    if tags & {"branch_ref", "early_ref", "expr_ref"} and not tags & HUGE_TAGS:
        kinds.add("refcount")
    if tags & {"branch_ad", "early_ad"}:
        kinds.add("dirty-accessed")
    if "neg" in tags and tags & {"early_ref", "early_ad", "early_huge"}:
        return "unknown"
    if "neg" not in tags and tags & {"branch_ref", "branch_ad"}:
        return "unknown"
    return kinds.pop() if len(kinds) == 1 else "unknown"


def cb_last_decl(p):
    """Is p the last line of the run of consecutive kvm_is_*() declaration lines that
    holds the declaration of kvm_is_reserved_pfn()?"""
    lines = cb_decl_lines.get(p[0].file, set())
    last = cb_reserved_decl.get(p[0].file)
    if last is None:
        return False
    while last + 1 in lines:
        last += 1
    return int(p[0].line) == last


def cb_line_end(p):
    """The last line of the innermost condition (or returned expression) holding p."""
    line = int(p[0].line)
    spans = [(b - a, b) for a, b in cb_spans.get(p[0].file, []) if a <= line <= b]
    return min(spans)[1] if spans else line


def cb_print(kind, p, **fields):
    rec = {"kind": kind, "file": p[0].file, "line": int(p[0].line),
           "column": int(p[0].column), "function": p[0].current_element}
    rec.update(fields)
    print("cocci-bot-" + kind + " " + json.dumps(rec, sort_keys=True))

// ---------------------------------------------------------------- every use

@cb_use@
expression E;
position p;
@@
kvm_is_reserved_pfn@p(E)

@cb_neg@
expression E;
position p;
@@
!kvm_is_reserved_pfn@p(E)

@script:python@
p << cb_neg.p;
@@
cb_tag(p, "neg")

// ---------------------------- guarded code: if (...use...) <calls op on the pfn>

@cb_branch@
expression E;
position p;
identifier op;
@@
(
if (<+... kvm_is_reserved_pfn@p(E) ...+>) op(<+... E ...+>);
|
if (<+... kvm_is_reserved_pfn@p(E) ...+>) { <+... op(<+... E ...+>) ...+> }
)

@script:python@
p << cb_branch.p;
op << cb_branch.op;
@@
cb_op_tag(p, op, "branch_")

// a branch that only answers "map at 4K" is a mapping-level decision

@cb_level@
expression E;
position p;
identifier lvl;
@@
if (<+... kvm_is_reserved_pfn@p(E) ...+>) return lvl;

@script:python@
p << cb_level.p;
lvl << cb_level.lvl;
@@
cb_op_tag(p, lvl, "branch_")

// --------- the page reaches the primitive through a local: page = pfn_to_page(pfn)

@cb_branch_local@
expression E;
position p;
identifier op, pg;
@@
if (<+... kvm_is_reserved_pfn@p(E) ...+>) {
  struct page *pg = pfn_to_page(E);
  <+... op(<+... pg ...+>) ...+>
}

@script:python@
p << cb_branch_local.p;
op << cb_branch_local.op;
@@
cb_op_tag(p, op, "branch_")

// ... assigned, not initialised, in the guarded branch, at any depth
@cb_branch_assign exists@
expression E, E2;
position p;
identifier op, pg;
@@
if (<+... kvm_is_reserved_pfn@p(E) ...+>) {
  ... when any
  pg = pfn_to_page(E);
  ... when != pg = E2
  op(<+... pg ...+>);
  ... when any
}

@script:python@
p << cb_branch_assign.p;
op << cb_branch_assign.op;
@@
cb_op_tag(p, op, "branch_")

// ... taken before the test (initialised or assigned), used in the guarded branch
@cb_before_decl exists@
expression E, E2;
position p;
identifier op, pg;
@@
struct page *pg = pfn_to_page(E);
... when != pg = E2
(
if (<+... kvm_is_reserved_pfn@p(E) ...+>) op(<+... pg ...+>);
|
if (<+... kvm_is_reserved_pfn@p(E) ...+>) { <+... op(<+... pg ...+>) ...+> }
)

@script:python@
p << cb_before_decl.p;
op << cb_before_decl.op;
@@
cb_op_tag(p, op, "branch_")

@cb_before_assign exists@
expression E, E2;
position p;
identifier op, pg;
@@
pg = pfn_to_page(E);
... when != pg = E2
(
if (<+... kvm_is_reserved_pfn@p(E) ...+>) op(<+... pg ...+>);
|
if (<+... kvm_is_reserved_pfn@p(E) ...+>) { <+... op(<+... pg ...+>) ...+> }
)

@script:python@
p << cb_before_assign.p;
op << cb_before_assign.op;
@@
cb_op_tag(p, op, "branch_")

// ... taken before an early exit, used after it
@cb_before_early exists@
expression E, E2;
position p;
identifier op, pg;
@@
(
struct page *pg = pfn_to_page(E);
|
pg = pfn_to_page(E);
)
... when != pg = E2
(
if (<+... kvm_is_reserved_pfn@p(E) ...+>) return ...;
|
if (<+... kvm_is_reserved_pfn@p(E) ...+>) return;
)
... when != pg = E2
op(<+... pg ...+>);

@script:python@
p << cb_before_early.p;
op << cb_before_early.op;
@@
cb_op_tag(p, op, "early_")

// ... taken after an early exit
@cb_early_assign exists@
expression E, E2, E3;
position p;
identifier op, pg;
@@
(
if (<+... kvm_is_reserved_pfn@p(E) ...+>) return ...;
|
if (<+... kvm_is_reserved_pfn@p(E) ...+>) return;
|
if (<+... kvm_is_reserved_pfn@p(E) ...+>) { ... return ...; }
)
... when != E = E2
pg = pfn_to_page(E);
... when != pg = E3
op(<+... pg ...+>);

@script:python@
p << cb_early_assign.p;
op << cb_early_assign.op;
@@
cb_op_tag(p, op, "early_")

// ------- a compound/huge-page test anywhere in the same && or || chain as the use
// (&& and || are left-associative: any two operands of a chain meet at exactly one
// node, with one on each side, so "<+... use ...+> && <+... op ...+>" and its mirror
// find the test wherever it sits in the chain, in an if or anywhere else)

@cb_cond@
expression E;
position p;
identifier op;
@@
(
  (<+... kvm_is_reserved_pfn@p(E) ...+>) && (<+... op(...) ...+>)
|
  (<+... op(...) ...+>) && (<+... kvm_is_reserved_pfn@p(E) ...+>)
|
  (<+... kvm_is_reserved_pfn@p(E) ...+>) || (<+... op(...) ...+>)
|
  (<+... op(...) ...+>) || (<+... kvm_is_reserved_pfn@p(E) ...+>)
)

@script:python@
p << cb_cond.p;
op << cb_cond.op;
@@
if op in HUGE_OPS:
    cb_tag(p, "cond_huge")

// ------------- early exit: if (use) return/continue ...; <code using the page>

@cb_early exists@
expression E, E2;
position p;
identifier op;
@@
(
if (<+... kvm_is_reserved_pfn@p(E) ...+>) return ...;
|
if (<+... kvm_is_reserved_pfn@p(E) ...+>) { ... return ...; }
)
... when != E = E2
(
op(<+... pfn_to_page(E) ...+>)
)

@script:python@
p << cb_early.p;
op << cb_early.op;
@@
cb_op_tag(p, op, "early_")

@cb_early_huge exists@
expression E, E2;
position p;
identifier op;
@@
(
if (<+... kvm_is_reserved_pfn@p(E) ...+>) return ...;
|
if (<+... kvm_is_reserved_pfn@p(E) ...+>) { ... return ...; }
)
... when != E = E2
op(..., <+... E ...+>, ...)

@script:python@
p << cb_early_huge.p;
op << cb_early_huge.op;
@@
if op in HUGE_OPS:
    cb_tag(p, "early_huge")

// the same after a bare "return;" (5.19's void kvm_mmu_hugepage_adjust(); spatch
// 1.1.1 does not match "return;" with "return ...;")
@cb_early_huge_void exists@
expression E;
position p;
identifier op;
@@
if (<+... kvm_is_reserved_pfn@p(E) ...+>) return;
...
op(..., <+... E ...+>, ...)

@script:python@
p << cb_early_huge_void.p;
op << cb_early_huge_void.op;
@@
if op in HUGE_OPS:
    cb_tag(p, "early_huge")

@cb_early_page exists@
expression E, E2;
position p;
@@
(
if (<+... kvm_is_reserved_pfn@p(E) ...+>) return ...;
|
if (<+... kvm_is_reserved_pfn@p(E) ...+>) { ... return ...; }
)
... when != E = E2
return pfn_to_page(E);

@script:python@
p << cb_early_page.p;
@@
cb_tag(p, "early_ref")

// --------------------- a plain expression: !use && <refcount query on the page>

@cb_expr@
expression E;
position p;
identifier op;
@@
 !kvm_is_reserved_pfn@p(E) && <+... op(<+... pfn_to_page(E) ...+>) ...+>

@script:python@
p << cb_expr.p;
op << cb_expr.op;
@@
if op in REFCOUNT_OPS:
    cb_tag(p, "expr_ref")

// ------------- the campaign's own helpers (a patched tree): part of the definition
// Any other function defined in terms of kvm_is_reserved_pfn(), a one-line wrapper
// included, is a use like any other, classified by what its code says.

@cb_helper@
typedef kvm_pfn_t;
identifier f : script:python() { f in HELPERS };
identifier x;
position p;
type T;
@@
T f(kvm_pfn_t x)
{
  return <+... kvm_is_reserved_pfn@p(x) ...+>;
}

@script:python@
p << cb_helper.p;
@@
cb_tag(p, "helper")

// ---------------------------------------------- definition and declaration

@cb_def@
typedef kvm_pfn_t;
identifier x;
position p;
type T;
@@
T kvm_is_reserved_pfn@p(kvm_pfn_t x) { ... }

@cb_def_zd@
typedef kvm_pfn_t;
identifier x;
position cb_def.p;
type T;
@@
T kvm_is_reserved_pfn@p(kvm_pfn_t x)
{
  <+... \( kvm_is_zone_device_pfn(...) \| is_zone_device_page(...) \) ...+>
}

@script:python depends on cb_def_zd@
@@
cb_facts.add("reserved_excludes_zone_device")

@cb_def_zero@
typedef kvm_pfn_t;
identifier x;
position cb_def.p;
type T;
@@
T kvm_is_reserved_pfn@p(kvm_pfn_t x)
{
  <+... is_zero_pfn(...) ...+>
}

// what this tree's kvm_is_zone_device_pfn() does: with a page_count() test it
// answers false for a ZONE_DEVICE page whose refcount is 0

@cb_zd_def@
typedef kvm_pfn_t;
identifier x;
position p;
type T;
@@
T kvm_is_zone_device_pfn@p(kvm_pfn_t x) { ... }

@cb_zd_count@
typedef kvm_pfn_t;
identifier x;
position cb_zd_def.p;
type T;
@@
T kvm_is_zone_device_pfn@p(kvm_pfn_t x)
{
  <+... \( page_count(...) \| page_ref_count(...) \) ...+>
}

// the dirty/accessed question already has its own predicate (5.10.y stable, v6.0)
@cb_ad_def@
typedef kvm_pfn_t;
identifier x;
position p;
type T;
@@
T kvm_is_ad_tracked_pfn@p(kvm_pfn_t x) { ... }

@cb_decl@
typedef kvm_pfn_t;
position p;
type T;
identifier x;
@@
T kvm_is_reserved_pfn@p(kvm_pfn_t x);

// the block of kvm_is_*(kvm_pfn_t) declarations it sits in: a step that adds a helper
// to the header puts it after the last line of that block (declarations stay together)
@cb_pfn_decl@
typedef kvm_pfn_t;
position p;
type T;
identifier x;
identifier f : script:python() { f.startswith("kvm_is_") };
@@
T f@p(kvm_pfn_t x);

@script:python@
p << cb_pfn_decl.p;
@@
cb_decl_lines.setdefault(p[0].file, set()).add(int(p[0].line))

@script:python@
d << cb_decl.p;
@@
cb_reserved_decl[d[0].file] = int(d[0].line)

// ---------- the condition or returned expression each use sits in: its last line
// (a step that adds an operand on a line of its own changes the use's condition)

@cb_span depends on report@
expression C;
position c;
statement S1, S2;
@@
(
if (C@c) S1 else S2
|
if (C@c) S1
|
return C@c;
)

@script:python@
c << cb_span.c;
@@
cb_spans.setdefault(c[0].file, []).append((int(c[0].line), int(c[0].line_end)))

// ------------------------------------------------------------ report mode

@script:python depends on report@
p << cb_use.p;
E << cb_use.E;
@@
neg = "neg" in cb_tags.get(cb_key(p), set())
cb_print("site", p, cls=cb_class(p), line_end=cb_line_end(p),
         expression=("!" if neg else "") + "kvm_is_reserved_pfn(" + E + ")",
         tags=sorted(cb_tags.get(cb_key(p), set())))

@script:python depends on report@
p << cb_def.p;
@@
cb_print("site", p, cls="definition", expression="kvm_is_reserved_pfn()", tags=[])

@script:python depends on report@
p << cb_decl.p;
@@
cb_print("site", p, cls="declaration", expression="kvm_is_reserved_pfn()", tags=[])

@script:python depends on report && cb_def_zd@
p << cb_def.p;
@@
cb_print("fact", p, fact="reserved_excludes_zone_device")

@script:python depends on report && cb_def_zero@
p << cb_def.p;
@@
cb_print("fact", p, fact="reserved_excludes_zero_page")

@script:python depends on report@
p << cb_zd_def.p;
@@
cb_print("fact", p, fact="zone_device_pfn_defined")

@script:python depends on report && cb_zd_count@
p << cb_zd_def.p;
@@
cb_print("fact", p, fact="zone_device_pfn_needs_refcount")

@script:python depends on report@
p << cb_ad_def.p;
@@
cb_print("fact", p, fact="ad_tracked_pfn_defined")
