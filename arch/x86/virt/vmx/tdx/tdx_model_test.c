// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of the TDX-module model: one case per rule of the SEAMCALL
 * leaves, the PAMT, the S-EPT, TLB tracking, TDG.MEM.PAGE.ACCEPT, teardown
 * and the MRTD.
 *
 * Each case gets a model of its own whose PAMT covers a 4 MiB block of real
 * pages.  Pages 0-511 (the first 2 MiB) serve as 2 MiB guest pages; the
 * others are TD control pages, S-EPT pages and 4 KiB guest pages.
 */
#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/memblock.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/string.h>
#include <asm/tdx_model.h>

#define TEST_ORDER	10		/* 4 MiB */
#define TEST_PAGES	BIT(TEST_ORDER)
#define HUGE_PAGE	0		/* 2 MiB guest page: pages 0-511 */
#define PARAMS_PAGE	520
#define SRC_PAGE	521
#define DATA_PAGE	700		/* 4 KiB guest pages from here */

/* Guest physical layout: a 4 KiB page table at 2 MiB, a 2 MiB leaf at 4 MiB. */
#define GPA_4K		0x200000ULL
#define GPA_2M		0x400000ULL

#define HKID_A		5
#define HKID_B		6

#define S(rax)		TDXM_STATUS(rax)
#define OPID(rax)	TDXM_OPERAND(rax)

/* The pages of one TD. */
struct ttd {
	unsigned long tdr;		/* then TDXM_NR_TDCX TDCX pages */
	unsigned long tdvpr;		/* then TDXM_NR_TDVPX TDVPX pages */
	unsigned long sept;		/* S-EPT pages from here */
	u32 hkid;
};

static const struct ttd TD_A = { .tdr = 600, .tdvpr = 610, .sept = 620, .hkid = HKID_A };
static const struct ttd TD_B = { .tdr = 800, .tdvpr = 810, .sept = 820, .hkid = HKID_B };

struct tdx_test {
	struct tdx_model *m;
	struct page *block;
	u64 pfn0;
	struct tdxm_args out;		/* registers of the last call */
};

static int tdx_test_init(struct kunit *test)
{
	struct tdx_test *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, t);
	t->block = alloc_pages(GFP_KERNEL | __GFP_ZERO, TEST_ORDER);
	KUNIT_ASSERT_NOT_NULL(test, t->block);
	t->pfn0 = page_to_pfn(t->block);
	t->m = tdx_model_create(t->pfn0, TEST_PAGES);
	if (!t->m)
		__free_pages(t->block, TEST_ORDER);
	KUNIT_ASSERT_NOT_NULL(test, t->m);
	test->priv = t;
	return 0;
}

static void tdx_test_exit(struct kunit *test)
{
	struct tdx_test *t = test->priv;

	if (!t)
		return;
	tdx_model_destroy(t->m);
	__free_pages(t->block, TEST_ORDER);
}

static struct tdx_test *tt(struct kunit *test)
{
	return test->priv;
}

static u64 pa(struct kunit *test, unsigned long i)
{
	return PFN_PHYS(tt(test)->pfn0 + i);
}

static u64 tpfn(struct kunit *test, unsigned long i)
{
	return tt(test)->pfn0 + i;
}

static u8 *tva(struct kunit *test, unsigned long i)
{
	return page_address(pfn_to_page(tpfn(test, i)));
}

static u64 sc(struct kunit *test, u64 leaf, u64 rcx, u64 rdx, u64 r8, u64 r9)
{
	struct tdxm_args *a = &tt(test)->out;

	*a = (struct tdxm_args){ .rcx = rcx, .rdx = rdx, .r8 = r8, .r9 = r9 };
	return tdx_model_seamcall(tt(test)->m, leaf, a);
}

static u64 tdr(struct kunit *test, const struct ttd *td)
{
	return pa(test, td->tdr);
}

static u64 tdvpr(struct kunit *test, const struct ttd *td)
{
	return pa(test, td->tdvpr);
}

static void set_params(struct kunit *test, u16 max_vcpus, u64 pwl)
{
	struct tdxm_td_params *p = (void *)tva(test, PARAMS_PAGE);

	memset(p, 0, sizeof(*p));
	p->attributes = TDXM_ATTR_SEPT_VE_DISABLE;
	p->max_vcpus = max_vcpus;
	p->eptp_controls = pwl << 3;
}

/* TDH.MNG.CREATE, KEY.CONFIG and the TDCX pages. */
static void td_create(struct kunit *test, const struct ttd *td)
{
	int i;

	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MNG_CREATE, tdr(test, td), td->hkid, 0, 0),
			TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MNG_KEY_CONFIG, tdr(test, td), 0, 0, 0),
			TDXM_SUCCESS);
	for (i = 1; i <= TDXM_NR_TDCX; i++)
		KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MNG_ADDCX, pa(test, td->tdr + i),
					 tdr(test, td), 0, 0), TDXM_SUCCESS);
}

static void td_init(struct kunit *test, const struct ttd *td)
{
	set_params(test, 2, 3);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MNG_INIT, tdr(test, td),
				 pa(test, PARAMS_PAGE), 0, 0), TDXM_SUCCESS);
}

static void vp_create(struct kunit *test, const struct ttd *td, unsigned long vpr)
{
	int i;

	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_VP_CREATE, pa(test, vpr), tdr(test, td), 0, 0),
			TDXM_SUCCESS);
	for (i = 1; i <= TDXM_NR_TDVPX; i++)
		KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_VP_ADDCX, pa(test, vpr + i),
					 pa(test, vpr), 0, 0), TDXM_SUCCESS);
}

/*
 * An initialized TD with one vCPU and the S-EPT tables down to a 4 KiB
 * table at GPA_4K and a 2 MiB directory covering GPA_2M:
 * td->sept: PDPT, td->sept + 1: PD, td->sept + 2: PT.
 */
static void td_build(struct kunit *test, const struct ttd *td)
{
	td_create(test, td);
	td_init(test, td);
	vp_create(test, td, td->tdvpr);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_VP_INIT, tdvpr(test, td), 0, 0, 0),
			TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MEM_SEPT_ADD, 0 | 3, tdr(test, td),
				 pa(test, td->sept), 0), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MEM_SEPT_ADD, 0 | 2, tdr(test, td),
				 pa(test, td->sept + 1), 0), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MEM_SEPT_ADD, GPA_4K | 1, tdr(test, td),
				 pa(test, td->sept + 2), 0), TDXM_SUCCESS);
}

static void finalize(struct kunit *test, const struct ttd *td)
{
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MR_FINALIZE, tdr(test, td), 0, 0, 0),
			TDXM_SUCCESS);
}

static u64 add(struct kunit *test, const struct ttd *td, u64 gpa, unsigned long page)
{
	return sc(test, TDXM_TDH_MEM_PAGE_ADD, gpa, tdr(test, td), pa(test, page),
		  pa(test, SRC_PAGE));
}

static u64 aug(struct kunit *test, const struct ttd *td, u64 gpa, int level,
	       unsigned long page)
{
	return sc(test, TDXM_TDH_MEM_PAGE_AUG, gpa | level, tdr(test, td), pa(test, page), 0);
}

static u64 gpa_op(struct kunit *test, u64 leaf, const struct ttd *td, u64 gpa, int level)
{
	return sc(test, leaf, gpa | level, tdr(test, td), 0, 0);
}

static u64 track(struct kunit *test, const struct ttd *td)
{
	return sc(test, TDXM_TDH_MEM_TRACK, tdr(test, td), 0, 0, 0);
}

/* BLOCK then TRACK, both expected to succeed. */
static void block_track(struct kunit *test, const struct ttd *td, u64 gpa, int level)
{
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_BLOCK, td, gpa, level),
			TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, track(test, td), TDXM_SUCCESS);
}

static u64 accept(struct kunit *test, const struct ttd *td, u64 gpa, int level)
{
	struct tdxm_args a = { .rcx = gpa | level };

	return tdx_model_tdcall(tt(test)->m, tdvpr(test, td), TDXM_TDG_MEM_PAGE_ACCEPT, &a);
}

static int sept_state(struct kunit *test, const struct ttd *td, u64 gpa, int *level,
		      u64 *pfn)
{
	int st, l;
	u64 p;

	tdx_model_sept_lookup(tt(test)->m, tdr(test, td), gpa, &p, &l, &st);
	if (level)
		*level = l;
	if (pfn)
		*pfn = p;
	return st;
}

