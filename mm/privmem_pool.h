/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The 1 GiB page pool of private memory (mm/privmem_pool.c), as the
 * allocator in mm/privmem.c uses it.  Not an interface outside mm/.
 */
#ifndef _MM_PRIVMEM_POOL_H
#define _MM_PRIVMEM_POOL_H

#include <linux/mm_types.h>

#define PRIVMEM_GIGANTIC_ORDER	(PUD_SHIFT - PAGE_SHIFT)
#define PRIVMEM_GIGANTIC_NR	BIT(PRIVMEM_GIGANTIC_ORDER)

#ifdef CONFIG_PRIVMEM_GIGANTIC
bool privmem_pool_active(void);
struct folio *privmem_pool_get(const void *file, pgoff_t index);
void privmem_pool_unget(struct folio *folio);
void privmem_pool_inserted(struct folio *folio);
bool privmem_pool_free(struct folio *folio);
bool privmem_pool_folio(struct folio *folio);
bool privmem_pool_whole(struct folio *folio);
unsigned long privmem_pool_file_pages(const void *file);
#else
static inline bool privmem_pool_active(void)
{
	return false;
}

static inline struct folio *privmem_pool_get(const void *file, pgoff_t index)
{
	return NULL;
}

static inline void privmem_pool_unget(struct folio *folio)
{
}

static inline void privmem_pool_inserted(struct folio *folio)
{
}

static inline bool privmem_pool_free(struct folio *folio)
{
	return false;
}

static inline bool privmem_pool_folio(struct folio *folio)
{
	return false;
}

static inline bool privmem_pool_whole(struct folio *folio)
{
	return false;
}

static inline unsigned long privmem_pool_file_pages(const void *file)
{
	return 0;
}
#endif

#endif /* _MM_PRIVMEM_POOL_H */
