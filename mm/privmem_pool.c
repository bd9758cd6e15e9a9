// SPDX-License-Identifier: GPL-2.0
/*
 * A pool of 1 GiB pages for private memory.
 *
 * The administrator reserves physically contiguous, 1 GiB-aligned pages
 * at boot (privmem.gigantic_pages=N) or later through
 * /sys/kernel/mm/privmem/gigantic_pages.  They come from alloc_contig_pages()
 * with GFP_KERNEL, so never from ZONE_MOVABLE, and stay the pool's until it
 * is shrunk: the rest of the kernel cannot use them meanwhile, which is
 * the point of a reservation.
 *
 * The page cache of 6.1 holds folios of at most PMD order that it can
 * split, so a 1 GiB page serves a file as 512 PMD-order folios, its
 * pieces, each always at the same offset of one 1 GiB-aligned range of one
 * file while the page is bound to that file.  When all 512 are in the file
 * the owner may map the range with one 1 GiB entry (privmem_get_pfn()
 * reports the order).  A piece leaves the file whole, through the usual
 * ->free_folio() (zeroed, direct map back), and comes back here, not to the
 * page allocator: the pool holds a reference on every piece, which also
 * makes every split of one fail cleanly, so a punch inside a piece zeroes
 * what it punches and keeps the piece (as hugetlbfs does).  Pieces are kept
 * off the LRU for the same reason: reclaim has nothing to do with them.
 * A piece that had a memory error is never handed out again.
 *
 * Locking: privmem_pool_resize_lock serialises growing and shrinking;
 * privmem_pool_lock (irq-safe: ->free_folio() promises no context) guards
 * the lists and every page's bookkeeping, and nests outside the xarray's
 * lock.
 */

#include <linux/mm.h>
#include <linux/gfp.h>
#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/memcontrol.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/sysfs.h>
#include <linux/xarray.h>
#include "internal.h"
#include "privmem_pool.h"

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX	"privmem."

#define PIECE_ORDER	(PMD_SHIFT - PAGE_SHIFT)
#define PIECE_NR	BIT(PIECE_ORDER)
#define PIECES		(PRIVMEM_GIGANTIC_NR / PIECE_NR)

/* One 1 GiB page of the pool. */
struct privmem_gigantic {
	struct list_head node;		/* on the free or the bound list */
	unsigned long pfn;		/* its first page, 1 GiB aligned */
	const void *file;		/* the file it serves; NULL when free */
	pgoff_t index;			/* that file's index of its first page */
	unsigned int nr_out;		/* pieces handed out, not yet back */
	unsigned int nr_in;		/* of those, pieces in the file */
	DECLARE_BITMAP(out, PIECES);
	DECLARE_BITMAP(retired, PIECES);	/* had a memory error */
};

static DEFINE_MUTEX(privmem_pool_resize_lock);
static DEFINE_SPINLOCK(privmem_pool_lock);
static LIST_HEAD(privmem_pool_free_list);
static LIST_HEAD(privmem_pool_bound);
/* pfn >> PRIVMEM_GIGANTIC_ORDER -> its page */
static DEFINE_XARRAY(privmem_pool_pages);
static unsigned long privmem_pool_nr;
static unsigned long privmem_pool_nr_free;

static unsigned long privmem_pool_boot __initdata;
module_param_named(gigantic_pages, privmem_pool_boot, ulong, 0400);
MODULE_PARM_DESC(gigantic_pages, "1 GiB pages to reserve for private memory at boot");

static struct privmem_gigantic *privmem_pool_lookup(struct folio *folio)
{
	return xa_load(&privmem_pool_pages,
		       folio_pfn(folio) >> PRIVMEM_GIGANTIC_ORDER);
}

static unsigned int privmem_pool_piece(struct privmem_gigantic *g,
				       struct folio *folio)
{
	return (folio_pfn(folio) - g->pfn) >> PIECE_ORDER;
}

static void privmem_pool_unbind(struct privmem_gigantic *g)
{
	lockdep_assert_held(&privmem_pool_lock);

	g->file = NULL;
	list_move(&g->node, &privmem_pool_free_list);
	privmem_pool_nr_free++;
}

/* Whether the pool has pages at all: if not, files need not ask it. */
bool privmem_pool_active(void)
{
	return READ_ONCE(privmem_pool_nr);
}

/*
 * Return the piece of the pool page bound to @file's 1 GiB range around
 * @index (PMD aligned) with a reference, binding a free page to the range
 * if none is; NULL if the pool has none or the piece is out or retired.
 * The caller zeroes and inserts it, then says so (privmem_pool_inserted()),
 * or gives it back (privmem_pool_unget()).
 */
struct folio *privmem_pool_get(const void *file, pgoff_t index)
{
	pgoff_t base = round_down(index, PRIVMEM_GIGANTIC_NR);
	unsigned int piece = (index - base) >> PIECE_ORDER;
	struct privmem_gigantic *g;
	struct folio *folio = NULL;
	unsigned long flags;