static int pamt_pt(struct kunit *test, unsigned long page, u64 *owner, int *level)
{
	u64 o, bepoch;
	int pt, l;

	KUNIT_EXPECT_EQ(test, tdx_model_pamt_read(tt(test)->m, tpfn(test, page), &pt, &o,
						  &bepoch, &l), 0);
	if (owner)
		*owner = o;
	if (level)
		*level = l;
	return pt;
}

/* ---- TD creation ---------------------------------------------------------- */

static void mng_create_checks(struct kunit *test)
{
	u64 owner;

	/* Table: bad operands of TDH.MNG.CREATE and what each returns. */
	static const struct {
		unsigned long page;
		u64 offset;
		u64 hkid;
		u64 status;
	} bad[] = {
		{ 600, 8, HKID_A, TDXM_OPERAND_INVALID | TDXM_OPID_RCX },
		{ 600, 0, 0, TDXM_OPERAND_INVALID | TDXM_OPID_RDX },
		{ 600, 0, TDXM_MAX_HKID + 1, TDXM_OPERAND_INVALID | TDXM_OPID_RDX },
		{ 600, TDXM_HKID_MASK & BIT_ULL(TDXM_HKID_SHIFT), HKID_A,
		  TDXM_OPERAND_INVALID | TDXM_OPID_RCX },
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		KUNIT_EXPECT_EQ_MSG(test, sc(test, TDXM_TDH_MNG_CREATE,
					     pa(test, bad[i].page) + bad[i].offset,
					     bad[i].hkid, 0, 0), bad[i].status, "case %d", i);
	/* Outside the PAMT. */
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_CREATE, pa(test, TEST_PAGES), HKID_A, 0, 0),
			TDXM_OPERAND_ADDR_RANGE_ERROR | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_CREATE, tdr(test, &TD_A), HKID_A, 0, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, pamt_pt(test, TD_A.tdr, &owner, NULL), TDXM_PT_TDR);
	KUNIT_EXPECT_EQ(test, owner, tdr(test, &TD_A));
	/* The TDR page is no longer free; the HKID is taken. */
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_CREATE, tdr(test, &TD_A), HKID_B, 0, 0),
			TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_CREATE, tdr(test, &TD_B), HKID_A, 0, 0),
			TDXM_HKID_NOT_FREE | TDXM_OPID_RDX);
	/* A page that is not a TDR is no TD. */
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_KEY_CONFIG, tdr(test, &TD_B), 0, 0, 0),
			TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_RCX);
}

static void mng_keys_before_tdcs(struct kunit *test)
{
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MNG_CREATE, tdr(test, &TD_A), HKID_A, 0, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_ADDCX, pa(test, TD_A.tdr + 1),
				 tdr(test, &TD_A), 0, 0),
			TDXM_TD_KEYS_NOT_CONFIGURED | TDXM_OPID_TDR);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_KEY_CONFIG, tdr(test, &TD_A), 0, 0, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_KEY_CONFIG, tdr(test, &TD_A), 0, 0, 0),
			TDXM_KEY_CONFIGURED);
	KUNIT_EXPECT_FALSE(test, TDXM_IS_ERROR(TDXM_KEY_CONFIGURED));
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_ADDCX, pa(test, TD_A.tdr + 1),
				 tdr(test, &TD_A), 0, 0), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, pamt_pt(test, TD_A.tdr + 1, NULL, NULL), TDXM_PT_TDCX);
	/* A control page cannot be added twice. */
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_ADDCX, pa(test, TD_A.tdr + 1),
				 tdr(test, &TD_A), 0, 0),
			TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_RCX);
}

static void mng_init_checks(struct kunit *test)
{
	int i;

	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MNG_CREATE, tdr(test, &TD_A), HKID_A, 0, 0),
			TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MNG_KEY_CONFIG, tdr(test, &TD_A), 0, 0, 0),
			TDXM_SUCCESS);
	for (i = 1; i < TDXM_NR_TDCX; i++)
		KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MNG_ADDCX, pa(test, TD_A.tdr + i),
					 tdr(test, &TD_A), 0, 0), TDXM_SUCCESS);
	set_params(test, 1, 3);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_INIT, tdr(test, &TD_A),
				 pa(test, PARAMS_PAGE), 0, 0),
			TDXM_TDCX_NUM_INCORRECT | TDXM_OPID_TDR);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MNG_ADDCX, pa(test, TD_A.tdr + TDXM_NR_TDCX),
				 tdr(test, &TD_A), 0, 0), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_ADDCX, pa(test, TD_A.tdr + 5),
				 tdr(test, &TD_A), 0, 0),
			TDXM_TDCX_NUM_INCORRECT | TDXM_OPID_RDX);
	/* Bad TD_PARAMS: no vCPUs, 5-level S-EPT, unaligned. */
	set_params(test, 0, 3);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_INIT, tdr(test, &TD_A),
				 pa(test, PARAMS_PAGE), 0, 0),
			TDXM_OPERAND_INVALID | TDXM_OPID_RDX);
	set_params(test, 1, 4);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_INIT, tdr(test, &TD_A),
				 pa(test, PARAMS_PAGE), 0, 0),
			TDXM_OPERAND_INVALID | TDXM_OPID_RDX);
	set_params(test, 1, 3);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_INIT, tdr(test, &TD_A),
				 pa(test, PARAMS_PAGE) + 64, 0, 0),
			TDXM_OPERAND_INVALID | TDXM_OPID_RDX);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_INIT, tdr(test, &TD_A),
				 pa(test, PARAMS_PAGE), 0, 0), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_INIT, tdr(test, &TD_A),
				 pa(test, PARAMS_PAGE), 0, 0),
			TDXM_OP_STATE_INCORRECT | TDXM_OPID_TDCS);
}

static void vp_create_and_init_checks(struct kunit *test)
{
	int i;

	td_create(test, &TD_A);
	/* vCPUs only once the TD is initialized. */
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_VP_CREATE, tdvpr(test, &TD_A),
				 tdr(test, &TD_A), 0, 0),
			TDXM_OP_STATE_INCORRECT | TDXM_OPID_TDCS);
	set_params(test, 1, 3);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MNG_INIT, tdr(test, &TD_A),
				 pa(test, PARAMS_PAGE), 0, 0), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_VP_CREATE, tdvpr(test, &TD_A),
				 tdr(test, &TD_A), 0, 0), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, pamt_pt(test, TD_A.tdvpr, NULL, NULL), TDXM_PT_TDVPR);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_VP_INIT, tdvpr(test, &TD_A), 0, 0, 0),
			TDXM_TDVPX_NUM_INCORRECT | TDXM_OPID_RCX);
	for (i = 1; i <= TDXM_NR_TDVPX; i++)
		KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_VP_ADDCX, pa(test, TD_A.tdvpr + i),
					 tdvpr(test, &TD_A), 0, 0), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_VP_ADDCX, pa(test, TD_A.tdvpr + 6),
				 tdvpr(test, &TD_A), 0, 0),
			TDXM_TDVPX_NUM_INCORRECT | TDXM_OPID_RDX);
	/* TDVPX pages go by the TDR's page, not a TDVPR. */
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_VP_ADDCX, pa(test, TD_A.tdvpr + 6),
				 tdr(test, &TD_A), 0, 0),
			TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_RDX);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_VP_INIT, tdvpr(test, &TD_A), 0, 0, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_VP_INIT, tdvpr(test, &TD_A), 0, 0, 0),
			TDXM_VCPU_STATE_INCORRECT | TDXM_OPID_RCX);
	/* max_vcpus is 1: a second vCPU cannot be initialized. */
	vp_create(test, &TD_A, 630);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_VP_INIT, pa(test, 630), 0, 0, 0),
			TDXM_MAX_VCPUS_EXCEEDED | TDXM_OPID_TDCS);
}

/* ---- S-EPT and pages before finalize ------------------------------------ */

