// SPDX-License-Identifier: GPL-2.0
/*
 * Private memory: an fd whose pages are handed to exactly one owner (a
 * guest) by pfn, and that the host can never reach through the fd.
 *
 * The file has no read, write, splice or mmap, so its pages are never in
 * host user page tables and GUP cannot find them.  Pages are allocated by
 * the kernel on demand or by fallocate(), zeroed before first use and again
 * before they go back to the page allocator, kept off the movable zones and
 * out of reclaim.  Before any page leaves the file (punch hole, release) the
 * owner is told through its privmem_guest_ops and must drop its mappings.
 *
 * Huge folios: where a PMD-sized, PMD-aligned range fits in the file, a
 * PMD-order folio is tried first, so the owner can map it with one 2M
 * entry.  Punching part of one splits it, or zeroes the range if the split
 * fails; either way what stays in the file is never lost.
 */

#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/privmem.h>
#include <linux/pseudo_fs.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/swap.h>

#define PRIVMEM_MAGIC		0x70726d6d	/* "prmm" */
#define PRIVMEM_HUGE_ORDER	(PMD_SHIFT - PAGE_SHIFT)
#define PRIVMEM_HUGE_NR		BIT(PRIVMEM_HUGE_ORDER)

/* Per-file state, in inode->i_private; the owner is fixed at creation. */
struct privmem_ctx {
	const struct privmem_guest_ops *ops;
	void *owner;
};

static struct vfsmount *privmem_mnt;

static const struct file_operations privmem_fops;

static inline struct privmem_ctx *privmem_ctx(struct inode *inode)
{
	return inode->i_private;
}

static inline pgoff_t privmem_nr_pages(struct inode *inode)
{
	return i_size_read(inode) >> PAGE_SHIFT;
}

static void privmem_clear_folio(struct folio *folio, bool can_sleep)
{
	long i, nr = folio_nr_pages(folio);

	for (i = 0; i < nr; i++) {
		clear_highpage(folio_page(folio, i));
		if (can_sleep)
			cond_resched();
	}
}

/*
 * Zero a new folio and insert it at @index.  It is marked dirty because
 * its content exists nowhere else: truncation of a huge folio whose split
 * fails must keep it rather than drop it (truncate_inode_partial_folio()).
 */
static int privmem_add_folio(struct address_space *mapping,
			     struct folio *folio, pgoff_t index)
{
	int err;

	privmem_clear_folio(folio, true);
	__folio_set_locked(folio);
	err = filemap_add_folio(mapping, folio, index, mapping_gfp_mask(mapping));
	if (err) {
		__folio_clear_locked(folio);
		return err;
	}
	folio_mark_uptodate(folio);
	folio_mark_dirty(folio);
	return 0;
}

static struct folio *privmem_alloc_folio(struct inode *inode, pgoff_t index)
{
	struct address_space *mapping = inode->i_mapping;
	gfp_t gfp = mapping_gfp_mask(mapping);
	pgoff_t huge_index = round_down(index, PRIVMEM_HUGE_NR);
	struct folio *folio;
	int err;

	if (IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) &&
	    huge_index + PRIVMEM_HUGE_NR <= privmem_nr_pages(inode)) {
		folio = folio_alloc(gfp | __GFP_NORETRY | __GFP_NOWARN,
				    PRIVMEM_HUGE_ORDER);
		if (folio) {
			err = privmem_add_folio(mapping, folio, huge_index);
			if (!err)
				return folio;
			folio_put(folio);
			/* -EEXIST: part of the range is populated already. */
			if (err != -EEXIST)
				return ERR_PTR(err);
		}
	}

	folio = folio_alloc(gfp, 0);
	if (!folio)
		return ERR_PTR(-ENOMEM);
	err = privmem_add_folio(mapping, folio, index);
	if (err) {
		folio_put(folio);
		return ERR_PTR(err);
	}
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

