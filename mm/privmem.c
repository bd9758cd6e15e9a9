// SPDX-License-Identifier: GPL-2.0
/*
 * Private memory: an fd whose pages are handed to exactly one owner (a
 * guest) by pfn, and that the host can never reach through the fd.
 *
 * The file has no read, write or splice.  Pages are allocated by the
 * kernel on demand or by fallocate(), zeroed before first use and again
 * before they go back to the page allocator, kept off the movable zones and
 * out of reclaim.  Before any page leaves the file (punch hole, release) the
 * owner is told through its privmem_guest_ops and must drop its mappings.
 *
 * Every page is either private or shared.  A private page is never in a
 * host user page table, so GUP cannot find it, and it is out of the kernel
 * direct map, so a stray kernel access (/proc/kcore, /dev/mem, a bug)
 * cannot read it; it gets the direct map back, zeroed, when it leaves the
 * file.  /dev/mem refuses to map RAM that is out of the direct map, and
 * user mappings it made before are zapped here.  privmem.direct_map=1 on
 * the command line keeps private pages mapped.  A shared page is memory
 * the owner lets the host see: a file created with PRIVMEM_MMAP can be
 * mmap()ed (MAP_SHARED only), shared pages are served to those mappings,
 * and they stay in the direct map like any page a user mapping holds, so
 * that everything that reaches user memory through the kernel (GUP and
 * kmap(), O_DIRECT, process_vm_readv(), /proc/PID/mem) works on them.  An
 * access to a private page through such a mapping gets SIGBUS.  Pages
 * start shared with PRIVMEM_SHARED, private otherwise, and the owner
 * converts ranges in place (privmem_convert()): the page and its content
 * stay, and it is made private only once no host user mapping and no GUP
 * pin holds it; it then leaves the direct map as a new private page does.
 *
 * Huge folios: where a PMD-sized, PMD-aligned range of one kind fits in
 * the file and none of it is populated yet, a PMD-order folio is tried
 * first, so the owner can map it with one 2M entry.  Converting part of it
 * leaves the folio whole, its pages of both kinds: the owner maps it
 * piecewise meanwhile and whole again once it is of one kind, host user
 * space maps its shared pages with PTEs only, and the direct map holds its
 * shared pages only.  Punching part of one splits it and frees the punched
 * pages; if the split fails (a transient reference), the range is zeroed
 * instead.  Either way what stays in the file is never lost.
 * Where the administrator reserved 1 GiB pages (mm/privmem_pool.c), a
 * 1 GiB-aligned range of a file without PRIVMEM_MMAP takes its PMD-sized
 * folios from one of them, each at its offset, so that the owner can map
 * the whole range with one 1G entry once all of it is in the file.
 */

#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/highmem.h>
#include <linux/ioport.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/privmem.h>
#include <linux/pseudo_fs.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/set_memory.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/vmalloc.h>
#include <asm/tlbflush.h>
#include "privmem_pool.h"

#define PRIVMEM_MAGIC		0x70726d6d	/* "prmm" */
#define PRIVMEM_HUGE_ORDER	(PMD_SHIFT - PAGE_SHIFT)
#define PRIVMEM_HUGE_NR		BIT(PRIVMEM_HUGE_ORDER)

/*
 * The page cache splits an entry of at most 2 * XA_CHUNK_SHIFT orders
 * (xas_split_alloc()).  With CONFIG_BASE_SMALL that is below PMD order: a
 * punch inside such a folio could neither split it nor free anything, so
 * such builds use small folios only.
 */
#define PRIVMEM_HUGE_OK		(IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) && \
				 2 * XA_CHUNK_SHIFT >= PRIVMEM_HUGE_ORDER)

/*
 * Per-file state, in inode->i_private until the inode is evicted; the
 * owner is fixed at creation and forgotten (NULL) at release, under
 * owner_lock, which memory_failure() takes with a page locked.  Pages are
 * charged to the memcg of the creator, not to whichever task happens to
 * fault them in (a vCPU thread, a helper doing fallocate()).
 */
struct privmem_ctx {
	const struct privmem_guest_ops *ops;
	unsigned int flags;		/* PRIVMEM_*, fixed at creation */
	struct maple_tree shared;	/* ranges of shared pages */
	struct mutex owner_lock;	/* owner vs. its release */
	void *owner;
	struct mem_cgroup *memcg;
};

static struct vfsmount *privmem_mnt;

static bool privmem_keep_direct_map __ro_after_init;
module_param_named(direct_map, privmem_keep_direct_map, bool, 0400);
MODULE_PARM_DESC(direct_map, "Keep private pages in the kernel direct map");

/* Set once at init: whether pages leave the direct map. */
static bool privmem_unmap __ro_after_init;

/* Pages in all private memory files, for /proc/meminfo. */
static atomic_long_t privmem_nr_allocated = ATOMIC_LONG_INIT(0);
/* Private memory files that are open. */
static atomic_t privmem_nr_files = ATOMIC_INIT(0);

static const struct file_operations privmem_fops;
static void privmem_free_folio(struct folio *folio);

static inline struct privmem_ctx *privmem_ctx(struct inode *inode)
{
	return inode->i_private;
}

static inline pgoff_t privmem_nr_pages(struct inode *inode)
{
	return i_size_read(inode) >> PAGE_SHIFT;
}

/*
 * Whether the page at @index is shared: the host may map it, and it is in
 * the direct map, through which the kernel reaches user memory (kmap()
 * after GUP).  Kinds change with the invalidate lock held exclusively;
 * readers hold it shared.
 */
static inline bool privmem_page_shared(struct inode *inode, pgoff_t index)
{
	return mtree_load(&privmem_ctx(inode)->shared, index);
}

/*
 * Whether every page of [@start, @end) is of kind @shared.  New folios are
 * large only over a range of one kind; a conversion may later leave a
 * large folio with pages of both kinds.
 */
static bool privmem_range_is(struct inode *inode, pgoff_t start, pgoff_t end,
			     bool shared)
{
	MA_STATE(mas, &privmem_ctx(inode)->shared, start, start);
	bool entry, uniform;

	if (start >= end)
		return true;
	rcu_read_lock();
	entry = mas_walk(&mas);
	uniform = entry == shared && mas.last >= end - 1;
	rcu_read_unlock();
	return uniform;
}

/*
 * Whether the new folio whose first page is at @index leaves the direct
 * map: it is private (a new folio holds pages of one kind) and private
 * pages leave it at all.
 */
static inline bool privmem_unmaps(struct inode *inode, pgoff_t index)
{
	return privmem_unmap && !privmem_page_shared(inode, index);
}

static void privmem_clear_folio(struct folio *folio)
{
	long i, nr = folio_nr_pages(folio);

	for (i = 0; i < nr; i++) {
		clear_highpage(folio_page(folio, i));
		cond_resched();
	}
}

/*
 * Where /dev/mem can map RAM (!CONFIG_STRICT_DEVMEM), zap its user
 * mappings of the @nr pages from @page on, which have just left the
 * direct map: from now on mmap_mem() refuses them.  Cheap when nothing
 * maps /dev/mem.  They hold either a new folio's zeroes or, converted in
 * place, what the owner shared with the host until now: nothing private
 * is written to them before they are private.
 */
static void privmem_revoke_devmem(struct page *page, unsigned long nr)
{
	if (!IS_ENABLED(CONFIG_DEVMEM) || IS_ENABLED(CONFIG_STRICT_DEVMEM))
		return;
	unmap_mapping_range(iomem_get_mapping(), PFN_PHYS(page_to_pfn(page)),
			    (loff_t)nr << PAGE_SHIFT, 1);
}

/*
 * Give pages [@from, @to) of @folio their direct map back, in one change:
 * this never allocates (their mapping is either one large entry that they
 * fill or already split), which ->free_folio() relies on.  Making a
 * mapping present needs no flush.
 */
static void privmem_map_pages(struct folio *folio, long from, long to)
{
	set_direct_map_range_noflush(folio_page(folio, from), to - from, true);
}

/*
 * Take pages [@from, @to) of @folio out of the direct map in one change,
 * and out of /dev/mem's mappings; the caller flushes the TLB.  Pages that
 * fill a large direct mapping keep it, as one non-present entry, which is
 * split before their folio is (privmem_split_folio()), so that freeing
 * part of it never has to allocate.  On failure (no memory to split a
 * large direct mapping) none of them is out.
 */
static int privmem_unmap_pages(struct folio *folio, long from, long to)
{
	struct page *page = folio_page(folio, from);
	int err;

	err = set_direct_map_range_noflush(page, to - from, false);
	if (err) {
		/* Undoing what was done never needs to split anything. */
		set_direct_map_range_noflush(page, to - from, true);
		return err;
	}
	privmem_revoke_devmem(page, to - from);
	return 0;
}

/* Take @folio, whose first page is at @index, out of the direct map. */
static int privmem_unmap_folio(struct inode *inode, struct folio *folio,
			       pgoff_t index)
{
	unsigned long addr = (unsigned long)folio_address(folio);
	int err;

	if (!privmem_unmaps(inode, index))
		return 0;
	err = privmem_unmap_pages(folio, 0, folio_nr_pages(folio));
	if (!err)
		flush_tlb_kernel_range(addr, addr + folio_size(folio));
	return err;
}