static void sept_add_checks(struct kunit *test)
{
	/* Table: bad page-info operands. */
	static const u64 bad_rcx[] = {
		0 | 0,				/* level 0 has no table below */
		0 | 4,				/* beyond the top level */
		GPA_4K | 1 | BIT_ULL(5),	/* reserved bits 11:3 */
		BIT_ULL(47) | 3,		/* shared bit */
		0x1000 | 1,			/* not aligned to its level */
		BIT_ULL(60) | 3,		/* bits 63:52 */
	};
	int i;

	td_create(test, &TD_A);
	td_init(test, &TD_A);
	for (i = 0; i < ARRAY_SIZE(bad_rcx); i++)
		KUNIT_EXPECT_EQ_MSG(test, sc(test, TDXM_TDH_MEM_SEPT_ADD, bad_rcx[i],
					     tdr(test, &TD_A), pa(test, 620), 0),
				    TDXM_OPERAND_INVALID | TDXM_OPID_RCX, "case %d", i);
	/* A PD before its PDPT: the walk stops at the free level-3 entry. */
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MEM_SEPT_ADD, 0 | 2, tdr(test, &TD_A),
				 pa(test, 620), 0), TDXM_EPT_WALK_FAILED | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, tt(test)->out.rdx, 3 | (TDXM_SEPT_FREE << 8));
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MEM_SEPT_ADD, 0 | 3, tdr(test, &TD_A),
				 pa(test, 620), 0), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, pamt_pt(test, 620, NULL, NULL), TDXM_PT_EPT);
	/* The same entry again; the same page elsewhere. */
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MEM_SEPT_ADD, 0 | 3, tdr(test, &TD_A),
				 pa(test, 621), 0), TDXM_EPT_ENTRY_STATE_INCORRECT | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, tt(test)->out.rdx, 3 | (TDXM_SEPT_NL_MAPPED << 8));
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MEM_SEPT_ADD, 0 | 2, tdr(test, &TD_A),
				 pa(test, 620), 0), TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_R8);
	/* allow_existing (RDX bit 0) accepts an existing table. */
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MEM_SEPT_ADD, 0 | 3, tdr(test, &TD_A) | 1,
				 pa(test, 621), 0), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, pamt_pt(test, 621, NULL, NULL), TDXM_PT_NDA);
}

static void page_add_maps_copies_and_owns(struct kunit *test)
{
	u64 pfn, owner;
	int level, st;

	td_build(test, &TD_A);
	memset(tva(test, SRC_PAGE), 0x5a, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_4K + 0x10, &level, &pfn),
			TDXM_SEPT_MAPPED);
	KUNIT_EXPECT_EQ(test, level, TDXM_LEVEL_4K);
	KUNIT_EXPECT_EQ(test, pfn, tpfn(test, DATA_PAGE));
	KUNIT_EXPECT_EQ(test, memcmp(tva(test, DATA_PAGE), tva(test, SRC_PAGE), PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, pamt_pt(test, DATA_PAGE, &owner, NULL), TDXM_PT_REG);
	KUNIT_EXPECT_EQ(test, owner, tdr(test, &TD_A));
	/* Not mapped elsewhere: the S-EPT reports FREE. */
	KUNIT_EXPECT_EQ(test, tdx_model_sept_lookup(tt(test)->m, tdr(test, &TD_A),
						    GPA_4K + PAGE_SIZE, &pfn, &level, &st),
			-ENOENT);
}

static void page_add_checks(struct kunit *test)
{
	td_build(test, &TD_A);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE + 1),
			TDXM_EPT_ENTRY_STATE_INCORRECT | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, tt(test)->out.rdx, TDXM_LEVEL_4K | (TDXM_SEPT_MAPPED << 8));
	/* No 4 KiB table at GPA_2M. */
	KUNIT_EXPECT_EQ(test, add(test, &TD_A, GPA_2M, DATA_PAGE + 1),
			TDXM_EPT_WALK_FAILED | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, add(test, &TD_A, GPA_2M | TDXM_LEVEL_2M, DATA_PAGE + 1),
			TDXM_OPERAND_INVALID | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MEM_PAGE_ADD, GPA_4K + PAGE_SIZE,
				 tdr(test, &TD_A), pa(test, DATA_PAGE + 1),
				 pa(test, SRC_PAGE) | BIT_ULL(TDXM_HKID_SHIFT)),
			TDXM_OPERAND_INVALID | TDXM_OPID_R9);
	/* A control page is not a free page. */
	KUNIT_EXPECT_EQ(test, add(test, &TD_A, GPA_4K + PAGE_SIZE, TD_A.tdr + 1),
			TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_R8);
}

/* ---- PAMT exclusivity ------------------------------------------------------ */

static void pamt_one_gpa_per_page(struct kunit *test)
{
	td_build(test, &TD_A);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, add(test, &TD_A, GPA_4K + PAGE_SIZE, DATA_PAGE),
			TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_R8);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_4K + PAGE_SIZE, TDXM_LEVEL_4K, DATA_PAGE),
			TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_R8);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_4K + PAGE_SIZE, NULL, NULL),
			TDXM_SEPT_FREE);
}

static void pamt_one_td_per_page(struct kunit *test)
{
	td_build(test, &TD_A);
	td_build(test, &TD_B);
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_4K, TDXM_LEVEL_4K, DATA_PAGE), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_B, GPA_4K, TDXM_LEVEL_4K, DATA_PAGE),
			TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_R8);
	KUNIT_EXPECT_EQ(test, add(test, &TD_B, GPA_4K, DATA_PAGE),
			TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_R8);
	/* Nor TD A's control or S-EPT pages. */
	KUNIT_EXPECT_EQ(test, add(test, &TD_B, GPA_4K, TD_A.sept),
			TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_R8);
	KUNIT_EXPECT_EQ(test, add(test, &TD_B, GPA_4K, TD_A.tdvpr + 1),
			TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_R8);
	/* A 2 MiB AUG over a page that TD A owns. */
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_4K + PAGE_SIZE, TDXM_LEVEL_4K,
				  HUGE_PAGE + 7), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_B, GPA_2M, TDXM_LEVEL_2M, HUGE_PAGE),
			TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_R8);
}

/* ---- MRTD and finalize ------------------------------------------------- */

static void mr_extend_checks(struct kunit *test)
{
	td_build(test, &TD_A);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MR_EXTEND, GPA_4K, tdr(test, &TD_A), 0, 0),
			TDXM_EPT_ENTRY_NOT_PRESENT | TDXM_OPID_RCX);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MR_EXTEND, GPA_4K + 128, tdr(test, &TD_A), 0, 0),
			TDXM_OPERAND_INVALID | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MR_EXTEND, GPA_4K + 256, tdr(test, &TD_A), 0, 0),
			TDXM_SUCCESS);
	/* A PENDING page is not measurable. */
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_4K + PAGE_SIZE, TDXM_LEVEL_4K, DATA_PAGE + 1),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MR_EXTEND, GPA_4K + PAGE_SIZE,
				 tdr(test, &TD_A), 0, 0),
			TDXM_EPT_ENTRY_NOT_PRESENT | TDXM_OPID_RCX);
}

static void finalize_checks(struct kunit *test)
{
	u8 mrtd[TDXM_MRTD_SIZE];

	td_create(test, &TD_A);
	td_init(test, &TD_A);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MR_FINALIZE, tdr(test, &TD_A), 0, 0, 0),
			TDXM_NO_VCPUS);
	KUNIT_EXPECT_EQ(test, tdx_model_mrtd(tt(test)->m, tdr(test, &TD_A), mrtd), -EBUSY);
	vp_create(test, &TD_A, TD_A.tdvpr);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_VP_INIT, tdvpr(test, &TD_A), 0, 0, 0),
			TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MEM_SEPT_ADD, 0 | 3, tdr(test, &TD_A),
				 pa(test, TD_A.sept), 0), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MEM_SEPT_ADD, 0 | 2, tdr(test, &TD_A),
				 pa(test, TD_A.sept + 1), 0), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MEM_SEPT_ADD, GPA_4K | 1, tdr(test, &TD_A),
				 pa(test, TD_A.sept + 2), 0), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	finalize(test, &TD_A);
	KUNIT_EXPECT_EQ(test, tdx_model_mrtd(tt(test)->m, tdr(test, &TD_A), mrtd), 0);
	/* After finalize: no ADD, EXTEND, FINALIZE, new vCPUs or TDCX. */
	KUNIT_EXPECT_EQ(test, add(test, &TD_A, GPA_4K + PAGE_SIZE, DATA_PAGE + 1),
			TDXM_OP_STATE_INCORRECT | TDXM_OPID_TDCS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MR_EXTEND, GPA_4K, tdr(test, &TD_A), 0, 0),
			TDXM_OP_STATE_INCORRECT | TDXM_OPID_TDCS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MR_FINALIZE, tdr(test, &TD_A), 0, 0, 0),
			TDXM_OP_STATE_INCORRECT | TDXM_OPID_TDCS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_VP_CREATE, pa(test, 630), tdr(test, &TD_A), 0, 0),
			TDXM_OP_STATE_INCORRECT | TDXM_OPID_TDCS);
	/* AUG still works. */
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_4K + PAGE_SIZE, TDXM_LEVEL_4K, DATA_PAGE + 1),
			TDXM_SUCCESS);
}