static long privmem_allocate(struct inode *inode, loff_t offset, loff_t len)
{
	struct address_space *mapping = inode->i_mapping;
	pgoff_t index = offset >> PAGE_SHIFT;
	pgoff_t end = (offset + len) >> PAGE_SHIFT;
	struct folio *folio;
	long err = 0;

	filemap_invalidate_lock_shared(mapping);
	while (index < end) {
		if (signal_pending(current)) {
			err = -EINTR;
			break;
		}
		folio = privmem_get_folio(inode, index);
		if (IS_ERR(folio)) {
			err = PTR_ERR(folio);
			break;
		}
		index = folio_next_index(folio);
		folio_unlock(folio);
		folio_put(folio);
		cond_resched();
	}
	filemap_invalidate_unlock_shared(mapping);
	return err;
}

static long privmem_punch_hole(struct inode *inode, loff_t offset, loff_t len)
{
	struct privmem_ctx *ctx = privmem_ctx(inode);
	struct address_space *mapping = inode->i_mapping;
	pgoff_t start = offset >> PAGE_SHIFT;
	pgoff_t end = (offset + len) >> PAGE_SHIFT;

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
		ctx->ops->invalidate_begin(ctx->owner, start, end);
		truncate_inode_pages_range(mapping, offset, offset + len - 1);
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
	if (offset + len > i_size_read(inode))
		return -EINVAL;

	if (mode & FALLOC_FL_PUNCH_HOLE)
		return privmem_punch_hole(inode, offset, len);
	return privmem_allocate(inode, offset, len);
}

static int privmem_release(struct inode *inode, struct file *file)
{
	struct privmem_ctx *ctx = privmem_ctx(inode);

	/*
	 * The owner forgets the file and drops every mapping; the pages are
	 * freed when the inode is evicted right after this.
	 */
	ctx->ops->release(ctx->owner);
	inode->i_private = NULL;
	kfree(ctx);
	return 0;
}

static const struct file_operations privmem_fops = {
	.release	= privmem_release,
	.fallocate	= privmem_fallocate,
	.llseek		= noop_llseek,
};

static int privmem_setattr(struct user_namespace *mnt_userns,
			   struct dentry *dentry, struct iattr *iattr)
{
	/* Neither size nor mode changes: the size is fixed at creation. */
	return -EINVAL;
}

static const struct inode_operations privmem_iops = {
	.setattr	= privmem_setattr,
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
	/*
	 * Guest data must not reach the next user of the page.  Callers of
	 * ->free_folio() do not promise a context that may sleep.
	 */
	privmem_clear_folio(folio, false);
}

static const struct address_space_operations privmem_aops = {
	.dirty_folio	= noop_dirty_folio,
	.migrate_folio	= privmem_migrate_folio,
	.free_folio	= privmem_free_folio,
};

/**
 * privmem_create - create a private memory file
 * @name: name shown in /proc/PID/fd
 * @size: size in bytes, a non-zero multiple of PAGE_SIZE, fixed for life
 * @flags: must be 0
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

	if (size <= 0 || !PAGE_ALIGNED(size) || flags)
		return ERR_PTR(-EINVAL);
	if (WARN_ON_ONCE(!ops || !ops->invalidate_begin ||
			 !ops->invalidate_end || !ops->release))
		return ERR_PTR(-EINVAL);

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return ERR_PTR(-ENOMEM);
	ctx->ops = ops;
	ctx->owner = owner;

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
	return file;

err_free_inode:
	inode->i_private = NULL;
	iput(inode);
err_free_ctx:
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
 * Return: 0, -EINVAL if @index is beyond the file, -ENOMEM.
 */
int privmem_get_pfn(struct file *file, pgoff_t index, unsigned long *pfn,
		    int *order)
{
	struct inode *inode = file_inode(file);
	struct folio *folio;

	if (WARN_ON_ONCE(file->f_op != &privmem_fops))
		return -EINVAL;
	if (index >= privmem_nr_pages(inode))
		return -EINVAL;

	filemap_invalidate_lock_shared(inode->i_mapping);
	folio = privmem_get_folio(inode, index);
	filemap_invalidate_unlock_shared(inode->i_mapping);
	if (IS_ERR(folio))
		return PTR_ERR(folio);

	*pfn = folio_pfn(folio) + (index - folio->index);
	*order = folio_order(folio);
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

static int privmem_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, PRIVMEM_MAGIC) ? 0 : -ENOMEM;
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

	/* Private pages must never be mapped into user space. */
	privmem_mnt->mnt_flags |= MNT_NOEXEC;
	return 0;
}
fs_initcall(privmem_init);