	spin_lock_irqsave(&privmem_pool_lock, flags);
	list_for_each_entry(g, &privmem_pool_bound, node) {
		if (g->file == file && g->index == base)
			goto found;
	}
	g = list_first_entry_or_null(&privmem_pool_free_list,
				     struct privmem_gigantic, node);
	if (!g)
		goto out;
	g->file = file;
	g->index = base;
	list_move(&g->node, &privmem_pool_bound);
	privmem_pool_nr_free--;
found:
	if (test_bit(piece, g->out) || test_bit(piece, g->retired)) {
		if (!g->nr_out)
			privmem_pool_unbind(g);
		goto out;
	}
	__set_bit(piece, g->out);
	g->nr_out++;
	folio = pfn_folio(g->pfn + piece * PIECE_NR);
	folio_get(folio);
out:
	spin_unlock_irqrestore(&privmem_pool_lock, flags);
	return folio;
}

/* Take back a piece that privmem_pool_get() gave and that did not go in. */
void privmem_pool_unget(struct folio *folio)
{
	struct privmem_gigantic *g = privmem_pool_lookup(folio);
	unsigned long flags;

	if (WARN_ON_ONCE(!g))
		return;
	spin_lock_irqsave(&privmem_pool_lock, flags);
	__clear_bit(privmem_pool_piece(g, folio), g->out);
	if (!--g->nr_out)
		privmem_pool_unbind(g);
	spin_unlock_irqrestore(&privmem_pool_lock, flags);
	folio_put(folio);
}

/* The piece is in its file, at its offset. */
void privmem_pool_inserted(struct folio *folio)
{
	struct privmem_gigantic *g = privmem_pool_lookup(folio);
	unsigned long flags;

	if (WARN_ON_ONCE(!g))
		return;
	spin_lock_irqsave(&privmem_pool_lock, flags);
	g->nr_in++;
	spin_unlock_irqrestore(&privmem_pool_lock, flags);
}

/*
 * From ->free_folio(), when @folio has left its file, zeroed and in the
 * direct map: if it is a piece of the pool, take it back and return true.
 * Its final reference is the pool's, so nothing else would uncharge it.
 */
bool privmem_pool_free(struct folio *folio)
{
	struct privmem_gigantic *g = privmem_pool_lookup(folio);
	unsigned int piece;
	unsigned long flags;

	if (!g)
		return false;
	mem_cgroup_uncharge(folio);
	piece = privmem_pool_piece(g, folio);
	spin_lock_irqsave(&privmem_pool_lock, flags);
	if (folio_test_has_hwpoisoned(folio))
		__set_bit(piece, g->retired);
	__clear_bit(piece, g->out);
	g->nr_in--;
	if (!--g->nr_out)
		privmem_pool_unbind(g);
	spin_unlock_irqrestore(&privmem_pool_lock, flags);
	return true;
}

bool privmem_pool_folio(struct folio *folio)
{
	return privmem_pool_lookup(folio);
}

/* Whether all of @folio's 1 GiB page is in its file. */
bool privmem_pool_whole(struct folio *folio)
{
	struct privmem_gigantic *g = privmem_pool_lookup(folio);

	return g && READ_ONCE(g->nr_in) == PIECES;
}

/* Pages of @file in 1 GiB pages that are whole in it, for its fdinfo. */
unsigned long privmem_pool_file_pages(const void *file)
{
	struct privmem_gigantic *g;
	unsigned long flags, nr = 0;

	spin_lock_irqsave(&privmem_pool_lock, flags);
	list_for_each_entry(g, &privmem_pool_bound, node) {
		if (g->file == file && g->nr_in == PIECES)
			nr += PRIVMEM_GIGANTIC_NR;
	}
	spin_unlock_irqrestore(&privmem_pool_lock, flags);
	return nr;
}

/*
 * Make the 512 pages from @head a PMD-order folio whose only reference is
 * the pool's.  They come from alloc_contig_pages() with a reference each;
 * a pfn walker may hold another for a moment, then this fails.
 */
static int privmem_pool_prep_piece(struct page *head)
{
	unsigned long i;

	for (i = 1; i < PIECE_NR; i++) {
		if (!page_ref_freeze(head + i, 1)) {
			while (--i)
				set_page_count(head + i, 1);
			return -EBUSY;
		}
	}
	prep_compound_page(head, PIECE_ORDER);
	prep_transhuge_page(head);
	return 0;
}

/*
 * Give the first @nr pieces of @g back to the page allocator, and the
 * pages of the rest, which never became pieces.
 */
static void privmem_pool_release(struct privmem_gigantic *g, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		folio_put(pfn_folio(g->pfn + i * PIECE_NR));
	if (nr < PIECES)
		free_contig_range(g->pfn + nr * PIECE_NR,
				  (PIECES - nr) * PIECE_NR);
}