/*
 * The expected MRTD, computed outside the kernel with Python's hashlib:
 *
 *   blk = lambda s, g: (s.encode().ljust(16, b'\0') +
 *                       struct.pack('<Q', g)).ljust(128, b'\0')
 *   page = bytes((i * 7 + 3) & 0xff for i in range(4096))
 *   h = hashlib.sha384(blk('MEM.PAGE.ADD', 0x200000))
 *   for k in range(16):
 *       h.update(blk('MR.EXTEND', 0x200000 + 256 * k))
 *       h.update(page[256 * k:256 * k + 256])
 *   h.update(blk('MEM.PAGE.ADD', 0x201000))
 *   h.digest()
 */
static const u8 mrtd_expected[TDXM_MRTD_SIZE] = {
	0x2a, 0xcd, 0x13, 0xa4, 0xff, 0x3f, 0x15, 0xf6, 0x97, 0xc4, 0x30, 0x32,
	0x21, 0xcf, 0x14, 0x90, 0x9c, 0x8b, 0x8e, 0xae, 0xdc, 0x39, 0xfd, 0xa3,
	0x9b, 0xfd, 0x13, 0x0a, 0x19, 0x3b, 0x46, 0x04, 0x61, 0x34, 0xf6, 0xec,
	0x16, 0x64, 0xea, 0x70, 0x8d, 0xb2, 0x3a, 0x91, 0x41, 0x2d, 0xad, 0xbc,
};

static void mrtd_known_answer(struct kunit *test)
{
	u8 mrtd[TDXM_MRTD_SIZE];
	u8 *src = tva(test, SRC_PAGE);
	int i;

	for (i = 0; i < PAGE_SIZE; i++)
		src[i] = (i * 7 + 3) & 0xff;
	td_build(test, &TD_A);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	for (i = 0; i < 16; i++)
		KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MR_EXTEND, GPA_4K + 256 * i,
					 tdr(test, &TD_A), 0, 0), TDXM_SUCCESS);
	/* Only the GPA of an unextended page counts, not its contents. */
	memset(src, 0xee, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K + PAGE_SIZE, DATA_PAGE + 1), TDXM_SUCCESS);
	finalize(test, &TD_A);
	KUNIT_ASSERT_EQ(test, tdx_model_mrtd(tt(test)->m, tdr(test, &TD_A), mrtd), 0);
	KUNIT_EXPECT_EQ(test, memcmp(mrtd, mrtd_expected, sizeof(mrtd)), 0);
}

/* ---- AUG, BLOCK, TRACK, REMOVE --------------------------------------------- */

static void aug_pending_4k_and_2m(struct kunit *test)
{
	u64 pfn;
	int level;

	td_build(test, &TD_A);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_4K, TDXM_LEVEL_4K, DATA_PAGE), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_4K, NULL, NULL), TDXM_SEPT_PENDING);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_4K, TDXM_LEVEL_4K, DATA_PAGE + 1),
			TDXM_EPT_ENTRY_STATE_INCORRECT | TDXM_OPID_RCX);
	/* 2 MiB: the host page must be 2 MiB aligned. */
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_2M, TDXM_LEVEL_2M, HUGE_PAGE + 1),
			TDXM_OPERAND_INVALID | TDXM_OPID_R8);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_2M + PAGE_SIZE, TDXM_LEVEL_2M, HUGE_PAGE),
			TDXM_OPERAND_INVALID | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_2M, TDXM_LEVEL_1G, HUGE_PAGE),
			TDXM_OPERAND_INVALID | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_2M, TDXM_LEVEL_2M, HUGE_PAGE), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_2M + 5 * PAGE_SIZE, &level, &pfn),
			TDXM_SEPT_PENDING);
	KUNIT_EXPECT_EQ(test, level, TDXM_LEVEL_2M);
	KUNIT_EXPECT_EQ(test, pfn, tpfn(test, HUGE_PAGE + 5));
	KUNIT_EXPECT_EQ(test, pamt_pt(test, HUGE_PAGE + 5, NULL, &level), TDXM_PT_REG);
	KUNIT_EXPECT_EQ(test, level, TDXM_LEVEL_2M);
	/* Its 4 KiB pages are owned too. */
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_4K + PAGE_SIZE, TDXM_LEVEL_4K, HUGE_PAGE + 5),
			TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_R8);
}

static void block_transitions(struct kunit *test)
{
	u64 bepoch, owner;
	int pt, level;

	td_build(test, &TD_A);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_4K + PAGE_SIZE, TDXM_LEVEL_4K, DATA_PAGE + 1),
			TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, track(test, &TD_A), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_BLOCK, &TD_A, GPA_4K, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_4K, NULL, NULL), TDXM_SEPT_BLOCKED);
	/* BEPOCH is the TD's epoch: 1 at init, 2 after one TRACK. */
	KUNIT_EXPECT_EQ(test, tdx_model_pamt_read(tt(test)->m, tpfn(test, DATA_PAGE), &pt,
						  &owner, &bepoch, &level), 0);
	KUNIT_EXPECT_EQ(test, bepoch, 2);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_BLOCK, &TD_A, GPA_4K, 0),
			TDXM_GPA_RANGE_ALREADY_BLOCKED);
	KUNIT_EXPECT_FALSE(test, TDXM_IS_ERROR(TDXM_GPA_RANGE_ALREADY_BLOCKED));
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_BLOCK, &TD_A, GPA_4K + PAGE_SIZE, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_4K + PAGE_SIZE, NULL, NULL),
			TDXM_SEPT_PENDING_BLOCKED);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_BLOCK, &TD_A, GPA_4K, 1),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_4K, &level, NULL),
			TDXM_SEPT_NL_BLOCKED);
	KUNIT_EXPECT_EQ(test, level, TDXM_LEVEL_2M);
	/* A free entry cannot be blocked. */
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_BLOCK, &TD_A, GPA_2M, 1),
			TDXM_EPT_ENTRY_STATE_INCORRECT | TDXM_OPID_RCX);
}

static void remove_running_needs_block(struct kunit *test)
{
	td_build(test, &TD_A);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	finalize(test, &TD_A);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_REMOVE, &TD_A, GPA_4K, 0),
			TDXM_GPA_RANGE_NOT_BLOCKED | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_4K, NULL, NULL), TDXM_SEPT_MAPPED);
	KUNIT_EXPECT_EQ(test, pamt_pt(test, DATA_PAGE, NULL, NULL), TDXM_PT_REG);
}

static void remove_running_needs_track(struct kunit *test)
{
	td_build(test, &TD_A);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	finalize(test, &TD_A);
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_BLOCK, &TD_A, GPA_4K, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_REMOVE, &TD_A, GPA_4K, 0),
			TDXM_TLB_TRACKING_NOT_DONE | TDXM_OPID_RCX);
	KUNIT_ASSERT_EQ(test, track(test, &TD_A), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_REMOVE, &TD_A, GPA_4K, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, tt(test)->out.rcx, pa(test, DATA_PAGE));
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_4K, NULL, NULL), TDXM_SEPT_FREE);
	/* Free at once: it can be AUGed again. */
	KUNIT_EXPECT_EQ(test, pamt_pt(test, DATA_PAGE, NULL, NULL), TDXM_PT_NDA);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_4K + PAGE_SIZE, TDXM_LEVEL_4K, DATA_PAGE),
			TDXM_SUCCESS);
	/* A free entry cannot be removed. */
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_REMOVE, &TD_A, GPA_4K, 0),
			TDXM_EPT_ENTRY_STATE_INCORRECT | TDXM_OPID_RCX);
}

static void remove_before_finalize_needs_nothing(struct kunit *test)
{
	td_build(test, &TD_A);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_REMOVE, &TD_A, GPA_4K, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, pamt_pt(test, DATA_PAGE, NULL, NULL), TDXM_PT_NDA);
}

