// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of private memory's kernel-side rules that user space cannot
 * reach deterministically: one case per rule.
 */
#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/privmem.h>
#include <linux/set_memory.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <asm/tlbflush.h>

#define PATTERN	0xa5

/* A page filled with PATTERN and taken out of the direct map. */
static struct page *unmapped_page(struct kunit *test)
{
	unsigned long addr;
	struct page *page;

	page = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	memset(page_address(page), PATTERN, PAGE_SIZE);
	addr = (unsigned long)page_address(page);
	if (set_direct_map_invalid_noflush(page)) {
		__free_page(page);
		KUNIT_FAIL(test, "cannot unmap a page from the direct map");
		return NULL;
	}
	flush_tlb_kernel_range(addr, addr + PAGE_SIZE);
	return page;
}

static void mapped_page_free(struct page *page)
{
	set_direct_map_default_noflush(page);
	__free_page(page);
}

/* The alias reaches the page while the direct map does not. */
static void privmem_vmap_reaches_unmapped_page(struct kunit *test)
{
	struct page *page = unmapped_page(test);
	u8 *va;

	if (!page)
		return;
	va = privmem_vmap(&page, 1);
	KUNIT_ASSERT_NOT_NULL(test, va);
	KUNIT_EXPECT_EQ(test, va[0], PATTERN);
	KUNIT_EXPECT_EQ(test, va[PAGE_SIZE - 1], PATTERN);
	KUNIT_EXPECT_FALSE(test, kernel_page_present(page));
	vunmap(va);
	mapped_page_free(page);
}

/*
 * vread(), which /proc/kcore uses for the vmalloc range, copies through
 * the direct map: on the alias of a page out of it, it must read a hole
 * (zeroes), not fault and not return the content.
 */
static void privmem_vmap_is_a_hole_to_vread(struct kunit *test)
{
	struct page *page = unmapped_page(test);
	char *buf;
	u8 *va;
	int i;

	if (!page)
		return;
	buf = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	memset(buf, 0xff, PAGE_SIZE);
	va = privmem_vmap(&page, 1);
	KUNIT_ASSERT_NOT_NULL(test, va);
	vread(buf, (char *)va, PAGE_SIZE);
	for (i = 0; i < PAGE_SIZE; i++)
		if (buf[i])
			break;
	KUNIT_EXPECT_EQ(test, i, PAGE_SIZE);
	vunmap(va);
	mapped_page_free(page);
}

static struct kunit_case privmem_test_cases[] = {
	KUNIT_CASE(privmem_vmap_reaches_unmapped_page),
	KUNIT_CASE(privmem_vmap_is_a_hole_to_vread),
	{}
};

static struct kunit_suite privmem_test_suite = {
	.name = "privmem",
	.test_cases = privmem_test_cases,
};

kunit_test_suite(privmem_test_suite);

MODULE_LICENSE("GPL");