static int privmem_pool_grow(void)
{
	struct privmem_gigantic *g;
	unsigned long flags;
	struct page *page;
	unsigned int i;
	int err;

	lockdep_assert_held(&privmem_pool_resize_lock);

	g = kzalloc(sizeof(*g), GFP_KERNEL);
	if (!g)
		return -ENOMEM;
	page = alloc_contig_pages(PRIVMEM_GIGANTIC_NR, GFP_KERNEL | __GFP_NOWARN,
				  numa_mem_id(), NULL);
	if (!page) {
		err = -ENOMEM;
		goto free_g;
	}
	g->pfn = page_to_pfn(page);
	for (i = 0; i < PIECES; i++) {
		err = privmem_pool_prep_piece(page + i * PIECE_NR);
		if (err)
			goto release;
	}
	err = xa_insert(&privmem_pool_pages, g->pfn >> PRIVMEM_GIGANTIC_ORDER,
			g, GFP_KERNEL);
	if (err)
		goto release;

	spin_lock_irqsave(&privmem_pool_lock, flags);
	list_add(&g->node, &privmem_pool_free_list);
	privmem_pool_nr++;
	privmem_pool_nr_free++;
	spin_unlock_irqrestore(&privmem_pool_lock, flags);
	return 0;

release:
	privmem_pool_release(g, i);
free_g:
	kfree(g);
	return err;
}

/* Whether every piece of @g holds nothing but the pool's reference. */
static bool privmem_pool_idle(struct privmem_gigantic *g)
{
	unsigned int i;

	for (i = 0; i < PIECES; i++) {
		if (folio_ref_count(pfn_folio(g->pfn + i * PIECE_NR)) != 1)
			return false;
	}
	return true;
}

static int privmem_pool_shrink(void)
{
	struct privmem_gigantic *g, *victim = NULL;
	unsigned long flags;

	lockdep_assert_held(&privmem_pool_resize_lock);

	spin_lock_irqsave(&privmem_pool_lock, flags);
	list_for_each_entry(g, &privmem_pool_free_list, node) {
		if (privmem_pool_idle(g)) {
			victim = g;
			break;
		}
	}
	if (victim) {
		list_del(&victim->node);
		xa_erase(&privmem_pool_pages,
			 victim->pfn >> PRIVMEM_GIGANTIC_ORDER);
		privmem_pool_nr--;
		privmem_pool_nr_free--;
	}
	spin_unlock_irqrestore(&privmem_pool_lock, flags);
	if (!victim)
		return -EBUSY;

	privmem_pool_release(victim, PIECES);
	kfree(victim);
	return 0;
}

/*
 * Grow or shrink the pool to @want pages.  Growing stops at the first
 * failure (-ENOMEM: no free 1 GiB range); shrinking only frees pages no
 * file uses (-EBUSY otherwise).  What was reached stays either way.
 */
static int privmem_pool_resize(unsigned long want)
{
	int err = 0;

	mutex_lock(&privmem_pool_resize_lock);
	while (!err && privmem_pool_nr < want) {
		err = privmem_pool_grow();
		cond_resched();
	}
	while (!err && privmem_pool_nr > want)
		err = privmem_pool_shrink();
	mutex_unlock(&privmem_pool_resize_lock);
	return err;
}

static ssize_t gigantic_pages_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(privmem_pool_nr));
}

static ssize_t gigantic_pages_store(struct kobject *kobj,
				    struct kobj_attribute *attr,
				    const char *buf, size_t count)
{
	unsigned long want;
	int err;

	err = kstrtoul(buf, 0, &want);
	if (err)
		return err;
	/* Not more than RAM holds: each step may scan all of it. */
	if (want > (totalram_pages() >> PRIVMEM_GIGANTIC_ORDER))
		return -EINVAL;
	err = privmem_pool_resize(want);
	return err ?: count;
}

static ssize_t gigantic_pages_free_show(struct kobject *kobj,
					struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(privmem_pool_nr_free));
}

static struct kobj_attribute gigantic_pages_attr = __ATTR_RW(gigantic_pages);
static struct kobj_attribute gigantic_pages_free_attr =
	__ATTR_RO(gigantic_pages_free);

static struct attribute *privmem_pool_attrs[] = {
	&gigantic_pages_attr.attr,
	&gigantic_pages_free_attr.attr,
	NULL,
};

static const struct attribute_group privmem_pool_group = {
	.attrs	= privmem_pool_attrs,
};

static int __init privmem_pool_init(void)
{
	struct kobject *kobj;
	int err;

	kobj = kobject_create_and_add("privmem", mm_kobj);
	if (!kobj)
		return -ENOMEM;
	err = sysfs_create_group(kobj, &privmem_pool_group);
	if (err) {
		kobject_put(kobj);
		return err;
	}
	if (privmem_pool_boot) {
		privmem_pool_resize(privmem_pool_boot);
		if (privmem_pool_nr < privmem_pool_boot)
			pr_warn("privmem: reserved %lu of %lu 1 GiB pages\n",
				privmem_pool_nr, privmem_pool_boot);
	}
	return 0;
}
late_initcall(privmem_pool_init);