static void track_vcpu_entered_before(struct kunit *test)
{
	struct tdx_model *m = tt(test)->m;

	td_build(test, &TD_A);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	finalize(test, &TD_A);
	KUNIT_ASSERT_EQ(test, tdx_model_vp_enter(m, tdvpr(test, &TD_A)), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, tdx_model_vp_enter(m, tdvpr(test, &TD_A)),
			TDXM_VCPU_STATE_INCORRECT | TDXM_OPID_RCX);
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_BLOCK, &TD_A, GPA_4K, 0),
			TDXM_SUCCESS);
	/* The vCPU entered in the blocking epoch and is still in. */
	KUNIT_EXPECT_EQ(test, track(test, &TD_A), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_REMOVE, &TD_A, GPA_4K, 0),
			TDXM_TLB_TRACKING_NOT_DONE | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, track(test, &TD_A), TDXM_PREVIOUS_TLB_EPOCH_BUSY);
	tdx_model_vp_exit(m, tdvpr(test, &TD_A));
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_REMOVE, &TD_A, GPA_4K, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, track(test, &TD_A), TDXM_SUCCESS);
}

static void vcpu_entered_after_track_does_not_hold(struct kunit *test)
{
	struct tdx_model *m = tt(test)->m;

	td_build(test, &TD_A);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	finalize(test, &TD_A);
	block_track(test, &TD_A, GPA_4K, 0);
	KUNIT_ASSERT_EQ(test, tdx_model_vp_enter(m, tdvpr(test, &TD_A)), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_REMOVE, &TD_A, GPA_4K, 0),
			TDXM_SUCCESS);
	tdx_model_vp_exit(m, tdvpr(test, &TD_A));
}

static void unblock_checks(struct kunit *test)
{
	td_build(test, &TD_A);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	finalize(test, &TD_A);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_UNBLOCK, &TD_A, GPA_4K, 0),
			TDXM_EPT_ENTRY_STATE_INCORRECT | TDXM_OPID_RCX);
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_BLOCK, &TD_A, GPA_4K, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_UNBLOCK, &TD_A, GPA_4K, 0),
			TDXM_TLB_TRACKING_NOT_DONE | TDXM_OPID_SEPT_TREE);
	KUNIT_ASSERT_EQ(test, track(test, &TD_A), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_UNBLOCK, &TD_A, GPA_4K, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_4K, NULL, NULL), TDXM_SEPT_MAPPED);
	/* Each blocked kind returns to its own state. */
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_4K + PAGE_SIZE, TDXM_LEVEL_4K, DATA_PAGE + 1),
			TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_BLOCK, &TD_A, GPA_4K + PAGE_SIZE, 0),
			TDXM_SUCCESS);
	block_track(test, &TD_A, GPA_4K, 1);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_UNBLOCK, &TD_A, GPA_4K, 1),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_UNBLOCK, &TD_A,
				     GPA_4K + PAGE_SIZE, 0), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_4K + PAGE_SIZE, NULL, NULL),
			TDXM_SEPT_PENDING);
}

static void sept_remove_checks(struct kunit *test)
{
	td_build(test, &TD_A);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	finalize(test, &TD_A);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_SEPT_REMOVE, &TD_A, GPA_4K, 1),
			TDXM_GPA_RANGE_NOT_BLOCKED | TDXM_OPID_RCX);
	block_track(test, &TD_A, GPA_4K, 1);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_SEPT_REMOVE, &TD_A, GPA_4K, 1),
			TDXM_EPT_PAGE_NOT_FREE | TDXM_OPID_RCX);
	/* A leaf is no table. */
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_SEPT_REMOVE, &TD_A, GPA_2M, 1),
			TDXM_EPT_ENTRY_STATE_INCORRECT | TDXM_OPID_RCX);
	/* Empty the table (unblock, block the page, track, remove). */
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_UNBLOCK, &TD_A, GPA_4K, 1),
			TDXM_SUCCESS);
	block_track(test, &TD_A, GPA_4K, 0);
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_REMOVE, &TD_A, GPA_4K, 0),
			TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_BLOCK, &TD_A, GPA_4K, 1),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_SEPT_REMOVE, &TD_A, GPA_4K, 1),
			TDXM_TLB_TRACKING_NOT_DONE | TDXM_OPID_RCX);
	KUNIT_ASSERT_EQ(test, track(test, &TD_A), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_SEPT_REMOVE, &TD_A, GPA_4K, 1),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, tt(test)->out.rcx, pa(test, TD_A.sept + 2));
	KUNIT_EXPECT_EQ(test, pamt_pt(test, TD_A.sept + 2, NULL, NULL), TDXM_PT_NDA);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_4K, NULL, NULL), TDXM_SEPT_FREE);
}

/* ---- DEMOTE and PROMOTE ------------------------------------------------------ */

static void demote_checks(struct kunit *test)
{
	u64 pfn;
	int level;

	td_build(test, &TD_A);
	finalize(test, &TD_A);
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_2M, TDXM_LEVEL_2M, HUGE_PAGE), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MEM_PAGE_DEMOTE, GPA_2M | 1, tdr(test, &TD_A),
				 pa(test, 630), 0), TDXM_GPA_RANGE_NOT_BLOCKED | TDXM_OPID_RCX);
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_BLOCK, &TD_A, GPA_2M, 1),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MEM_PAGE_DEMOTE, GPA_2M | 1, tdr(test, &TD_A),
				 pa(test, 630), 0), TDXM_TLB_TRACKING_NOT_DONE | TDXM_OPID_RCX);
	KUNIT_ASSERT_EQ(test, track(test, &TD_A), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MEM_PAGE_DEMOTE, GPA_2M | 1, tdr(test, &TD_A),
				 pa(test, TD_A.sept), 0),
			TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_R8);
	/* Only a 2 MiB leaf can be demoted. */
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MEM_PAGE_DEMOTE, GPA_4K | 1, tdr(test, &TD_A),
				 pa(test, 630), 0),
			TDXM_EPT_ENTRY_STATE_INCORRECT | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MEM_PAGE_DEMOTE, GPA_2M | 1, tdr(test, &TD_A),
				 pa(test, 630), 0), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, pamt_pt(test, 630, NULL, NULL), TDXM_PT_EPT);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_2M + 9 * PAGE_SIZE, &level, &pfn),
			TDXM_SEPT_PENDING);
	KUNIT_EXPECT_EQ(test, level, TDXM_LEVEL_4K);
	KUNIT_EXPECT_EQ(test, pfn, tpfn(test, HUGE_PAGE + 9));
	KUNIT_EXPECT_EQ(test, pamt_pt(test, HUGE_PAGE + 9, NULL, &level), TDXM_PT_REG);
	KUNIT_EXPECT_EQ(test, level, TDXM_LEVEL_4K);
	/* One 4 KiB page can now leave alone. */
	block_track(test, &TD_A, GPA_2M + 9 * PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_REMOVE, &TD_A,
				     GPA_2M + 9 * PAGE_SIZE, 0), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, pamt_pt(test, HUGE_PAGE + 9, NULL, NULL), TDXM_PT_NDA);
	KUNIT_EXPECT_EQ(test, pamt_pt(test, HUGE_PAGE + 10, NULL, NULL), TDXM_PT_REG);
}

static void promote_checks(struct kunit *test)
{
	int level;
	u64 pfn;

	td_build(test, &TD_A);
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_2M, TDXM_LEVEL_2M, HUGE_PAGE), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MEM_PAGE_DEMOTE, GPA_2M | 1, tdr(test, &TD_A),
				 pa(test, 630), 0), TDXM_SUCCESS);
	/* A missing child: not promotable. */
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_REMOVE, &TD_A,
				     GPA_2M + 3 * PAGE_SIZE, 0), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_PROMOTE, &TD_A, GPA_2M, 1),
			TDXM_EPT_INVALID_PROMOTE_CONDITIONS | TDXM_OPID_RCX);
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_2M + 3 * PAGE_SIZE, TDXM_LEVEL_4K,
				  HUGE_PAGE + 3), TDXM_SUCCESS);
	/* A child in another state (here MAPPED by ADD among PENDING ones). */
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_REMOVE, &TD_A,
				     GPA_2M + 4 * PAGE_SIZE, 0), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MEM_PAGE_ADD, GPA_2M + 4 * PAGE_SIZE,
				 tdr(test, &TD_A), pa(test, HUGE_PAGE + 4), pa(test, SRC_PAGE)),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_PROMOTE, &TD_A, GPA_2M, 1),
			TDXM_EPT_INVALID_PROMOTE_CONDITIONS | TDXM_OPID_RCX);
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_REMOVE, &TD_A,
				     GPA_2M + 4 * PAGE_SIZE, 0), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_2M + 4 * PAGE_SIZE, TDXM_LEVEL_4K,
				  HUGE_PAGE + 4), TDXM_SUCCESS);
	finalize(test, &TD_A);
	/* Running: the table entry must be blocked and tracked. */
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_PROMOTE, &TD_A, GPA_2M, 1),
			TDXM_GPA_RANGE_NOT_BLOCKED | TDXM_OPID_RCX);
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_BLOCK, &TD_A, GPA_2M, 1),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_PROMOTE, &TD_A, GPA_2M, 1),
			TDXM_TLB_TRACKING_NOT_DONE | TDXM_OPID_RCX);
	KUNIT_ASSERT_EQ(test, track(test, &TD_A), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_PROMOTE, &TD_A, GPA_2M, 1),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, tt(test)->out.rcx, pa(test, 630));
	KUNIT_EXPECT_EQ(test, pamt_pt(test, 630, NULL, NULL), TDXM_PT_NDA);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_2M, &level, &pfn), TDXM_SEPT_PENDING);
	KUNIT_EXPECT_EQ(test, level, TDXM_LEVEL_2M);
	KUNIT_EXPECT_EQ(test, pamt_pt(test, HUGE_PAGE + 3, NULL, &level), TDXM_PT_REG);
	KUNIT_EXPECT_EQ(test, level, TDXM_LEVEL_2M);
	/* A leaf cannot be promoted again. */
	KUNIT_EXPECT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_PROMOTE, &TD_A, GPA_2M, 1),
			TDXM_EPT_ENTRY_STATE_INCORRECT | TDXM_OPID_RCX);
}