/*
 * Take the private pages of [@from, @to) of @folio, in the file, out of
 * the direct map again, each run of them in one change, and flush just
 * them.
 */
static int privmem_unmap_private_range(struct inode *inode,
				       struct folio *folio, long from, long to)
{
	unsigned long addr = (unsigned long)folio_address(folio);
	long p = from, q;
	int err = 0;

	while (!err && p < to) {
		if (privmem_page_shared(inode, folio->index + p)) {
			p++;
			continue;
		}
		q = p + 1;
		while (q < to && !privmem_page_shared(inode, folio->index + q))
			q++;
		err = privmem_unmap_pages(folio, p, q);
		p = q;
	}
	flush_tlb_kernel_range(addr + from * PAGE_SIZE, addr + to * PAGE_SIZE);
	return err;
}

/* The same for all of @folio. */
static int privmem_unmap_private(struct inode *inode, struct folio *folio)
{
	return privmem_unmap_private_range(inode, folio, 0,
					   folio_nr_pages(folio));
}

/* Give all of @folio its direct map back; a shared one has it already. */
static void privmem_map_folio(struct folio *folio)
{
	if (privmem_unmap)
		privmem_map_pages(folio, 0, folio_nr_pages(folio));
}

/*
 * Split the direct mapping of @page down to 4K while it is out of the
 * direct map: from then on any part of it can come back alone without an
 * allocation.  Changing one page of a large non-present entry splits it;
 * the page itself stays non-present.  May sleep.
 */
static int privmem_split_direct_map(struct page *page)
{
	if (!privmem_unmap)
		return 0;
	return set_direct_map_invalid_noflush(page);
}

/*
 * Split the large folio @folio of @inode, locked.  A private one first has
 * its direct mapping split (privmem_split_direct_map()), so that its pages
 * can later be freed or converted one by one; a shared one is in the
 * direct map, whose mappings no split needs to change.
 */
static int privmem_split_folio(struct inode *inode, struct folio *folio)
{
	int err;

	if (!privmem_page_shared(inode, folio->index)) {
		err = privmem_split_direct_map(folio_page(folio, 0));
		if (err)
			return err;
	}
	return split_folio(folio);
}

/*
 * Insert a zeroed folio that is out of the direct map if private, TLBs
 * flushed, at @index, charging it with @gfp.  It is marked dirty because
 * its content exists nowhere else: truncation of a huge folio whose split
 * fails must keep it rather than drop it (truncate_inode_partial_folio()).
 */
static int privmem_insert_folio(struct address_space *mapping,
				struct folio *folio, pgoff_t index, gfp_t gfp)
{
	int err;

	/*
	 * A piece of the pool's 1 GiB pages stays off the LRU (see
	 * mm/privmem_pool.c); it may have been in a file before, so someone
	 * who looked it up then may still try its lock.
	 */
	if (privmem_pool_folio(folio)) {
		folio_lock(folio);
		err = __filemap_add_folio(mapping, folio, index, gfp, NULL);
	} else {
		__folio_set_locked(folio);
		err = filemap_add_folio(mapping, folio, index, gfp);
	}
	if (err) {
		folio_unlock(folio);
		privmem_map_folio(folio);
		return err;
	}
	folio_mark_uptodate(folio);
	folio_mark_dirty(folio);
	atomic_long_add(folio_nr_pages(folio), &privmem_nr_allocated);
	return 0;
}

/* Zero a new folio, take it out of the direct map if private, insert it. */
static int privmem_add_folio(struct address_space *mapping,
			     struct folio *folio, pgoff_t index, gfp_t gfp)
{
	int err;

	privmem_clear_folio(folio);
	err = privmem_unmap_folio(mapping->host, folio, index);
	if (err)
		return err;
	return privmem_insert_folio(mapping, folio, index, gfp);
}

/* Whether no page of [@index, @index + @nr) is in the file. */
static bool privmem_range_empty(struct address_space *mapping, pgoff_t index,
				pgoff_t nr)
{
	return !filemap_range_has_page(mapping, (loff_t)index << PAGE_SHIFT,
				       ((loff_t)(index + nr) << PAGE_SHIFT) - 1);
}

/*
 * Whether the PMD-sized range at @huge_index of @inode, still empty, can
 * take its folio from the 1 GiB pool: all of its 1 GiB range is in the
 * file, and the file's pages are never mapped by the host, whose page
 * tables would need the pieces split.
 */
static bool privmem_pool_fits(struct inode *inode, pgoff_t huge_index)
{
	pgoff_t base = round_down(huge_index, PRIVMEM_GIGANTIC_NR);

	return PRIVMEM_HUGE_OK && privmem_pool_active() &&
	       !(privmem_ctx(inode)->flags & PRIVMEM_MMAP) &&
	       base + PRIVMEM_GIGANTIC_NR <= privmem_nr_pages(inode) &&
	       privmem_range_empty(inode->i_mapping, huge_index,
				   PRIVMEM_HUGE_NR);
}

static struct folio *privmem_alloc_pool_folio(struct inode *inode,
					      pgoff_t huge_index, gfp_t gfp)
{
	struct folio *folio = privmem_pool_get(privmem_ctx(inode), huge_index);
	int err;

	if (!folio)
		return NULL;
	err = privmem_add_folio(inode->i_mapping, folio, huge_index,
				gfp | __GFP_NORETRY);
	if (err) {
		privmem_pool_unget(folio);
		return err == -EEXIST || err == -ENOMEM ? NULL : ERR_PTR(err);
	}
	privmem_pool_inserted(folio);
	return folio;
}

static struct folio *__privmem_alloc_folio(struct inode *inode, pgoff_t index)
{
	struct address_space *mapping = inode->i_mapping;
	gfp_t gfp = mapping_gfp_mask(mapping);
	pgoff_t huge_index = round_down(index, PRIVMEM_HUGE_NR);
	struct folio *folio;
	int err;

	if (privmem_pool_fits(inode, huge_index)) {
		folio = privmem_alloc_pool_folio(inode, huge_index, gfp);
		if (folio)
			return folio;
	}

	/*
	 * Not where part of the range is populated: the folio would be
	 * allocated and zeroed only to be refused with -EEXIST.
	 */
	if (PRIVMEM_HUGE_OK &&
	    huge_index + PRIVMEM_HUGE_NR <= privmem_nr_pages(inode) &&
	    privmem_range_is(inode, huge_index, huge_index + PRIVMEM_HUGE_NR,
			     privmem_page_shared(inode, index)) &&
	    privmem_range_empty(mapping, huge_index, PRIVMEM_HUGE_NR)) {
		folio = folio_alloc(gfp | __GFP_NORETRY | __GFP_NOWARN,
				    PRIVMEM_HUGE_ORDER);
		if (folio) {
			err = privmem_add_folio(mapping, folio, huge_index,
						gfp | __GFP_NORETRY);
			if (!err)
				return folio;
			folio_put(folio);
			/*
			 * -EEXIST: a racing allocation populated part of it;
			 * -ENOMEM: the memcg has room for less than 2M.
			 */
			if (err != -EEXIST && err != -ENOMEM)
				return ERR_PTR(err);
		}
	}

	folio = folio_alloc(gfp, 0);
	if (!folio)
		return ERR_PTR(-ENOMEM);
	/*
	 * At memory.max, fail with -ENOMEM rather than wake the memcg OOM
	 * killer: the caller is fallocate() or a guest fault, and both can
	 * report the error to user space, which can free memory or give up.
	 */
	err = privmem_add_folio(mapping, folio, index, gfp | __GFP_RETRY_MAYFAIL);
	if (err) {
		folio_put(folio);
		return ERR_PTR(err);
	}
	return folio;
}

static struct folio *privmem_alloc_folio(struct inode *inode, pgoff_t index)
{
	struct mem_cgroup *old = set_active_memcg(privmem_ctx(inode)->memcg);
	struct folio *folio = __privmem_alloc_folio(inode, index);

	set_active_memcg(old);
	return folio;
}

/*
 * Return the folio backing @index, allocating it if needed, locked and with
 * a reference.  Caller holds the invalidate lock shared, so no hole can be
 * punched under it.
 */
static struct folio *privmem_get_folio(struct inode *inode, pgoff_t index)
{
	struct folio *folio;

	lockdep_assert_held(&inode->i_mapping->invalidate_lock);

	for (;;) {
		folio = filemap_lock_folio(inode->i_mapping, index);
		if (folio)
			return folio;
		folio = privmem_alloc_folio(inode, index);
		/* Lost a race with another allocation: look it up again. */
		if (folio != ERR_PTR(-EEXIST))
			return folio;
	}
}

