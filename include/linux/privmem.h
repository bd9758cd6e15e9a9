/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private memory: an fd whose pages belong to exactly one owner (a guest).
 * Its private pages are never reachable by the host through the fd: no
 * read, write, mmap, splice or GUP.  The owner reaches the pages by pfn
 * through privmem_get_pfn(); the allocator tells the owner before any page
 * goes away through the privmem_guest_ops it was created with.  A file
 * created with PRIVMEM_MMAP can be mapped by host user space, which then
 * reaches the file's shared pages, and only those.
 */
#ifndef _LINUX_PRIVMEM_H
#define _LINUX_PRIVMEM_H

#include <linux/bits.h>
#include <linux/types.h>
#include <linux/err.h>
#include <linux/vmalloc.h>

struct address_space;
struct file;

/* privmem_create() flags */
#define PRIVMEM_MMAP		BIT(0)	/* mmap() of shared pages */
#define PRIVMEM_SHARED		BIT(1)	/* every page is shared */

/**
 * struct privmem_guest_ops - allocator-to-owner callbacks
 * @invalidate_begin: pages [@start, @end) (file page indices) are about to
 *	be freed; the owner must drop every mapping of them before returning
 *	and must not map them again until @invalidate_end.  Called with the
 *	file's invalidate lock held exclusively, may sleep.
 * @invalidate_end: the invalidation of [@start, @end) is over.
 * @release: the file's last reference is gone.  The owner must drop every
 *	mapping of the file's pages and forget the file before returning;
 *	the pages are freed right after it.  Called once.
 * @error: optional; a memory error hit pages [@start, @end).  They stay
 *	in the file, poisoned, and privmem_get_pfn() fails on them with
 *	-EHWPOISON; the owner must drop its mappings of them before
 *	returning.  Called with the page locked, may sleep.
 * @ioctl: optional; an ioctl() on the file, which the owner defines (the
 *	allocator has none of its own).  Without it every ioctl fails with
 *	-ENOTTY.
 * @move_begin: optional; pages [@start, @end), all private, are about to
 *	be replaced by copies of them in one new folio (the pieces of a
 *	split huge folio merged again).  Returning 0 lets them move: the
 *	owner then drops its mappings of them as for @invalidate_begin, and
 *	@invalidate_end follows.  An error (the owner cannot let these pages
 *	move, because a vendor owns them, say) keeps them where they are,
 *	with nothing to end.  Without it no page is ever moved.  Called with
 *	the file's invalidate lock held exclusively, may sleep.
 *
 * An owner is set exactly once, at privmem_create(), and never changes.
 */
struct privmem_guest_ops {
	void (*invalidate_begin)(void *owner, pgoff_t start, pgoff_t end);
	void (*invalidate_end)(void *owner, pgoff_t start, pgoff_t end);
	void (*release)(void *owner);
	void (*error)(void *owner, pgoff_t start, pgoff_t end);
	long (*ioctl)(void *owner, struct file *file, unsigned int cmd,
		      unsigned long arg);
	int (*move_begin)(void *owner, pgoff_t start, pgoff_t end);
};

/*
 * A kernel alias of @count pages that may be out of the direct map.  vread()
 * (read_kcore() of the vmalloc range) copies vmalloc areas through the
 * direct map, where such pages fault; it treats VM_IOREMAP areas as holes,
 * so the alias is one of those.
 */
static inline void *privmem_vmap(struct page **pages, unsigned int count)
{
	return vmap(pages, count, VM_MAP | VM_IOREMAP, PAGE_KERNEL);
}

#ifdef CONFIG_PRIVMEM

struct file *privmem_create(const char *name, loff_t size, unsigned int flags,
			    const struct privmem_guest_ops *ops, void *owner);
void *privmem_owner(struct file *file, const struct privmem_guest_ops *ops);
int privmem_get_pfn(struct file *file, pgoff_t index, unsigned long *pfn,
		    int *order);
void privmem_put_pfn(unsigned long pfn);
int privmem_convert(struct file *file, pgoff_t start, pgoff_t end,
		    bool shared, pgoff_t *err_index);
unsigned long privmem_total_pages(void);
bool privmem_active(void);
bool privmem_mapping(struct address_space *mapping);

#else /* !CONFIG_PRIVMEM */

static inline struct file *privmem_create(const char *name, loff_t size,
					  unsigned int flags,
					  const struct privmem_guest_ops *ops,
					  void *owner)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static inline void *privmem_owner(struct file *file,
				  const struct privmem_guest_ops *ops)
{
	return NULL;
}

static inline int privmem_get_pfn(struct file *file, pgoff_t index,
				  unsigned long *pfn, int *order)
{
	return -EOPNOTSUPP;
}

static inline void privmem_put_pfn(unsigned long pfn)
{
}

static inline int privmem_convert(struct file *file, pgoff_t start,
				  pgoff_t end, bool shared, pgoff_t *err_index)
{
	return -EOPNOTSUPP;
}

static inline unsigned long privmem_total_pages(void)
{
	return 0;
}

static inline bool privmem_active(void)
{
	return false;
}

static inline bool privmem_mapping(struct address_space *mapping)
{
	return false;
}

#endif /* CONFIG_PRIVMEM */

#endif /* _LINUX_PRIVMEM_H */