/* ---- Guest side ------------------------------------------------------------ */

static void accept_4k(struct kunit *test)
{
	struct tdx_model *m = tt(test)->m;

	td_build(test, &TD_A);
	finalize(test, &TD_A);
	memset(tva(test, DATA_PAGE), 0xcc, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_4K, TDXM_LEVEL_4K, DATA_PAGE), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, tdx_model_vp_enter(m, tdvpr(test, &TD_A)), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, accept(test, &TD_A, GPA_4K, TDXM_LEVEL_4K), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_4K, NULL, NULL), TDXM_SEPT_MAPPED);
	KUNIT_EXPECT_TRUE(test, !memchr_inv(tva(test, DATA_PAGE), 0, PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, accept(test, &TD_A, GPA_4K, TDXM_LEVEL_4K),
			TDXM_PAGE_ALREADY_ACCEPTED | TDXM_LEVEL_4K);
	/* FREE and blocked entries exit to the host. */
	KUNIT_EXPECT_EQ(test, accept(test, &TD_A, GPA_4K + PAGE_SIZE, TDXM_LEVEL_4K),
			TDXM_TDCALL_EPT_VIOLATION);
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_4K + PAGE_SIZE, TDXM_LEVEL_4K, DATA_PAGE + 1),
			TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_BLOCK, &TD_A, GPA_4K + PAGE_SIZE,
				     0), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, accept(test, &TD_A, GPA_4K + PAGE_SIZE, TDXM_LEVEL_4K),
			TDXM_TDCALL_EPT_VIOLATION);
	/* 2 MiB over a range that 4 KiB entries map. */
	KUNIT_EXPECT_EQ(test, accept(test, &TD_A, GPA_4K, TDXM_LEVEL_2M),
			TDXM_PAGE_SIZE_MISMATCH | TDXM_LEVEL_2M);
	KUNIT_EXPECT_EQ(test, accept(test, &TD_A, GPA_4K | BIT_ULL(47), TDXM_LEVEL_4K),
			TDXM_OPERAND_INVALID | TDXM_OPID_RCX);
	tdx_model_vp_exit(m, tdvpr(test, &TD_A));
}

static void accept_2m(struct kunit *test)
{
	struct tdx_model *m = tt(test)->m;
	int i;

	td_build(test, &TD_A);
	finalize(test, &TD_A);
	for (i = 0; i < 512; i++)
		memset(tva(test, HUGE_PAGE + i), 0xcc, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_2M, TDXM_LEVEL_2M, HUGE_PAGE), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, tdx_model_vp_enter(m, tdvpr(test, &TD_A)), TDXM_SUCCESS);
	/* 4 KiB inside a 2 MiB PENDING page: the sizes differ. */
	KUNIT_EXPECT_EQ(test, accept(test, &TD_A, GPA_2M + PAGE_SIZE, TDXM_LEVEL_4K),
			TDXM_PAGE_SIZE_MISMATCH | TDXM_LEVEL_2M);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_2M, NULL, NULL), TDXM_SEPT_PENDING);
	KUNIT_EXPECT_EQ(test, accept(test, &TD_A, GPA_2M, TDXM_LEVEL_2M), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_2M, NULL, NULL), TDXM_SEPT_MAPPED);
	for (i = 0; i < 512; i++)
		KUNIT_EXPECT_TRUE(test, !memchr_inv(tva(test, HUGE_PAGE + i), 0, PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, accept(test, &TD_A, GPA_2M, TDXM_LEVEL_2M),
			TDXM_PAGE_ALREADY_ACCEPTED | TDXM_LEVEL_2M);
	tdx_model_vp_exit(m, tdvpr(test, &TD_A));
}

static void vp_info(struct kunit *test)
{
	struct tdx_model *m = tt(test)->m;
	struct tdxm_args a = {};

	td_build(test, &TD_A);
	finalize(test, &TD_A);
	KUNIT_ASSERT_EQ(test, tdx_model_vp_enter(m, tdvpr(test, &TD_A)), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, tdx_model_tdcall(m, tdvpr(test, &TD_A), TDXM_TDG_VP_INFO, &a),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, a.rcx, 48);
	KUNIT_EXPECT_EQ(test, a.rdx, TDXM_ATTR_SEPT_VE_DISABLE);
	KUNIT_EXPECT_EQ(test, a.r8, 1 | (2ULL << 32));
	KUNIT_EXPECT_EQ(test, a.r9, 0);
	tdx_model_vp_exit(m, tdvpr(test, &TD_A));
}

/* ---- Teardown --------------------------------------------------------------- */

static void reclaim_live_td_refused(struct kunit *test)
{
	td_build(test, &TD_A);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	finalize(test, &TD_A);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_PHYMEM_PAGE_RECLAIM, pa(test, DATA_PAGE), 0, 0, 0),
			TDXM_LIFECYCLE_STATE_INCORRECT | TDXM_OPID_TDR);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_PHYMEM_PAGE_RECLAIM, tdr(test, &TD_A), 0, 0, 0),
			TDXM_LIFECYCLE_STATE_INCORRECT | TDXM_OPID_TDR);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_PHYMEM_PAGE_RECLAIM, pa(test, DATA_PAGE + 1),
				 0, 0, 0), TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, pamt_pt(test, DATA_PAGE, NULL, NULL), TDXM_PT_REG);
}