/*
 * Merging.  A punch splits a PMD-sized folio and frees what it punched;
 * the holes come back as small folios when the owner faults them in or
 * fallocate() fills them.  Once every page of the PMD-sized block is in
 * the file again, private, the pieces are copied into one new PMD-sized
 * folio that takes their place, so that the owner can map the block whole
 * again.  Merging is the one place that allocates for a conversion's
 * sake (splitting never does): without memory, or while anything holds a
 * piece, the pieces stay.  The owner may refuse to let its pages move
 * (privmem_guest_ops.move_begin), and without the callback nothing moves.
 *
 * The copy never puts a private page into the direct map: the pieces and
 * the new folio, which leaves the direct map before it is written, are
 * reached through one temporary vmap() alias, through which the pieces are
 * zeroed before they go.
 */

/*
 * Whether every page of the PMD-sized block at @index is in the file, in
 * small folios (a PMD-sized one is a single entry).  Not through
 * page_cache_next_miss(), which in this kernel reports a block without a
 * hole as ending in one.
 */
static bool privmem_block_full(struct address_space *mapping, pgoff_t index)
{
	XA_STATE(xas, &mapping->i_pages, index);
	struct folio *folio;
	pgoff_t nr = 0;

	rcu_read_lock();
	xas_for_each(&xas, folio, index + PRIVMEM_HUGE_NR - 1) {
		if (xas_retry(&xas, folio))
			continue;
		if (xa_is_value(folio))
			break;
		nr++;
	}
	rcu_read_unlock();
	return nr == PRIVMEM_HUGE_NR;
}

/*
 * Whether the PMD-sized block at @index (aligned) looks mergeable: wholly
 * in the file and private, and every page present in a small folio.  A
 * hint for callers without the invalidate lock; privmem_merge() checks
 * again under it.
 */
static bool privmem_merge_candidate(struct inode *inode, pgoff_t index)
{
	struct address_space *mapping = inode->i_mapping;
	struct folio *folio;
	bool small;

	if (!PRIVMEM_HUGE_OK || !privmem_ctx(inode)->ops->move_begin)
		return false;
	if (index + PRIVMEM_HUGE_NR > privmem_nr_pages(inode) ||
	    !privmem_range_is(inode, index, index + PRIVMEM_HUGE_NR, false))
		return false;
	folio = filemap_get_folio(mapping, index);
	if (!folio)
		return false;
	small = !folio_test_large(folio);
	folio_put(folio);
	return small && privmem_block_full(mapping, index);
}

/* Unlock and drop the first @nr pieces that privmem_merge_lock() took. */
static void privmem_merge_unlock(struct page **pieces, pgoff_t nr)
{
	while (nr--) {
		unlock_page(pieces[nr]);
		put_page(pieces[nr]);
	}
}

/*
 * Lock the small folios of the block at @index, in index order, each with
 * a reference, into @pieces.  False, with nothing held, if one is missing,
 * large, poisoned or mapped by host user space (a shared page's).
 */
static bool privmem_merge_lock(struct address_space *mapping, pgoff_t index,
			       struct page **pieces)
{
	struct folio *folio;
	pgoff_t i;

	for (i = 0; i < PRIVMEM_HUGE_NR; i++) {
		folio = filemap_lock_folio(mapping, index + i);
		if (!folio)
			goto fail;
		pieces[i] = &folio->page;
		if (folio_test_large(folio) || folio_test_hwpoison(folio) ||
		    folio_mapped(folio)) {
			i++;
			goto fail;
		}
	}
	return true;

fail:
	privmem_merge_unlock(pieces, i);
	return false;
}

/*
 * Whether nothing but the page cache and the caller holds a piece: a
 * piece just added may still sit in a per-CPU LRU batch, this CPU's most
 * likely (the fault that filled the last hole ran here), so this CPU's
 * batch is drained first and every CPU's once before one counts as in use.
 */
static bool privmem_merge_unused(struct page **pieces)
{
	bool drained = false;
	pgoff_t i;

	lru_add_drain();
	for (i = 0; i < PRIVMEM_HUGE_NR; i++) {
		if (page_ref_count(pieces[i]) == 2)
			continue;
		if (drained)
			return false;
		drained = true;
		lru_add_drain_all();
		if (page_ref_count(pieces[i]) != 2)
			return false;
	}
	return true;
}

/*
 * Put @folio, locked and charged, in the page cache in place of the locked
 * @pieces of the block at @index, in one store that needs no allocation
 * (the pieces' nodes are there).  The pieces' references are frozen first,
 * so that no lockless lookup can take one of them meanwhile; false, with
 * nothing changed, if one is held after all.  On success the pieces are
 * out of the page cache, their cache reference gone, still locked.
 */
static bool privmem_merge_replace(struct address_space *mapping,
				  struct folio *folio, pgoff_t index,
				  struct page **pieces)
{
	XA_STATE_ORDER(xas, &mapping->i_pages, index, PRIVMEM_HUGE_ORDER);
	pgoff_t i, frozen;

	folio_ref_add(folio, PRIVMEM_HUGE_NR);
	folio->mapping = mapping;
	folio->index = index;

	xas_lock_irq(&xas);
	for (frozen = 0; frozen < PRIVMEM_HUGE_NR; frozen++)
		if (!page_ref_freeze(pieces[frozen], 2))
			break;
	if (frozen == PRIVMEM_HUGE_NR)
		xas_store(&xas, folio);
	if (frozen < PRIVMEM_HUGE_NR || xas_error(&xas)) {
		while (frozen--)
			page_ref_unfreeze(pieces[frozen], 2);
		xas_unlock_irq(&xas);
		folio->mapping = NULL;
		folio_ref_sub(folio, PRIVMEM_HUGE_NR);
		return false;
	}
	for (i = 0; i < PRIVMEM_HUGE_NR; i++) {
		struct folio *piece = page_folio(pieces[i]);

		__lruvec_stat_mod_folio(piece, NR_FILE_PAGES, -1);
		piece->mapping = NULL;
		/* Nothing to write back: the content lives on in @folio. */
		folio_clear_dirty(piece);
		page_ref_unfreeze(pieces[i], 1);
	}
	__lruvec_stat_mod_folio(folio, NR_FILE_PAGES, PRIVMEM_HUGE_NR);
	__lruvec_stat_mod_folio(folio, NR_FILE_THPS, PRIVMEM_HUGE_NR);
	xas_unlock_irq(&xas);
	return true;
}

/*
 * Allocate and charge the folio that the block's pieces merge into, out
 * of the direct map (TLBs flushed) when private pages leave it.
 */
static struct folio *privmem_merge_alloc(struct inode *inode)
{
	gfp_t gfp = mapping_gfp_mask(inode->i_mapping) | __GFP_NORETRY |
		    __GFP_NOWARN;
	struct mem_cgroup *old;
	struct folio *folio;
	int err;

	folio = folio_alloc(gfp, PRIVMEM_HUGE_ORDER);
	if (!folio)
		return NULL;
	old = set_active_memcg(privmem_ctx(inode)->memcg);
	err = mem_cgroup_charge(folio, NULL, gfp);
	set_active_memcg(old);
	if (err)
		goto err_put;
	if (privmem_unmap) {
		unsigned long addr = (unsigned long)folio_address(folio);

		if (privmem_unmap_pages(folio, 0, PRIVMEM_HUGE_NR))
			goto err_put;
		flush_tlb_kernel_range(addr, addr + folio_size(folio));
	}
	return folio;

err_put:
	folio_put(folio);
	return NULL;
}

/*
 * Free a merge folio that never went into the file.  It holds nothing
 * private: it is freed before the copy.
 */
static void privmem_merge_free(struct folio *folio)
{
	privmem_map_folio(folio);
	folio_put(folio);
}

/*
 * Merge the pieces of the PMD-sized block at @index into one folio, if
 * the block is still mergeable and the owner lets its pages move.  The
 * copy runs under the invalidate lock, held exclusively, with every piece
 * locked and the owner's mappings of the block gone: nothing can reach the
 * pages meanwhile.  Lock order: the invalidate lock, the pieces' locks (in
 * index order), the owner's locks (move_begin), the page cache's lock.
 *
 * Return: true if the block is one folio now.
 */