static void teardown_order(struct kunit *test)
{
	struct tdx_model *m = tt(test)->m;
	unsigned long pages[] = {
		DATA_PAGE, TD_A.sept, TD_A.sept + 1, TD_A.sept + 2, TD_A.tdvpr,
		TD_A.tdvpr + 1, TD_A.tdvpr + 2, TD_A.tdvpr + 3, TD_A.tdvpr + 4, TD_A.tdvpr + 5,
		TD_A.tdr + 1, TD_A.tdr + 2, TD_A.tdr + 3, TD_A.tdr + 4,
	};
	int i;

	td_build(test, &TD_A);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	finalize(test, &TD_A);
	KUNIT_ASSERT_EQ(test, tdx_model_vp_enter(m, tdvpr(test, &TD_A)), TDXM_SUCCESS);
	tdx_model_vp_exit(m, tdvpr(test, &TD_A));
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_VPFLUSHDONE, tdr(test, &TD_A), 0, 0, 0),
			TDXM_FLUSHVP_NOT_DONE);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_VP_FLUSH, tdvpr(test, &TD_A), 0, 0, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_VP_FLUSH, tdvpr(test, &TD_A), 0, 0, 0),
			TDXM_VCPU_NOT_ASSOCIATED);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_KEY_FREEID, tdr(test, &TD_A), 0, 0, 0),
			TDXM_LIFECYCLE_STATE_INCORRECT | TDXM_OPID_TDR);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_VPFLUSHDONE, tdr(test, &TD_A), 0, 0, 0),
			TDXM_SUCCESS);
	/* Blocked TD: no more S-EPT changes, no vCPU entry. */
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_4K + PAGE_SIZE, TDXM_LEVEL_4K, DATA_PAGE + 1),
			TDXM_LIFECYCLE_STATE_INCORRECT | TDXM_OPID_TDR);
	KUNIT_EXPECT_EQ(test, tdx_model_vp_enter(m, tdvpr(test, &TD_A)),
			TDXM_LIFECYCLE_STATE_INCORRECT | TDXM_OPID_TDR);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_KEY_FREEID, tdr(test, &TD_A), 0, 0, 0),
			TDXM_WBCACHE_NOT_COMPLETE);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_PHYMEM_CACHE_WB, 0, 0, 0, 0), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_PHYMEM_CACHE_WB, 0, 0, 0, 0),
			TDXM_NO_HKID_READY_TO_WBCACHE);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_KEY_FREEID, tdr(test, &TD_A), 0, 0, 0),
			TDXM_SUCCESS);
	/* The TDR goes last. */
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_PHYMEM_PAGE_RECLAIM, tdr(test, &TD_A), 0, 0, 0),
			TDXM_TD_ASSOCIATED_PAGES_EXIST);
	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		KUNIT_EXPECT_EQ_MSG(test, sc(test, TDXM_TDH_PHYMEM_PAGE_RECLAIM,
					     pa(test, pages[i]), 0, 0, 0), TDXM_SUCCESS,
				    "page %lu", pages[i]);
		KUNIT_EXPECT_EQ(test, tt(test)->out.rdx, tdr(test, &TD_A));
		KUNIT_EXPECT_EQ(test, tt(test)->out.r8, TDXM_LEVEL_4K);
		KUNIT_EXPECT_EQ(test, pamt_pt(test, pages[i], NULL, NULL), TDXM_PT_NDA);
	}
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_PHYMEM_PAGE_RECLAIM, tdr(test, &TD_A), 0, 0, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, tt(test)->out.rcx, TDXM_PT_TDR);
	/* The HKID is free for a new TD. */
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MNG_CREATE, tdr(test, &TD_B), HKID_A, 0, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, tdx_model_unflushed_reuses(m), 0);
}

static void reclaim_reports_type_and_size(struct kunit *test)
{
	td_build(test, &TD_A);
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_2M, TDXM_LEVEL_2M, HUGE_PAGE), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MNG_VPFLUSHDONE, tdr(test, &TD_A), 0, 0, 0),
			TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_PHYMEM_CACHE_WB, 0, 0, 0, 0), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MNG_KEY_FREEID, tdr(test, &TD_A), 0, 0, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_PHYMEM_PAGE_RECLAIM, pa(test, HUGE_PAGE + 1),
				 0, 0, 0), TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_PHYMEM_PAGE_RECLAIM, pa(test, HUGE_PAGE),
				 0, 0, 0), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, tt(test)->out.rcx, TDXM_PT_REG);
	KUNIT_EXPECT_EQ(test, tt(test)->out.r8, TDXM_LEVEL_2M);
	KUNIT_EXPECT_EQ(test, pamt_pt(test, HUGE_PAGE + 100, NULL, NULL), TDXM_PT_NDA);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_PHYMEM_PAGE_RECLAIM, pa(test, TD_A.tdvpr),
				 0, 0, 0), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, tt(test)->out.rcx, TDXM_PT_TDVPR);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_PHYMEM_PAGE_RECLAIM, pa(test, TD_A.sept),
				 0, 0, 0), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, tt(test)->out.rcx, TDXM_PT_EPT);
	/* HKID bits are not allowed in RECLAIM's HPA. */
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_PHYMEM_PAGE_RECLAIM,
				 pa(test, TD_A.tdr + 1) | BIT_ULL(TDXM_HKID_SHIFT), 0, 0, 0),
			TDXM_OPERAND_INVALID | TDXM_OPID_RCX);
}

static void reuse_without_wbinvd_counted(struct kunit *test)
{
	struct tdx_model *m = tt(test)->m;
	u64 hkid_a = (u64)HKID_A << TDXM_HKID_SHIFT;

	td_build(test, &TD_A);
	td_build(test, &TD_B);
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_4K, TDXM_LEVEL_4K, DATA_PAGE), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_4K + PAGE_SIZE, TDXM_LEVEL_4K, DATA_PAGE + 1),
			TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_REMOVE, &TD_A, GPA_4K, 0),
			TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_REMOVE, &TD_A,
				     GPA_4K + PAGE_SIZE, 0), TDXM_SUCCESS);
	/* WBINVD of a page a TD owns, of a page with another key. */
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_PHYMEM_PAGE_WBINVD, pa(test, TD_A.sept) | hkid_a,
				 0, 0, 0), TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_PHYMEM_PAGE_WBINVD,
				 pa(test, DATA_PAGE + 1) | hkid_a, 0, 0, 0), TDXM_SUCCESS);
	/* The module takes both pages; the model counts the unflushed one. */
	KUNIT_EXPECT_EQ(test, aug(test, &TD_B, GPA_4K + PAGE_SIZE, TDXM_LEVEL_4K, DATA_PAGE + 1),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, tdx_model_unflushed_reuses(m), 0);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_B, GPA_4K, TDXM_LEVEL_4K, DATA_PAGE), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, tdx_model_unflushed_reuses(m), 1);
}

static void operand_busy_injected(struct kunit *test)
{
	td_build(test, &TD_A);
	tdx_model_inject_busy(tt(test)->m, 2, TDXM_OPID_SEPT_TREE);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_4K, TDXM_LEVEL_4K, DATA_PAGE),
			TDXM_OPERAND_BUSY | TDXM_OPID_SEPT_TREE);
	KUNIT_EXPECT_EQ(test, S(aug(test, &TD_A, GPA_4K, TDXM_LEVEL_4K, DATA_PAGE)),
			TDXM_OPERAND_BUSY);
	KUNIT_EXPECT_EQ(test, OPID(TDXM_OPERAND_BUSY | TDXM_OPID_SEPT_TREE),
			TDXM_OPID_SEPT_TREE);
	/* The failed calls changed nothing; the retry succeeds. */
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_4K, NULL, NULL), TDXM_SEPT_FREE);
	KUNIT_EXPECT_EQ(test, pamt_pt(test, DATA_PAGE, NULL, NULL), TDXM_PT_NDA);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_4K, TDXM_LEVEL_4K, DATA_PAGE), TDXM_SUCCESS);
}

/* ---- The attack matrix: what the module refuses a host -------------------- */

/*
 * AUG where something is mapped already: a table (under a 2 MiB AUG), a
 * 2 MiB leaf (above a 4 KiB AUG), a MAPPED or BLOCKED page.  The entry
 * there and the page offered stay as they were.
 */
static void aug_at_occupied_gpa(struct kunit *test)
{
	u64 pfn;
	int level;

	td_build(test, &TD_A);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	finalize(test, &TD_A);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_4K, TDXM_LEVEL_2M, HUGE_PAGE),
			TDXM_EPT_ENTRY_STATE_INCORRECT | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, tt(test)->out.rdx, TDXM_LEVEL_2M | (TDXM_SEPT_NL_MAPPED << 8));
	KUNIT_EXPECT_EQ(test, pamt_pt(test, HUGE_PAGE, NULL, NULL), TDXM_PT_NDA);
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_2M, TDXM_LEVEL_2M, HUGE_PAGE), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_2M + 3 * PAGE_SIZE, TDXM_LEVEL_4K,
				  DATA_PAGE + 1), TDXM_EPT_WALK_FAILED | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_4K, TDXM_LEVEL_4K, DATA_PAGE + 1),
			TDXM_EPT_ENTRY_STATE_INCORRECT | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, tt(test)->out.rdx, TDXM_LEVEL_4K | (TDXM_SEPT_MAPPED << 8));
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_RANGE_BLOCK, &TD_A, GPA_4K, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_A, GPA_4K, TDXM_LEVEL_4K, DATA_PAGE + 1),
			TDXM_EPT_ENTRY_STATE_INCORRECT | TDXM_OPID_RCX);
	KUNIT_EXPECT_EQ(test, tt(test)->out.rdx, TDXM_LEVEL_4K | (TDXM_SEPT_BLOCKED << 8));
	KUNIT_EXPECT_EQ(test, pamt_pt(test, DATA_PAGE + 1, NULL, NULL), TDXM_PT_NDA);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_4K, &level, &pfn), TDXM_SEPT_BLOCKED);
	KUNIT_EXPECT_EQ(test, pfn, tpfn(test, DATA_PAGE));
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_A, GPA_2M + 3 * PAGE_SIZE, &level, &pfn),
			TDXM_SEPT_PENDING);
	KUNIT_EXPECT_EQ(test, level, TDXM_LEVEL_2M);
}