static bool __privmem_merge(struct inode *inode, pgoff_t index)
{
	struct privmem_ctx *ctx = privmem_ctx(inode);
	struct address_space *mapping = inode->i_mapping;
	pgoff_t i, end = index + PRIVMEM_HUGE_NR;
	struct folio *folio;
	struct page **pages;
	bool merged = false;
	void *va;

	lockdep_assert_held_write(&mapping->invalidate_lock);

	if (!privmem_merge_candidate(inode, index))
		return false;
	/* The pieces, then the new folio's pages, for one vmap(). */
	pages = kmalloc_array(2 * PRIVMEM_HUGE_NR, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return false;
	folio = privmem_merge_alloc(inode);
	if (!folio)
		goto out_free_pages;
	if (!privmem_merge_lock(mapping, index, pages))
		goto out_free_folio;
	if (!privmem_merge_unused(pages))
		goto out_unlock;
	for (i = 0; i < PRIVMEM_HUGE_NR; i++)
		pages[PRIVMEM_HUGE_NR + i] = folio_page(folio, i);
	va = privmem_vmap(pages, 2 * PRIVMEM_HUGE_NR);
	if (!va)
		goto out_unlock;
	if (ctx->ops->move_begin(ctx->owner, index, end))
		goto out_vunmap;

	__folio_set_locked(folio);
	merged = privmem_merge_replace(mapping, folio, index, pages);
	if (merged) {
		memcpy(va + PMD_SIZE, va, PMD_SIZE);
		/* What the pieces held must not reach the direct map. */
		memset(va, 0, PMD_SIZE);
		folio_mark_uptodate(folio);
		folio_mark_dirty(folio);
		atomic_long_add(PRIVMEM_HUGE_NR, &privmem_nr_allocated);
		folio_add_lru(folio);
		for (i = 0; i < PRIVMEM_HUGE_NR; i++)
			privmem_free_folio(page_folio(pages[i]));
	}
	folio_unlock(folio);
	ctx->ops->invalidate_end(ctx->owner, index, end);
out_vunmap:
	vunmap(va);
out_unlock:
	privmem_merge_unlock(pages, PRIVMEM_HUGE_NR);
out_free_folio:
	if (merged)
		folio_put(folio);
	else
		privmem_merge_free(folio);
out_free_pages:
	kfree(pages);
	return merged;
}

/* The same, taking the invalidate lock. */
static bool privmem_merge(struct inode *inode, pgoff_t index)
{
	bool merged;

	filemap_invalidate_lock(inode->i_mapping);
	merged = __privmem_merge(inode, index);
	filemap_invalidate_unlock(inode->i_mapping);
	return merged;
}

/* Merge what can be merged of the PMD-sized blocks that [@start, @end) touches. */
static void privmem_merge_range(struct inode *inode, pgoff_t start,
				pgoff_t end, bool locked)
{
	pgoff_t index;

	if (!PRIVMEM_HUGE_OK)
		return;
	for (index = round_down(start, PRIVMEM_HUGE_NR); index < end;
	     index += PRIVMEM_HUGE_NR) {
		if (!privmem_merge_candidate(inode, index))
			continue;
		if (locked)
			__privmem_merge(inode, index);
		else
			privmem_merge(inode, index);
		cond_resched();
	}
}

/*
 * fallocate() prepares up to this many folios (zeroed, out of the direct
 * map if private) before one kernel TLB flush, then inserts them: a flush
 * is an IPI to every CPU.
 */
#define PRIVMEM_BATCH	32

struct privmem_batch {
	struct folio *folio[PRIVMEM_BATCH];
	pgoff_t index[PRIVMEM_BATCH];
	int nr;
	bool flush;	/* a folio left the direct map */
};

/*
 * Prepare the folio for @index, at most up to @end: PMD-sized where
 * __privmem_alloc_folio() would make it so.  Returns the next index, or
 * @index itself when the caller must allocate it the slow way.
 */
static pgoff_t privmem_batch_prepare(struct inode *inode, pgoff_t index,
				     struct privmem_batch *b)
{
	struct address_space *mapping = inode->i_mapping;
	pgoff_t huge_index = round_down(index, PRIVMEM_HUGE_NR);
	gfp_t gfp = mapping_gfp_mask(mapping);
	bool shared = privmem_page_shared(inode, index);
	struct folio *folio = NULL;
	bool huge;

	/* The pool's pieces go in the slow way. */
	if (huge_index == index && privmem_pool_fits(inode, huge_index))
		return index;
	/* PMD-sized only over pages of one kind, as in the slow way. */
	huge = PRIVMEM_HUGE_OK && huge_index == index &&
	       privmem_range_empty(mapping, huge_index, PRIVMEM_HUGE_NR) &&
	       privmem_range_is(inode, huge_index,
				huge_index + PRIVMEM_HUGE_NR, shared);
	if (huge && huge_index + PRIVMEM_HUGE_NR <= privmem_nr_pages(inode))
		folio = folio_alloc(gfp | __GFP_NORETRY | __GFP_NOWARN,
				    PRIVMEM_HUGE_ORDER);
	if (!folio && !huge)
		folio = folio_alloc(gfp | __GFP_NOWARN, 0);
	if (!folio)
		return index;
	privmem_clear_folio(folio);
	if (privmem_unmaps(inode, index)) {
		if (privmem_unmap_pages(folio, 0, folio_nr_pages(folio))) {
			folio_put(folio);
			return index;
		}
		b->flush = true;
	}
	b->folio[b->nr] = folio;
	b->index[b->nr++] = index;
	return index + folio_nr_pages(folio);
}

/* Populate [@index, @end) one folio at a time, the way faults do. */
static int privmem_populate_slow(struct inode *inode, pgoff_t index,
				 pgoff_t end)
{
	while (index < end) {
		struct folio *folio = privmem_get_folio(inode, index);

		if (IS_ERR(folio))
			return PTR_ERR(folio);
		index = folio_next_index(folio);
		folio_unlock(folio);
		folio_put(folio);
	}
	return 0;
}

/*
 * Flush, then insert the prepared folios.  One that does not go in (a
 * racing allocation populated part of its range, or the memcg is at its
 * limit) is given back, and its range is populated the slow way, which
 * retries smaller or reports the error.
 */
static int privmem_batch_commit(struct inode *inode, struct privmem_batch *b)
{
	struct address_space *mapping = inode->i_mapping;
	gfp_t gfp = mapping_gfp_mask(mapping);
	struct mem_cgroup *old;
	int i, err, ret = 0;

	if (!b->nr)
		return 0;
	if (b->flush)
		flush_tlb_all();
	b->flush = false;
	for (i = 0; i < b->nr; i++) {
		struct folio *folio = b->folio[i];
		pgoff_t nr = folio_nr_pages(folio);

		old = set_active_memcg(privmem_ctx(inode)->memcg);
		err = privmem_insert_folio(mapping, folio, b->index[i],
					   gfp | (nr > 1 ? __GFP_NORETRY :
						  __GFP_RETRY_MAYFAIL));
		set_active_memcg(old);
		if (!err)
			folio_unlock(folio);
		folio_put(folio);
		if (err && !ret)
			ret = privmem_populate_slow(inode, b->index[i],
						    b->index[i] + nr);
	}
	b->nr = 0;
	return ret;
}

static long privmem_allocate(struct inode *inode, loff_t offset, loff_t len)
{
	struct address_space *mapping = inode->i_mapping;
	pgoff_t index = offset >> PAGE_SHIFT;
	pgoff_t end = (offset + len) >> PAGE_SHIFT;
	struct privmem_batch b = { .nr = 0, .flush = false };
	pgoff_t first = index;
	struct folio *folio;
	bool small = false;
	long err = 0;

	filemap_invalidate_lock_shared(mapping);
	while (index < end && !err) {
		pgoff_t next;

		if (signal_pending(current)) {
			err = -EINTR;
			break;
		}
		folio = filemap_get_folio(mapping, index);
		if (folio) {
			index = folio_next_index(folio);
			folio_put(folio);
			continue;
		}
		next = privmem_batch_prepare(inode, index, &b);
		if (next != index) {
			small |= next == index + 1;
			index = next;
			if (b.nr == PRIVMEM_BATCH) {
				err = privmem_batch_commit(inode, &b);
				cond_resched();
			}
			continue;
		}
		/* No folio prepared: the slow way, after what is pending. */
		err = privmem_batch_commit(inode, &b);
		if (!err)
			err = privmem_populate_slow(inode, index, index + 1);
		small = true;
		index++;
		cond_resched();
	}
	/* Whatever is prepared goes in, or back, even after an error. */
	if (b.nr) {
		long r = privmem_batch_commit(inode, &b);

		err = err ?: r;
	}
	filemap_invalidate_unlock_shared(mapping);
	/* Small folios may have filled the holes of a split one. */
	if (!err && small)
		privmem_merge_range(inode, first, end, false);
	return err;
}

/* Pages zeroed through one temporary alias (vm_map_ram() takes up to 64). */
#define PRIVMEM_ZERO_BATCH	16

/*
 * Zero pages [@from, @to) of @folio, a piece of a 1 GiB page, which stays
 * in the file.  Pieces serve files without PRIVMEM_MMAP only, so all their
 * pages are private: out of the direct map unless privmem.direct_map=1.
 * Such pages are reached through a temporary kernel alias of a few pages
 * at a time, from vm_map_ram(): its per-CPU blocks are torn down lazily,
 * one TLB flush for many, and vread() (so /proc/kcore) treats them as
 * holes.  The direct map is not touched at all, so neither are the other
 * CPUs' TLBs: only this CPU used the alias, and until the lazy purge
 * flushes it, its stale entries point through an address that nothing
 * uses and no new mapping reuses (as after any vunmap()).  A poisoned
 * page is skipped.  Returns the first page not zeroed: @to, or where no
 * alias could be had (no memory for a vmap block).
 */
static long privmem_zero_piece(struct folio *folio, long from, long to)
{
	struct page *pages[PRIVMEM_ZERO_BATCH];
	long i, n;
	void *va;

	if (!privmem_unmap) {
		folio_zero_range(folio, from * PAGE_SIZE, (to - from) * PAGE_SIZE);
		return to;
	}
	while (from < to) {
		n = min_t(long, to - from, PRIVMEM_ZERO_BATCH);
		for (i = 0; i < n; i++)
			pages[i] = folio_page(folio, from + i);
		va = vm_map_ram(pages, n, NUMA_NO_NODE);
		if (!va)
			break;
		for (i = 0; i < n; i++) {
			if (!PageHWPoison(pages[i]))
				clear_page(va + i * PAGE_SIZE);
		}
		vm_unmap_ram(va, n);
		from += n;
		cond_resched();
	}
	return from;
}

/*
 * A punch [@start, @end) that covers part of a piece of a 1 GiB page at
 * @index, an edge of the range: pieces never split and never leave the
 * file in part, so zero what the punch covers in place and take the piece
 * out of what the truncation below has to do, by moving @start past it or
 * @end before it.  Nothing else about the piece changes: the owner zapped
 * the range already (invalidate_begin), and the piece keeps its direct map
 * state and its place in the file.  If no alias could be had, the rest of
 * the piece is left to the truncation, which zeroes it through the direct
 * map (privmem_punch_edge()).
 */
static void privmem_punch_piece(struct address_space *mapping, pgoff_t index,
				pgoff_t *start, pgoff_t *end)
{
	struct folio *folio = filemap_lock_folio(mapping, index);
	long from, to;

	if (!folio)
		return;
	if (!privmem_pool_folio(folio) ||
	    (folio->index >= *start && folio_next_index(folio) <= *end))
		goto out;
	from = max(*start, folio->index) - folio->index;
	to = min(*end, folio_next_index(folio)) - folio->index;
	if (privmem_zero_piece(folio, from, to) != to)
		goto out;
	if (folio->index < *start)
		*start = min(folio_next_index(folio), *end);
	else
		*end = max(folio->index, *start);
out:
	folio_unlock(folio);
	folio_put(folio);
}

/*
 * A large folio at an edge of a punch that could not be split: its pages
 * [@from, @to), which the punch covers, are in the direct map from
 * privmem_punch_edge() to privmem_punch_edge_end().
 */
struct privmem_edge {
	struct folio *folio;	/* referenced; NULL if nothing was mapped */
	long from, to;
};

/*
 * truncate_inode_partial_folio() zeroes the punched part of a large folio
 * through the direct map before it tries to split it.  Split the large
 * folio at @index here first, if the punch [@start, @end) covers only part
 * of it: the punched pages then go whole, never touched.  If it cannot be
 * split (someone holds a reference for a moment, or it is a piece of a
 * 1 GiB page, which never splits), map just the punched pages back for the
 * zeroing and keep the folio, referenced, in @edge for
 * privmem_punch_edge_end().  Mapping a part of the folio alone needs its
 * direct mapping split (privmem_split_direct_map(), done once); without
 * memory for that, all of it is mapped.
 */
static void privmem_punch_edge(struct address_space *mapping, pgoff_t index,
			       pgoff_t start, pgoff_t end,
			       struct privmem_edge *edge)
{
	struct folio *folio = filemap_lock_folio(mapping, index);

	edge->folio = NULL;
	if (!folio)
		return;
	if (!folio_test_large(folio) ||
	    (folio->index >= start && folio_next_index(folio) <= end) ||
	    (!privmem_pool_folio(folio) &&
	     !privmem_split_folio(mapping->host, folio))) {
		folio_unlock(folio);
		folio_put(folio);
		return;
	}
	edge->from = max(start, folio->index) - folio->index;
	edge->to = min(end, folio_next_index(folio)) - folio->index;
	if (privmem_split_direct_map(folio_page(folio, edge->from))) {
		edge->from = 0;
		edge->to = folio_nr_pages(folio);
	}
	privmem_map_pages(folio, edge->from, edge->to);
	edge->folio = folio;
	folio_unlock(folio);
}

/*
 * Unmap again what privmem_punch_edge() mapped, if it is still in the
 * file: the pages that stay (those of a piece of a 1 GiB page, zeroed in
 * place), or the small folio left if the truncation split it after all.
 */
static void privmem_punch_edge_end(struct address_space *mapping,
				   struct privmem_edge *edge)
{
	struct folio *folio = edge->folio;
	int err = 0;

	if (!folio)
		return;
	folio_lock(folio);
	if (folio->mapping == mapping) {
		if (folio_test_large(folio))
			err = privmem_unmap_private_range(mapping->host, folio,
							  edge->from, edge->to);
		else
			err = privmem_unmap_private(mapping->host, folio);
	}
	if (err)
		pr_warn_ratelimited("privmem: folio left in the direct map\n");
	folio_unlock(folio);
	folio_put(folio);
}

static long privmem_punch_hole(struct inode *inode, loff_t offset, loff_t len)
{
	struct privmem_ctx *ctx = privmem_ctx(inode);
	struct address_space *mapping = inode->i_mapping;
	loff_t size = i_size_read(inode);
	pgoff_t start, end;

	/* As in shmem: what lies beyond the end is a hole already. */
	if (offset >= size)
		return 0;
	len = min(len, size - offset);
	start = offset >> PAGE_SHIFT;
	end = (offset + len) >> PAGE_SHIFT;

	/*
	 * Lock order: invalidate_lock, then whatever the owner takes in its
	 * callbacks.  The owner drops its mappings before the pages go.
	 */
	filemap_invalidate_lock(mapping);
	/*
	 * No page in the range, so nothing for the owner to drop: a page
	 * leaves the file only after its mappings are gone, and none can be
	 * added while the lock is held.  A conversion loop that punches the
	 * same range again and again pays only for this lookup.
	 */
	if (filemap_range_has_page(mapping, offset, offset + len - 1)) {
		struct privmem_edge first = { .folio = NULL };
		struct privmem_edge last = { .folio = NULL };
		pgoff_t from = start, to = end;

		ctx->ops->invalidate_begin(ctx->owner, start, end);
		/* What is left for the truncation: [@from, @to). */
		if (privmem_pool_active()) {
			privmem_punch_piece(mapping, from, &from, &to);
			if (from < to)
				privmem_punch_piece(mapping, to - 1, &from, &to);
		}
		if (from < to) {
			if (privmem_unmap) {
				privmem_punch_edge(mapping, from, from, to,
						   &first);
				if (!first.folio ||
				    folio_next_index(first.folio) < to)
					privmem_punch_edge(mapping, to - 1, from,
							   to, &last);
			}
			truncate_inode_pages_range(mapping,
						   (loff_t)from << PAGE_SHIFT,
						   ((loff_t)to << PAGE_SHIFT) - 1);
			privmem_punch_edge_end(mapping, &first);
			privmem_punch_edge_end(mapping, &last);
		}
		ctx->ops->invalidate_end(ctx->owner, start, end);
	}
	filemap_invalidate_unlock(mapping);
	return 0;
}

static long privmem_fallocate(struct file *file, int mode, loff_t offset,
			      loff_t len)
{
	struct inode *inode = file_inode(file);

	if (!(mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if (!PAGE_ALIGNED(offset) || !PAGE_ALIGNED(len))
		return -EINVAL;

	if (mode & FALLOC_FL_PUNCH_HOLE)
		return privmem_punch_hole(inode, offset, len);
	/* The size is fixed: nothing can be allocated beyond it. */
	if (offset + len > i_size_read(inode))
		return -EINVAL;
	return privmem_allocate(inode, offset, len);
}

static int privmem_release(struct inode *inode, struct file *file)
{
	struct privmem_ctx *ctx = privmem_ctx(inode);

	/*
	 * The owner forgets the file and drops every mapping; the pages are
	 * freed when the inode is evicted right after this, and the state
	 * with them (privmem_evict_inode()).
	 */
	mutex_lock(&ctx->owner_lock);
	ctx->ops->release(ctx->owner);
	ctx->owner = NULL;
	mutex_unlock(&ctx->owner_lock);
	atomic_dec(&privmem_nr_files);
	return 0;
}

/* What a file holds: its pages, and its folios by size. */
struct privmem_counts {
	unsigned long pages;
	unsigned long huge_pages;	/* in PMD-sized folios */
	unsigned long small_folios;	/* 4K */
	unsigned long huge_folios;	/* PMD-sized */
};

static void privmem_count_pages(struct address_space *mapping,
				struct privmem_counts *c)
{
	XA_STATE(xas, &mapping->i_pages, 0);
	struct folio *folio;

	memset(c, 0, sizeof(*c));
	/* A multi-index entry is found once: its sibling slots are skipped. */
	rcu_read_lock();
	xas_for_each(&xas, folio, ULONG_MAX) {
		if (xas_retry(&xas, folio) || xa_is_value(folio))
			continue;
		c->pages += folio_nr_pages(folio);
		/* A split leaves small folios only; no other order exists. */
		if (folio_order(folio) >= PRIVMEM_HUGE_ORDER) {
			c->huge_pages += folio_nr_pages(folio);
			c->huge_folios++;
		} else {
			c->small_folios++;
		}
		if (need_resched()) {
			xas_pause(&xas);
			cond_resched_rcu();
		}
	}
	rcu_read_unlock();
}

/* Pages of @folio that are shared: a large one may hold both kinds. */
static unsigned long privmem_folio_shared(struct inode *inode,
					  struct folio *folio)
{
	unsigned long nr = 0;
	pgoff_t i;

	if (privmem_range_is(inode, folio->index, folio_next_index(folio), true))
		return folio_nr_pages(folio);
	for (i = folio->index; i < folio_next_index(folio); i++)
		nr += privmem_page_shared(inode, i);
	return nr;
}

/*
 * Pages in the file that are shared.  The kinds are stable under the
 * invalidate lock.
 */
static unsigned long privmem_count_shared(struct inode *inode)
{
	struct folio_batch fbatch;
	unsigned long nr = 0;
	pgoff_t index = 0;
	unsigned int i;

	folio_batch_init(&fbatch);
	filemap_invalidate_lock_shared(inode->i_mapping);
	while (filemap_get_folios(inode->i_mapping, &index, ULONG_MAX, &fbatch)) {
		for (i = 0; i < folio_batch_count(&fbatch); i++) {
			struct folio *folio = fbatch.folios[i];

			nr += privmem_folio_shared(inode, folio);
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}
	filemap_invalidate_unlock_shared(inode->i_mapping);
	return nr;
}

static void privmem_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct inode *inode = file_inode(file);
	struct privmem_counts c;

	privmem_count_pages(inode->i_mapping, &c);
	seq_printf(m, "privmem_size:\t%lld\n", i_size_read(inode));
	seq_printf(m, "privmem_allocated:\t%lu\n", c.pages << PAGE_SHIFT);
	seq_printf(m, "privmem_huge:\t%lu\n", c.huge_pages << PAGE_SHIFT);
	seq_printf(m, "privmem_shared:\t%lu\n",
		   privmem_count_shared(inode) << PAGE_SHIFT);
	seq_printf(m, "privmem_folios_4k:\t%lu\n", c.small_folios);
	seq_printf(m, "privmem_folios_2m:\t%lu\n", c.huge_folios);
	if (IS_ENABLED(CONFIG_PRIVMEM_GIGANTIC))
		seq_printf(m, "privmem_gigantic:\t%lu\n",
			   privmem_pool_file_pages(privmem_ctx(inode)) << PAGE_SHIFT);
}

/*
 * A fault of a host user mapping.  Only shared pages are served; the kind
 * is looked up under the invalidate lock, which a change of kind will take
 * exclusively.  The page is mapped locked, and a change of kind locks it
 * before it unmaps the range, so a page never stays mapped past one.
 */
static vm_fault_t privmem_fault(struct vm_fault *vmf)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	struct folio *folio;
	struct page *page;

	if (vmf->pgoff >= privmem_nr_pages(inode))
		return VM_FAULT_SIGBUS;

	filemap_invalidate_lock_shared(inode->i_mapping);
	if (privmem_page_shared(inode, vmf->pgoff))
		folio = privmem_get_folio(inode, vmf->pgoff);
	else
		folio = ERR_PTR(-EACCES);
	filemap_invalidate_unlock_shared(inode->i_mapping);
	/*
	 * A private page, or no memory within the memcg limit: SIGBUS, as
	 * hugetlbfs does when its pool is empty, never the OOM killer.
	 */
	if (IS_ERR(folio))
		return VM_FAULT_SIGBUS;

	page = folio_file_page(folio, vmf->pgoff);
	if (PageHWPoison(page)) {
		folio_unlock(folio);
		folio_put(folio);
		return VM_FAULT_HWPOISON;
	}
	/*
	 * On an empty PMD, finish_fault() would map all of a PMD-sized folio
	 * at once, and a large folio may hold private pages too: give the
	 * PMD a page table, so that only this page is mapped.
	 */
	if (folio_test_large(folio) &&
	    pte_alloc(vmf->vma->vm_mm, vmf->pmd)) {
		folio_unlock(folio);
		folio_put(folio);
		return VM_FAULT_OOM;
	}
	vmf->page = page;
	return VM_FAULT_LOCKED;
}

static const struct vm_operations_struct privmem_vm_ops = {
	.fault		= privmem_fault,
};

static int privmem_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct privmem_ctx *ctx = privmem_ctx(file_inode(file));

	if (!(ctx->flags & PRIVMEM_MMAP))
		return -ENODEV;
	/*
	 * MAP_SHARED only: a private mapping would copy the owner's pages
	 * into anonymous memory that the file knows nothing of.
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;

	vma->vm_ops = &privmem_vm_ops;
	return 0;
}

/* The file is open, so its owner is set. */
static long privmem_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct privmem_ctx *ctx = privmem_ctx(file_inode(file));

	if (!ctx->ops->ioctl)
		return -ENOTTY;
	return ctx->ops->ioctl(ctx->owner, file, cmd, arg);
}

static const struct file_operations privmem_fops = {
	.release	= privmem_release,
	.unlocked_ioctl	= privmem_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= privmem_mmap,
	.fallocate	= privmem_fallocate,
	.llseek		= noop_llseek,
	.show_fdinfo	= privmem_show_fdinfo,
};

static int privmem_setattr(struct user_namespace *mnt_userns,
			   struct dentry *dentry, struct iattr *iattr)
{
	/* Neither size nor mode changes: the size is fixed at creation. */
	return -EINVAL;
}

/* st_blocks: what the file holds, in 512-byte units, as for any file. */
static int privmem_getattr(struct user_namespace *mnt_userns,
			   const struct path *path, struct kstat *stat,
			   u32 request_mask, unsigned int query_flags)
{
	struct inode *inode = d_inode(path->dentry);

	generic_fillattr(mnt_userns, inode, stat);
	stat->blocks = READ_ONCE(inode->i_mapping->nrpages) << (PAGE_SHIFT - 9);
	return 0;
}

static const struct inode_operations privmem_iops = {
	.setattr	= privmem_setattr,
	.getattr	= privmem_getattr,
};

static int privmem_migrate_folio(struct address_space *mapping,
				 struct folio *dst, struct folio *src,
				 enum migrate_mode mode)
{
	/* The owner's mappings would go stale: never move a private page. */
	return -EBUSY;
}

static void privmem_free_folio(struct folio *folio)
{
	long i, nr = folio_nr_pages(folio);

	/*
	 * Guest data must not reach the next user of the page.  Callers of
	 * ->free_folio() do not promise a context that may sleep, so the
	 * direct map comes back whole (privmem_map_folio() never allocates).
	 * A poisoned page is never used again and never touched: a small one
	 * stays out of the direct map.  A large folio that memory_failure()
	 * could not split has its poisoned page mapped again with the rest,
	 * since splitting its mapping here could need memory.
	 */
	if (folio_test_large(folio) || !PageHWPoison(&folio->page))
		privmem_map_folio(folio);
	for (i = 0; i < nr; i++) {
		struct page *page = folio_page(folio, i);

		if (!PageHWPoison(page))
			clear_highpage(page);
	}
	atomic_long_sub(nr, &privmem_nr_allocated);
	privmem_pool_free(folio);
}

/*
 * memory_failure() on a page of the file.  The page stays in the file,
 * poisoned, so that a later lookup fails with -EHWPOISON instead of
 * quietly handing the guest a new page in its place; the owner drops its
 * mappings of it now.  Lock order: the page lock (held by the caller),
 * owner_lock, then whatever the owner takes.
 */
static int privmem_error_remove_page(struct address_space *mapping,
				     struct page *page)
{
	struct privmem_ctx *ctx = privmem_ctx(mapping->host);
	struct folio *folio = page_folio(page);
	pgoff_t index = folio->index + folio_page_idx(folio, page);

	/*
	 * Its neighbours may now be freed or converted one by one (see
	 * above).  A shared page is in the direct map, which stays as is.
	 */
	if (!privmem_page_shared(mapping->host, index))
		privmem_split_direct_map(page);
	mutex_lock(&ctx->owner_lock);
	if (ctx->owner && ctx->ops->error)
		ctx->ops->error(ctx->owner, index, index + 1);
	mutex_unlock(&ctx->owner_lock);
	return 0;
}

static const struct address_space_operations privmem_aops = {
	.dirty_folio	= noop_dirty_folio,
	.migrate_folio	= privmem_migrate_folio,
	.free_folio	= privmem_free_folio,
	.error_remove_page = privmem_error_remove_page,
};

/**
 * privmem_create - create a private memory file
 * @name: name shown in /proc/PID/fd
 * @size: size in bytes, a non-zero multiple of PAGE_SIZE, fixed for life
 * @flags: PRIVMEM_MMAP: host user space may mmap() the file (MAP_SHARED)
 *	and reach its shared pages through the mapping;
 *	PRIVMEM_SHARED: every page of the file starts shared, otherwise
 *	private; privmem_convert() changes the kind of a range later
 * @ops: the owner's callbacks, all three required
 * @owner: passed back to @ops; the owner of the file, for its whole life
 *
 * Return: a new file opened read-write, or an ERR_PTR().  The caller
 * installs it in an fd; the owner's @ops->release runs when it is closed.
 */
struct file *privmem_create(const char *name, loff_t size, unsigned int flags,
			    const struct privmem_guest_ops *ops, void *owner)
{
	struct privmem_ctx *ctx;
	struct inode *inode;
	struct file *file;
	int err;

	if (size <= 0 || !PAGE_ALIGNED(size) ||
	    (flags & ~(PRIVMEM_MMAP | PRIVMEM_SHARED)))
		return ERR_PTR(-EINVAL);
	if (WARN_ON_ONCE(!ops || !ops->invalidate_begin ||
			 !ops->invalidate_end || !ops->release))
		return ERR_PTR(-EINVAL);

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return ERR_PTR(-ENOMEM);
	ctx->ops = ops;
	ctx->flags = flags;
	mt_init(&ctx->shared);
	mutex_init(&ctx->owner_lock);
	ctx->owner = owner;
	ctx->memcg = get_mem_cgroup_from_mm(current->mm);

	if (flags & PRIVMEM_SHARED) {
		err = mtree_store_range(&ctx->shared, 0,
					(size >> PAGE_SHIFT) - 1,
					xa_mk_value(1), GFP_KERNEL_ACCOUNT);
		if (err)
			goto err_free_ctx;
	}

	inode = alloc_anon_inode(privmem_mnt->mnt_sb);
	if (IS_ERR(inode)) {
		err = PTR_ERR(inode);
		goto err_free_ctx;
	}

	inode->i_private = ctx;
	inode->i_op = &privmem_iops;
	inode->i_mapping->a_ops = &privmem_aops;
	inode->i_mode |= S_IFREG;
	inode->i_size = size;
	/* Not __GFP_MOVABLE: private pages stay where the owner mapped them. */
	mapping_set_gfp_mask(inode->i_mapping, GFP_HIGHUSER);
	mapping_set_unevictable(inode->i_mapping);
	mapping_set_large_folios(inode->i_mapping);

	file = alloc_file_pseudo(inode, privmem_mnt, name, O_RDWR, &privmem_fops);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		goto err_free_inode;
	}
	file->f_flags |= O_LARGEFILE;
	atomic_inc(&privmem_nr_files);
	return file;

err_free_inode:
	inode->i_private = NULL;
	iput(inode);
err_free_ctx:
	mtree_destroy(&ctx->shared);
	mem_cgroup_put(ctx->memcg);
	kfree(ctx);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_GPL(privmem_create);

/**
 * privmem_owner - the owner of a private memory file
 * @file: any file
 * @ops: the callbacks the caller created its files with
 *
 * Return: the owner given to privmem_create() if @file is a private memory
 * file created with @ops, NULL otherwise.
 */
void *privmem_owner(struct file *file, const struct privmem_guest_ops *ops)
{
	struct privmem_ctx *ctx;

	if (file->f_op != &privmem_fops)
		return NULL;
	ctx = privmem_ctx(file_inode(file));
	return ctx && ctx->ops == ops ? ctx->owner : NULL;
}
EXPORT_SYMBOL_GPL(privmem_owner);

/**
 * privmem_get_pfn - look up, allocating if needed, the page at an offset
 * @file: a private memory file
 * @index: page index in the file
 * @pfn: returns the pfn of the page at @index
 * @order: returns the order of the folio containing it; the folio is
 *	naturally aligned in both the file and physical memory
 *
 * The page holds a reference until privmem_put_pfn().  It cannot be reused
 * before then, but the owner learns of a concurrent punch hole only through
 * its invalidate callbacks and must check for one before mapping the pfn.
 *
 * Return: 0, -EINVAL if @index is beyond the file, -ENOMEM, -EHWPOISON if
 * the page had a memory error.
 */
int privmem_get_pfn(struct file *file, pgoff_t index, unsigned long *pfn,
		    int *order)
{
	struct inode *inode = file_inode(file);
	struct address_space *mapping = inode->i_mapping;
	pgoff_t huge_index = round_down(index, PRIVMEM_HUGE_NR);
	bool added, merged = false;
	struct folio *folio;

	if (WARN_ON_ONCE(file->f_op != &privmem_fops))
		return -EINVAL;
	if (index >= privmem_nr_pages(inode))
		return -EINVAL;

retry:
	filemap_invalidate_lock_shared(mapping);
	folio = filemap_lock_folio(mapping, index);
	added = !folio;
	if (!folio)
		folio = privmem_get_folio(inode, index);
	filemap_invalidate_unlock_shared(mapping);
	if (IS_ERR(folio))
		return PTR_ERR(folio);

	/*
	 * A small folio that may have filled the last hole of a split
	 * block: merge the block and hand out its page from the new folio.
	 */
	if (added && !merged && !folio_test_large(folio) &&
	    privmem_merge_candidate(inode, huge_index)) {
		folio_unlock(folio);
		folio_put(folio);
		merged = true;
		privmem_merge(inode, huge_index);
		goto retry;
	}

	if (PageHWPoison(folio_page(folio, index - folio->index))) {
		folio_unlock(folio);
		folio_put(folio);
		return -EHWPOISON;
	}

	*pfn = folio_pfn(folio) + (index - folio->index);
	*order = folio_order(folio);
	/* All of its 1 GiB page in the file, each piece at its offset. */
	if (privmem_pool_whole(folio))
		*order = PRIVMEM_GIGANTIC_ORDER;
	folio_unlock(folio);
	return 0;
}
EXPORT_SYMBOL_GPL(privmem_get_pfn);

/**
 * privmem_put_pfn - drop the reference taken by privmem_get_pfn()
 * @pfn: the pfn it returned
 */
void privmem_put_pfn(unsigned long pfn)
{
	put_page(pfn_to_page(pfn));
}
EXPORT_SYMBOL_GPL(privmem_put_pfn);

/* The first private page of [@from, @to), or @to if there is none. */
static pgoff_t privmem_first_private(struct inode *inode, pgoff_t from,
				     pgoff_t to)
{
	MA_STATE(mas, &privmem_ctx(inode)->shared, from, from);
	pgoff_t index = from;

	rcu_read_lock();
	while (index < to) {
		mas_set(&mas, index);
		if (!mas_walk(&mas))
			break;
		if (mas.last >= to - 1) {
			index = to;
			break;
		}
		index = mas.last + 1;
	}
	rcu_read_unlock();
	return index;
}

/*
 * Before some pages of the large folio at @index, cut by the conversion of
 * [@start, @end) to shared, get their direct map back without the rest,
 * split the folio's direct mapping while it is out of the direct map
 * (privmem_split_direct_map() on one of its private pages): mapping them
 * back then never allocates.  The folio itself stays whole.
 */
static int privmem_split_direct_edge(struct inode *inode, pgoff_t index,
				     pgoff_t start, pgoff_t end)
{
	struct folio *folio = filemap_lock_folio(inode->i_mapping, index);
	pgoff_t first, next;
	int err = 0;

	if (!folio)
		return 0;
	next = folio_next_index(folio);
	if (folio_test_large(folio) && (folio->index < start || next > end)) {
		first = privmem_first_private(inode, folio->index, next);
		if (first < next)
			err = privmem_split_direct_map(folio_file_page(folio,
								       first));
	}
	folio_unlock(folio);
	folio_put(folio);
	return err;
}

/* The same for the folios at both edges; -ENOMEM on failure. */
static int privmem_split_direct_edges(struct inode *inode, pgoff_t start,
				      pgoff_t end)
{
	int err;

	if (!privmem_unmap)
		return 0;
	err = privmem_split_direct_edge(inode, start, start, end);
	if (!err)
		err = privmem_split_direct_edge(inode, end - 1, start, end);
	return err ? -ENOMEM : 0;
}

/*
 * Whether nothing holds @folio, locked, but the page cache and the caller:
 * no user mapping, no GUP pin, no I/O, no fault about to map it.  A folio
 * waiting in a per-CPU LRU batch holds a reference too, so the batches are
 * drained once before a folio counts as in use.
 */
static bool privmem_folio_unused(struct folio *folio, bool *drained)
{
	int want = folio_nr_pages(folio) + 1;

	if (folio_mapped(folio))
		return false;
	if (folio_ref_count(folio) == want)
		return true;
	if (*drained)
		return false;
	*drained = true;
	lru_add_drain_all();
	return folio_ref_count(folio) == want;
}

/*
 * Check that no page of [@start, @end) is in use by anyone but the owner's
 * guest, after unmapping the range from host user space.  With the
 * invalidate lock held no fault maps a page of the range again and no
 * lookup hands one out; a fault that looked one up before holds its lock
 * until it is mapped, and is unmapped once the lock is ours.
 */
static int privmem_check_unused(struct address_space *mapping, pgoff_t start,
				pgoff_t end, pgoff_t *err_index)
{
	struct folio_batch fbatch;
	pgoff_t index = start;
	bool drained = false;
	unsigned int i;
	int err = 0;

	unmap_mapping_pages(mapping, start, end - start, false);

	folio_batch_init(&fbatch);
	while (!err && filemap_get_folios(mapping, &index, end - 1, &fbatch)) {
		for (i = 0; !err && i < folio_batch_count(&fbatch); i++) {
			struct folio *folio = fbatch.folios[i];

			folio_lock(folio);
			if (folio_mapped(folio))
				unmap_mapping_pages(mapping, folio->index,
						    folio_nr_pages(folio), false);
			/*
			 * memory_failure() keeps a reference to a poisoned
			 * page, which nobody can reach any more.
			 */
			if (!folio_test_hwpoison(folio) &&
			    !folio_test_has_hwpoisoned(folio) &&
			    !privmem_folio_unused(folio, &drained)) {
				*err_index = max(folio->index, start);
				err = -EAGAIN;
			}
			folio_unlock(folio);
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}
	return err;
}

/* Whether page @p of @folio is of @kind and may change its direct map. */
static bool privmem_direct_map_page(struct inode *inode, struct folio *folio,
				    long p, bool kind)
{
	return privmem_page_shared(inode, folio->index + p) == kind &&
	       !PageHWPoison(folio_page(folio, p));
}

/*
 * Put the pages of [@start, @end) whose kind is now @kind into (@map) or
 * out of the direct map, each run of them in one change: a whole PMD-sized
 * folio keeps a large direct mapping, as fallocate() leaves it, and pages
 * leaving it are zapped from /dev/mem's mappings as new pages are.  Taking
 * pages out can fail for want of memory to split a large direct mapping;
 * @done then tells where it stopped.
 */
static int privmem_direct_map_kind(struct inode *inode, pgoff_t start,
				   pgoff_t end, bool kind, bool map,
				   pgoff_t *done)
{
	struct folio_batch fbatch;
	pgoff_t index = start;
	long p, q, last;
	unsigned int i;
	int err = 0;

	*done = start;
	folio_batch_init(&fbatch);
	while (!err &&
	       filemap_get_folios(inode->i_mapping, &index, end - 1, &fbatch)) {
		for (i = 0; !err && i < folio_batch_count(&fbatch); i++) {
			struct folio *folio = fbatch.folios[i];

			p = max(folio->index, start) - folio->index;
			last = min(folio_next_index(folio), end) - folio->index;
			/*
			 * A large folio may hold both kinds: runs of pages.
			 * A poisoned page keeps the direct map
			 * memory_failure() left it.
			 */
			while (!err && p < last) {
				if (!privmem_direct_map_page(inode, folio, p, kind)) {
					p++;
					continue;
				}
				q = p + 1;
				while (q < last &&
				       privmem_direct_map_page(inode, folio, q, kind))
					q++;
				if (map)
					privmem_map_pages(folio, p, q);
				else
					err = privmem_unmap_pages(folio, p, q);
				if (!err)
					*done = folio->index + q;
				p = q;
			}
		}
		folio_batch_release(&fbatch);
	}
	/* Pages scattered over the direct map: one flush for all of them. */
	if (!map && *done > start)
		flush_tlb_all();
	return err;
}

/*
 * Give the direct map to the pages of [@start, @end) that become shared,
 * or take it from those that become private, all or none of them.
 */
static int privmem_direct_map_range(struct inode *inode, pgoff_t start,
				    pgoff_t end, bool shared)
{
	pgoff_t done;
	int err;

	if (!privmem_unmap)
		return 0;
	err = privmem_direct_map_kind(inode, start, end, !shared, shared, &done);
	if (err && done > start)
		privmem_direct_map_kind(inode, start, done, true, true, &done);
	return err;
}

/**
 * privmem_convert - make a range of a private memory file shared or private
 * @file: a private memory file
 * @start: first page index of the range
 * @end: page index after the range
 * @shared: the new kind of its pages
 * @err_index: set to the first page in use when making them private fails
 *	with -EAGAIN
 *
 * The pages keep their content either way; pages not allocated yet take
 * the new kind when they are.  Making pages private first removes them
 * from every host user mapping and fails with -EAGAIN, changing nothing,
 * while anything else holds one of them (a GUP pin, I/O in flight, a
 * fault about to map it): the caller may retry once the user lets go.
 * A large folio is converted in part without being split, so a pin on a
 * shared page of it holds off the conversion of its other pages too.
 * Private pages leave the direct map; shared ones are mapped there again
 * and can be mapped by host user space (PRIVMEM_MMAP).  The allocator does
 * not tell the owner: the owner decides on a conversion and drops its own
 * mappings of the pages as its kinds require.
 *
 * Lock order: the invalidate lock (held exclusively, so no fault or lookup
 * sees a kind change half done), the folio locks (the direct map split,
 * the in-use check), then the lock of the tree of kinds.  The direct map and
 * /dev/mem's mappings change under the invalidate lock alone, as in
 * fallocate().
 *
 * Return: 0, -EINVAL for a range not in the file, -EAGAIN, -ENOMEM.
 */
int privmem_convert(struct file *file, pgoff_t start, pgoff_t end,
		    bool shared, pgoff_t *err_index)
{
	MA_STATE(mas, &privmem_ctx(file_inode(file))->shared, start, end - 1);
	MA_STATE(nb, mas.tree, 0, 0);
	struct inode *inode = file_inode(file);
	struct privmem_ctx *ctx = privmem_ctx(inode);
	unsigned long first = start, last = end - 1;
	void *entry = shared ? xa_mk_value(1) : NULL;
	int err;

	if (WARN_ON_ONCE(file->f_op != &privmem_fops))
		return -EINVAL;
	if (start >= end || end > privmem_nr_pages(inode))
		return -EINVAL;

	filemap_invalidate_lock(inode->i_mapping);
	/* The store below cannot fail: its nodes are allocated up front. */
	err = mas_preallocate(&mas, entry, GFP_KERNEL_ACCOUNT);
	if (err)
		goto out;
	if (shared)
		err = privmem_split_direct_edges(inode, start, end);
	else
		err = privmem_check_unused(inode->i_mapping, start, end,
					   err_index);
	if (!err)
		err = privmem_direct_map_range(inode, start, end, shared);
	if (err) {
		mas_destroy(&mas);
		goto out;
	}

	/* One entry for a run of shared pages, however it was made. */
	mtree_lock(&ctx->shared);
	if (shared && first) {
		mas_set(&nb, first - 1);
		if (mas_walk(&nb))
			first = nb.index;
	}
	if (shared && last != ULONG_MAX) {
		mas_set(&nb, last + 1);
		if (mas_walk(&nb))
			last = nb.last;
	}
	mas_set_range(&mas, first, last);
	mas_store_prealloc(&mas, entry);
	mtree_unlock(&ctx->shared);
	/* A split block whose pieces are all private again merges. */
	if (!shared)
		privmem_merge_range(inode, start, end, true);
out:
	filemap_invalidate_unlock(inode->i_mapping);
	return err;
}
EXPORT_SYMBOL_GPL(privmem_convert);

/**
 * privmem_total_pages - pages held by all private memory files
 *
 * Return: the number of pages, as shown by /proc/meminfo.
 */
unsigned long privmem_total_pages(void)
{
	return max(atomic_long_read(&privmem_nr_allocated), 0L);
}

/**
 * privmem_mapping - whether an address space is a private memory file's
 * @mapping: the address space
 *
 * Return: true for the mapping of a private memory file.
 */
bool privmem_mapping(struct address_space *mapping)
{
	return mapping && mapping->a_ops == &privmem_aops;
}

/**
 * privmem_active - whether any private memory exists
 *
 * Return: true while a private memory file is open or holds pages.
 */
bool privmem_active(void)
{
	return atomic_read(&privmem_nr_files) ||
	       atomic_long_read(&privmem_nr_allocated) > 0;
}

static void privmem_evict_inode(struct inode *inode)
{
	struct privmem_ctx *ctx = privmem_ctx(inode);

	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	if (ctx) {
		mtree_destroy(&ctx->shared);
		mem_cgroup_put(ctx->memcg);
		mutex_destroy(&ctx->owner_lock);
		kfree(ctx);
	}
}

static const struct super_operations privmem_sops = {
	.statfs		= simple_statfs,
	.drop_inode	= generic_delete_inode,
	.evict_inode	= privmem_evict_inode,
};

static int privmem_init_fs_context(struct fs_context *fc)
{
	struct pseudo_fs_context *ctx = init_pseudo(fc, PRIVMEM_MAGIC);

	if (!ctx)
		return -ENOMEM;
	ctx->ops = &privmem_sops;
	return 0;
}

static struct file_system_type privmem_fs = {
	.name		= "privmem",
	.init_fs_context = privmem_init_fs_context,
	.kill_sb	= kill_anon_super,
};

static int __init privmem_init(void)
{
	privmem_mnt = kern_mount(&privmem_fs);
	if (IS_ERR(privmem_mnt))
		return PTR_ERR(privmem_mnt);

	privmem_unmap = !privmem_keep_direct_map && can_set_direct_map();

	/* Nothing from a private memory file is ever executed by the host. */
	privmem_mnt->mnt_flags |= MNT_NOEXEC;
	return 0;
}
fs_initcall(privmem_init);