/*
 * Another TD's pages are no S-EPT table, vCPU or DEMOTE table of this one,
 * and no TD's page is a TDR: PAGE_METADATA_INCORRECT with the operand.
 */
static void other_td_pages_refused_everywhere(struct kunit *test)
{
	const unsigned long pages[] = { DATA_PAGE, TD_A.tdr, TD_A.tdr + 1, TD_A.sept,
					TD_A.tdvpr };
	int i;

	td_build(test, &TD_A);
	td_build(test, &TD_B);
	KUNIT_ASSERT_EQ(test, add(test, &TD_A, GPA_4K, DATA_PAGE), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, aug(test, &TD_B, GPA_2M, TDXM_LEVEL_2M, HUGE_PAGE), TDXM_SUCCESS);
	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		KUNIT_EXPECT_EQ_MSG(test, sc(test, TDXM_TDH_MEM_SEPT_ADD, (GPA_2M + SZ_2M) | 1,
					     tdr(test, &TD_B), pa(test, pages[i]), 0),
				    TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_R8,
				    "SEPT.ADD of page %lu", pages[i]);
		KUNIT_EXPECT_EQ_MSG(test, sc(test, TDXM_TDH_VP_CREATE, pa(test, pages[i]),
					     tdr(test, &TD_B), 0, 0),
				    TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_RCX,
				    "VP.CREATE of page %lu", pages[i]);
		KUNIT_EXPECT_EQ_MSG(test, sc(test, TDXM_TDH_MEM_PAGE_DEMOTE, GPA_2M | 1,
					     tdr(test, &TD_B), pa(test, pages[i]), 0),
				    TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_R8,
				    "DEMOTE into page %lu", pages[i]);
	}
	/* TD A's vCPU or private page given as a TDR. */
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MEM_PAGE_AUG, GPA_4K + PAGE_SIZE,
				 tdvpr(test, &TD_A), pa(test, DATA_PAGE + 1), 0),
			TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_RDX);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_MEM_PAGE_AUG, GPA_4K + PAGE_SIZE,
				 pa(test, DATA_PAGE), pa(test, DATA_PAGE + 1), 0),
			TDXM_PAGE_METADATA_INCORRECT | TDXM_OPID_RDX);
	KUNIT_EXPECT_EQ(test, pamt_pt(test, DATA_PAGE + 1, NULL, NULL), TDXM_PT_NDA);
	KUNIT_EXPECT_EQ(test, sept_state(test, &TD_B, GPA_2M, NULL, NULL), TDXM_SEPT_PENDING);
}

/*
 * No control or S-EPT page leaves a TD before its key is freed, running
 * or in teardown (VPFLUSHDONE done, KEY.FREEID not).
 */
static void reclaim_live_td_control_pages_refused(struct kunit *test)
{
	const unsigned long pages[] = { TD_A.tdr + 1, TD_A.tdvpr, TD_A.tdvpr + 1, TD_A.sept,
					TD_A.sept + 2 };
	const u8 types[] = { TDXM_PT_TDCX, TDXM_PT_TDVPR, TDXM_PT_TDCX, TDXM_PT_EPT,
			     TDXM_PT_EPT };
	int i, pass;

	td_build(test, &TD_A);
	finalize(test, &TD_A);
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < ARRAY_SIZE(pages); i++) {
			KUNIT_EXPECT_EQ_MSG(test, sc(test, TDXM_TDH_PHYMEM_PAGE_RECLAIM,
						     pa(test, pages[i]), 0, 0, 0),
					    TDXM_LIFECYCLE_STATE_INCORRECT | TDXM_OPID_TDR,
					    "RECLAIM of page %lu, pass %d", pages[i], pass);
			KUNIT_EXPECT_EQ(test, pamt_pt(test, pages[i], NULL, NULL), types[i]);
		}
		if (!pass)
			KUNIT_ASSERT_EQ(test, sc(test, TDXM_TDH_MNG_VPFLUSHDONE, tdr(test, &TD_A),
						 0, 0, 0), TDXM_SUCCESS);
	}
}

/* WBINVD with another TD's key writes back nothing of this page's lines. */
static void wbinvd_with_wrong_hkid_counted(struct kunit *test)
{
	struct tdx_model *m = tt(test)->m;

	td_build(test, &TD_A);
	td_build(test, &TD_B);
	KUNIT_ASSERT_EQ(test, aug(test, &TD_A, GPA_4K, TDXM_LEVEL_4K, DATA_PAGE), TDXM_SUCCESS);
	KUNIT_ASSERT_EQ(test, gpa_op(test, TDXM_TDH_MEM_PAGE_REMOVE, &TD_A, GPA_4K, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, sc(test, TDXM_TDH_PHYMEM_PAGE_WBINVD,
				 pa(test, DATA_PAGE) | (u64)HKID_B << TDXM_HKID_SHIFT, 0, 0, 0),
			TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, aug(test, &TD_B, GPA_4K, TDXM_LEVEL_4K, DATA_PAGE), TDXM_SUCCESS);
	KUNIT_EXPECT_EQ(test, tdx_model_unflushed_reuses(m), 1);
}

static void global_model_covers_ram(struct kunit *test)
{
	struct tdx_model *g = tdx_model_global();
	u64 owner, bepoch;
	int pt, level;

	KUNIT_ASSERT_NOT_NULL(test, g);
	KUNIT_EXPECT_EQ(test, tdx_model_pamt_read(g, tpfn(test, 0), &pt, &owner, &bepoch,
						  &level), 0);
	KUNIT_EXPECT_EQ(test, pt, TDXM_PT_NDA);
	KUNIT_EXPECT_EQ(test, tdx_model_pamt_read(g, max_pfn + PTRS_PER_PMD, &pt, &owner,
						  &bepoch, &level), -ERANGE);
}

static struct kunit_case tdx_model_cases[] = {
	KUNIT_CASE(global_model_covers_ram),
	KUNIT_CASE(mng_create_checks),
	KUNIT_CASE(mng_keys_before_tdcs),
	KUNIT_CASE(mng_init_checks),
	KUNIT_CASE(vp_create_and_init_checks),
	KUNIT_CASE(sept_add_checks),
	KUNIT_CASE(page_add_maps_copies_and_owns),
	KUNIT_CASE(page_add_checks),
	KUNIT_CASE(pamt_one_gpa_per_page),
	KUNIT_CASE(pamt_one_td_per_page),
	KUNIT_CASE(mr_extend_checks),
	KUNIT_CASE(finalize_checks),
	KUNIT_CASE(mrtd_known_answer),
	KUNIT_CASE(aug_pending_4k_and_2m),
	KUNIT_CASE(block_transitions),
	KUNIT_CASE(remove_running_needs_block),
	KUNIT_CASE(remove_running_needs_track),
	KUNIT_CASE(remove_before_finalize_needs_nothing),
	KUNIT_CASE(track_vcpu_entered_before),
	KUNIT_CASE(vcpu_entered_after_track_does_not_hold),
	KUNIT_CASE(unblock_checks),
	KUNIT_CASE(sept_remove_checks),
	KUNIT_CASE(demote_checks),
	KUNIT_CASE(promote_checks),
	KUNIT_CASE(accept_4k),
	KUNIT_CASE(accept_2m),
	KUNIT_CASE(vp_info),
	KUNIT_CASE(reclaim_live_td_refused),
	KUNIT_CASE(teardown_order),
	KUNIT_CASE(reclaim_reports_type_and_size),
	KUNIT_CASE(reuse_without_wbinvd_counted),
	KUNIT_CASE(operand_busy_injected),
	KUNIT_CASE(aug_at_occupied_gpa),
	KUNIT_CASE(other_td_pages_refused_everywhere),
	KUNIT_CASE(reclaim_live_td_control_pages_refused),
	KUNIT_CASE(wbinvd_with_wrong_hkid_counted),
	{}
};

static struct kunit_suite tdx_model_suite = {
	.name = "tdx_module_model",
	.init = tdx_test_init,
	.exit = tdx_test_exit,
	.test_cases = tdx_model_cases,
};

kunit_test_suite(tdx_model_suite);

MODULE_DESCRIPTION("KUnit tests for the TDX-module model");
MODULE_LICENSE("GPL");
