// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of the SEV-SNP firmware model: one case per rule of the RMP,
 * the RMP checks, the guest instructions and the firmware commands.
 *
 * Each case gets a model of its own whose RMP covers a 4 MiB block of real
 * pages (two 2 MiB ranges): pages 0-511 and 512-1023 of the block.
 */
#include <kunit/test.h>
#include <crypto/hash.h>
#include <linux/bitfield.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/string.h>
#include <asm/snp_model.h>
#include <asm/trap_pf.h>
#include <asm/unaligned.h>

#define TEST_ORDER	10		/* 4 MiB */
#define TEST_PAGES	BIT(TEST_ORDER)
#define GCTX_PAGE	(TEST_PAGES - 1)
#define ASID_A		1
#define ASID_B		2
#define GPA_A		0x200000ULL
#define GPA_B		0x40000000ULL
#define POLICY		BIT_ULL(17)	/* the must-be-one bit */

struct snp_test {
	struct snp_model *m;
	struct page *block;
	u64 pfn0;
};

static int snp_test_init(struct kunit *test)
{
	struct snp_test *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, t);
	t->block = alloc_pages(GFP_KERNEL | __GFP_ZERO, TEST_ORDER);
	KUNIT_ASSERT_NOT_NULL(test, t->block);
	t->pfn0 = page_to_pfn(t->block);
	t->m = snp_model_create(t->pfn0, TEST_PAGES);
	if (!t->m)
		__free_pages(t->block, TEST_ORDER);
	KUNIT_ASSERT_NOT_NULL(test, t->m);
	test->priv = t;
	return 0;
}

static void snp_test_exit(struct kunit *test)
{
	struct snp_test *t = test->priv;

	if (!t)
		return;
	snp_model_destroy(t->m);
	__free_pages(t->block, TEST_ORDER);
}

static u64 tpfn(struct kunit *test, unsigned long i)
{
	return ((struct snp_test *)test->priv)->pfn0 + i;
}

static struct snp_model *tm(struct kunit *test)
{
	return ((struct snp_test *)test->priv)->m;
}

static void *tva(struct kunit *test, unsigned long i)
{
	return page_address(pfn_to_page(tpfn(test, i)));
}

static int rmpupdate(struct kunit *test, unsigned long i, u64 gpa, bool assigned,
		     bool huge, bool immutable, u32 asid)
{
	struct snp_rmpupdate_desc d = {
		.gpa = gpa, .assigned = assigned, .pagesize = huge,
		.immutable = immutable, .asid = asid,
	};

	return snp_model_rmpupdate(tm(test), PFN_PHYS(tpfn(test, i)), &d);
}

static int assign(struct kunit *test, unsigned long i, u64 gpa, u32 asid, bool huge)
{
	return rmpupdate(test, i, gpa, true, huge, false, asid);
}

static int make_shared(struct kunit *test, unsigned long i, bool huge)
{
	return rmpupdate(test, i, 0, false, huge, false, 0);
}

static struct snp_rmp_state rmp(struct kunit *test, unsigned long i)
{
	struct snp_rmp_state st;

	snp_model_rmpread(tm(test), tpfn(test, i), &st);
	return st;
}

static struct snp_insn_result pvalidate(struct kunit *test, u32 asid, u64 gpa,
					unsigned long i, bool huge, bool validate)
{
	struct snp_insn_result res;

	snp_model_pvalidate(tm(test), asid, 0, gpa, tpfn(test, i), huge, validate, &res);
	return res;
}

static struct snp_insn_result rmpadjust(struct kunit *test, u8 vmpl, u64 gpa,
					unsigned long i, bool huge, u64 rdx)
{
	struct snp_insn_result res;

	snp_model_rmpadjust(tm(test), ASID_A, vmpl, gpa, tpfn(test, i), huge, rdx, &res);
	return res;
}

static u64 npt(struct kunit *test, u32 asid, u64 gpa, unsigned long i, enum pg_level level)
{
	return snp_model_npt_check(tm(test), asid, gpa, tpfn(test, i), level, true);
}

/* A firmware command's status: 0, SNP_FW_* or a negative errno. */
static int fw(struct kunit *test, int cmd, void *data)
{
	int err, ret;

	ret = snp_model_fw_cmd(tm(test), cmd, data, &err);
	if (ret == -EIO) {
		KUNIT_EXPECT_NE(test, err, SNP_FW_SUCCESS);
		return err;
	}
	KUNIT_EXPECT_EQ(test, err, SNP_FW_SUCCESS);
	return ret;
}

static u64 gctx_paddr(struct kunit *test)
{
	return PFN_PHYS(tpfn(test, GCTX_PAGE));
}

/* SNP_INIT, a firmware page, GCTX_CREATE: a guest in the INIT state. */
static void new_guest(struct kunit *test)
{
	struct snp_fw_gctx_create c = { .gctx_paddr = gctx_paddr(test) };

	KUNIT_ASSERT_EQ(test, fw(test, SNP_CMD_INIT, NULL), 0);
	KUNIT_ASSERT_EQ(test, rmpupdate(test, GCTX_PAGE, 0, true, false, true, 0), 0);
	KUNIT_ASSERT_EQ(test, fw(test, SNP_CMD_GCTX_CREATE, &c), 0);
}

/* ... then LAUNCH_START and ACTIVATE with @asid: ready for LAUNCH_UPDATE. */
static void launching_guest(struct kunit *test, u32 asid)
{
	struct snp_fw_launch_start s = { .gctx_paddr = gctx_paddr(test), .policy = POLICY };
	struct snp_fw_activate a = { .gctx_paddr = gctx_paddr(test), .asid = asid };

	new_guest(test);
	KUNIT_ASSERT_EQ(test, fw(test, SNP_CMD_LAUNCH_START, &s), 0);
	KUNIT_ASSERT_EQ(test, fw(test, SNP_CMD_ACTIVATE, &a), 0);
}

static int launch_update(struct kunit *test, unsigned long i, int type, u8 v3, u8 v2, u8 v1)
{
	struct snp_fw_launch_update u = {
		.gctx_paddr = gctx_paddr(test), .page_type = type,
		.address = PFN_PHYS(tpfn(test, i)),
		.vmpl3_perms = v3, .vmpl2_perms = v2, .vmpl1_perms = v1,
	};

	return fw(test, SNP_CMD_LAUNCH_UPDATE, &u);
}

/* Make page @i Pre-Guest (the guest's, immutable) at @gpa and launch it. */
static int launch_page(struct kunit *test, unsigned long i, u64 gpa, int type)
{
	KUNIT_EXPECT_EQ(test, rmpupdate(test, i, gpa, true, false, true, ASID_A), 0);
	return launch_update(test, i, type, 0, 0, 0);
}

/* ---- The RMP ------------------------------------------------------------ */

static void rmp_global_covers_all_ram(struct kunit *test)
{
	struct snp_model *g = snp_model_global();
	unsigned long covered = ALIGN(max_pfn, 512);
	struct snp_rmp_state st;
	u64 pfn;

	KUNIT_ASSERT_NOT_NULL(test, g);
	KUNIT_EXPECT_EQ(test, snp_model_rmp_bytes(g), (size_t)SZ_16K + covered * 16);
	snp_model_rmpread(g, 0, &st);
	KUNIT_EXPECT_TRUE(test, st.covered);
	snp_model_rmpread(g, max_pfn - 1, &st);
	KUNIT_EXPECT_TRUE(test, st.covered);
	snp_model_rmpread(g, covered, &st);
	KUNIT_EXPECT_FALSE(test, st.covered);
	KUNIT_EXPECT_FALSE(test, st.assigned);
	/* Nothing is assigned at boot: the host may write all of RAM. */
	for (pfn = 0; pfn < covered; pfn += 512 * 512)
		KUNIT_EXPECT_EQ(test, snp_model_host_write_check(g, pfn, PG_LEVEL_1G), 0ULL);
}

static void rmp_entry_layout(struct kunit *test)
{
	u64 gpa = 0x123456000ULL, lo, hi;
	struct snp_insn_result res;

	KUNIT_ASSERT_EQ(test, assign(test, 600, gpa, 683, false), 0);
	KUNIT_ASSERT_EQ(test, snp_model_rmp_raw(tm(test), tpfn(test, 600), &lo, &hi), 0);
	/* assigned: bit 0, GPA: 50:12, ASID: 60:51; VMPL0 gets all rights. */
	KUNIT_EXPECT_EQ(test, lo, BIT_ULL(0) | gpa | (683ULL << 51));
	KUNIT_EXPECT_EQ(test, hi, 0xfULL);

	KUNIT_ASSERT_EQ(test, assign(test, 601, GPA_A, ASID_A, false), 0);
	snp_model_pvalidate(tm(test), ASID_A, 0, GPA_A, tpfn(test, 601), 0, 1, &res);
	snp_model_rmpadjust(tm(test), ASID_A, 0, GPA_A, tpfn(test, 601), 0,
			    1 | SNP_RMPADJUST_VMSA, &res);
	KUNIT_ASSERT_EQ(test, snp_model_rmp_raw(tm(test), tpfn(test, 601), &lo, &hi), 0);
	/* validated: bit 62, VMSA: bit 61. */
	KUNIT_EXPECT_EQ(test, lo, BIT_ULL(0) | BIT_ULL(61) | BIT_ULL(62) | GPA_A |
			((u64)ASID_A << 51));

	/* page size: bit 1; immutable: bit 2. */
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 0, GPA_A, true, true, true, ASID_A), 0);
	KUNIT_ASSERT_EQ(test, snp_model_rmp_raw(tm(test), tpfn(test, 0), &lo, &hi), 0);
	KUNIT_EXPECT_EQ(test, lo, BIT_ULL(0) | BIT_ULL(1) | BIT_ULL(2) | GPA_A |
			((u64)ASID_A << 51));
	KUNIT_EXPECT_EQ(test, snp_model_rmp_raw(tm(test), tpfn(test, TEST_PAGES), &lo, &hi),
			-ERANGE);
}

static void rmpupdate_assign_and_share(struct kunit *test)
{
	struct snp_rmp_state st;

	KUNIT_ASSERT_EQ(test, assign(test, 700, GPA_A, ASID_A, false), SNP_RMP_SUCCESS);
	st = rmp(test, 700);
	KUNIT_EXPECT_TRUE(test, st.assigned);
	KUNIT_EXPECT_FALSE(test, st.validated);
	KUNIT_EXPECT_FALSE(test, st.immutable);
	KUNIT_EXPECT_FALSE(test, st.huge);
	KUNIT_EXPECT_EQ(test, st.gpa, GPA_A);
	KUNIT_EXPECT_EQ(test, st.asid, (u32)ASID_A);
	KUNIT_EXPECT_EQ(test, st.vmpl_perms[0], (u8)SNP_VMPL_PERM_ALL);
	KUNIT_EXPECT_EQ(test, st.vmpl_perms[1], 0);
	KUNIT_EXPECT_EQ(test, st.vmpl_perms[3], 0);
	KUNIT_EXPECT_EQ(test, pvalidate(test, ASID_A, GPA_A, 700, false, true).rax, 0ULL);
	KUNIT_EXPECT_TRUE(test, rmp(test, 700).validated);

	KUNIT_ASSERT_EQ(test, make_shared(test, 700, false), SNP_RMP_SUCCESS);
	st = rmp(test, 700);
	KUNIT_EXPECT_FALSE(test, st.assigned);
	KUNIT_EXPECT_FALSE(test, st.validated);
	KUNIT_EXPECT_EQ(test, st.vmpl_perms[0], 0);
	KUNIT_EXPECT_EQ(test, snp_model_host_write_check(tm(test), tpfn(test, 700),
							 PG_LEVEL_4K), 0ULL);
}

/* The rule people get wrong: no FAIL_INUSE for an assigned page. */
static void rmpupdate_reassign_overwrites_and_clears_validated(struct kunit *test)
{
	struct snp_rmp_state st;
	u64 code;

	KUNIT_ASSERT_EQ(test, assign(test, 700, GPA_A, ASID_A, false), 0);
	KUNIT_ASSERT_EQ(test, pvalidate(test, ASID_A, GPA_A, 700, false, true).rax, 0ULL);
	KUNIT_ASSERT_TRUE(test, rmp(test, 700).validated);

	/* Another guest, another GPA: accepted, not refused. */
	KUNIT_EXPECT_EQ(test, assign(test, 700, GPA_B, ASID_B, false), SNP_RMP_SUCCESS);
	st = rmp(test, 700);
	KUNIT_EXPECT_TRUE(test, st.assigned);
	KUNIT_EXPECT_EQ(test, st.asid, (u32)ASID_B);
	KUNIT_EXPECT_EQ(test, st.gpa, GPA_B);
	KUNIT_EXPECT_FALSE(test, st.validated);

	/* The victim faults on its next access: NPF, not its old data. */
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_A, 0, GPA_A,
						     tpfn(test, 700), PG_LEVEL_4K,
						     SNP_ACCESS_ENC, &code), SNP_ACCESS_NPF);
	KUNIT_EXPECT_TRUE(test, code & SNP_NPF_RMP);
	/* The new owner's access raises #VC until it validates. */
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_B, 0, GPA_B,
						     tpfn(test, 700), PG_LEVEL_4K,
						     SNP_ACCESS_ENC, &code), SNP_ACCESS_VC);
	KUNIT_EXPECT_EQ(test, code, (u64)SNP_VC_PAGE_NOT_VALIDATED);

	/* Same guest, other GPA (a remap): Validated cleared as well. */
	KUNIT_ASSERT_EQ(test, pvalidate(test, ASID_B, GPA_B, 700, false, true).rax, 0ULL);
	KUNIT_EXPECT_EQ(test, assign(test, 700, GPA_B + PAGE_SIZE, ASID_B, false), 0);
	KUNIT_EXPECT_FALSE(test, rmp(test, 700).validated);
}

static void rmpupdate_immutable_refused(struct kunit *test)
{
	struct snp_rmp_state st;

	KUNIT_ASSERT_EQ(test, rmpupdate(test, 700, GPA_A, true, false, true, ASID_A), 0);
	KUNIT_EXPECT_EQ(test, make_shared(test, 700, false), SNP_RMP_FAIL_PERMISSION);
	KUNIT_EXPECT_EQ(test, assign(test, 700, GPA_B, ASID_B, false), SNP_RMP_FAIL_PERMISSION);
	KUNIT_EXPECT_EQ(test, rmpupdate(test, 700, GPA_A, true, false, false, ASID_A),
			SNP_RMP_FAIL_PERMISSION);
	st = rmp(test, 700);
	KUNIT_EXPECT_TRUE(test, st.assigned);
	KUNIT_EXPECT_TRUE(test, st.immutable);
	KUNIT_EXPECT_EQ(test, st.asid, (u32)ASID_A);
	KUNIT_EXPECT_EQ(test, st.gpa, GPA_A);
	/* A 2 MiB update over one immutable 4 KiB entry is refused too. */
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 5, 0, true, false, true, 0), 0);
	KUNIT_EXPECT_EQ(test, make_shared(test, 0, true), SNP_RMP_FAIL_PERMISSION);
}

static void rmpupdate_bad_input(struct kunit *test)
{
	struct snp_rmpupdate_desc d = { .gpa = GPA_A, .assigned = 1, .asid = ASID_A };
	struct snp_model *m = tm(test);
	u64 spa = PFN_PHYS(tpfn(test, 700));

	KUNIT_EXPECT_EQ(test, snp_model_rmpupdate(m, spa + 8, &d), SNP_RMP_FAIL_INPUT);
	d.pagesize = 2;
	KUNIT_EXPECT_EQ(test, snp_model_rmpupdate(m, spa, &d), SNP_RMP_FAIL_INPUT);
	d.pagesize = 0;
	d.rsvd = 1;
	KUNIT_EXPECT_EQ(test, snp_model_rmpupdate(m, spa, &d), SNP_RMP_FAIL_INPUT);
	d.rsvd = 0;
	d.asid = 1024;
	KUNIT_EXPECT_EQ(test, snp_model_rmpupdate(m, spa, &d), SNP_RMP_FAIL_INPUT);
	d.asid = ASID_A;
	d.gpa = GPA_A + 0x10;
	KUNIT_EXPECT_EQ(test, snp_model_rmpupdate(m, spa, &d), SNP_RMP_FAIL_INPUT);
	d.gpa = GPA_A;
	/* Outside the RMP. */
	KUNIT_EXPECT_EQ(test, snp_model_rmpupdate(m, PFN_PHYS(tpfn(test, TEST_PAGES)), &d),
			SNP_RMP_FAIL_INPUT);
	/* 2 MiB: SPA and GPA must be 2 MiB aligned. */
	KUNIT_EXPECT_EQ(test, assign(test, 1, GPA_A, ASID_A, true), SNP_RMP_FAIL_INPUT);
	KUNIT_EXPECT_EQ(test, assign(test, 0, GPA_A + PAGE_SIZE, ASID_A, true),
			SNP_RMP_FAIL_INPUT);
	KUNIT_EXPECT_FALSE(test, rmp(test, 700).assigned);
	KUNIT_EXPECT_FALSE(test, rmp(test, 0).assigned);
	KUNIT_EXPECT_FALSE(test, rmp(test, 1).assigned);
}

static void rmpupdate_2m_sets_all_entries(struct kunit *test)
{
	struct snp_rmp_state st;
	unsigned long i;

	KUNIT_ASSERT_EQ(test, assign(test, 0, GPA_A, ASID_A, true), SNP_RMP_SUCCESS);
	for (i = 0; i < 512; i++) {
		st = rmp(test, i);
		if (!st.assigned || !st.huge || st.asid != ASID_A ||
		    st.gpa != GPA_A + i * PAGE_SIZE || st.validated)
			KUNIT_FAIL(test, "entry %lu of the 2 MiB page is not consistent", i);
	}
	KUNIT_EXPECT_FALSE(test, rmp(test, 512).assigned);
	KUNIT_ASSERT_EQ(test, make_shared(test, 0, true), SNP_RMP_SUCCESS);
	for (i = 0; i < 512; i++)
		if (rmp(test, i).assigned)
			KUNIT_FAIL(test, "entry %lu still assigned", i);
}

static void rmpupdate_2m_overlap(struct kunit *test)
{
	/* 2 MiB over an assigned 4 KiB page (not the first). */
	KUNIT_ASSERT_EQ(test, assign(test, 17, GPA_B, ASID_A, false), 0);
	KUNIT_EXPECT_EQ(test, assign(test, 0, GPA_A, ASID_A, true), SNP_RMP_FAIL_OVERLAP);
	KUNIT_EXPECT_FALSE(test, rmp(test, 0).assigned);
	KUNIT_ASSERT_EQ(test, make_shared(test, 17, false), 0);

	/* 4 KiB inside an assigned 2 MiB page, the first page included. */
	KUNIT_ASSERT_EQ(test, assign(test, 0, GPA_A, ASID_A, true), 0);
	KUNIT_EXPECT_EQ(test, make_shared(test, 17, false), SNP_RMP_FAIL_OVERLAP);
	KUNIT_EXPECT_EQ(test, assign(test, 0, GPA_A, ASID_A, false), SNP_RMP_FAIL_OVERLAP);
	KUNIT_EXPECT_TRUE(test, rmp(test, 17).assigned);
	KUNIT_EXPECT_TRUE(test, rmp(test, 17).huge);
	/* After PSMASH, 4 KiB updates work. */
	KUNIT_ASSERT_EQ(test, snp_model_psmash(tm(test), PFN_PHYS(tpfn(test, 0))), 0);
	KUNIT_EXPECT_EQ(test, make_shared(test, 17, false), SNP_RMP_SUCCESS);
}

static void rmpupdate_resize_clears_validated(struct kunit *test)
{
	KUNIT_ASSERT_EQ(test, assign(test, 0, GPA_A, ASID_A, false), 0);
	KUNIT_ASSERT_EQ(test, pvalidate(test, ASID_A, GPA_A, 0, false, true).rax, 0ULL);
	KUNIT_ASSERT_TRUE(test, rmp(test, 0).validated);
	/* Same guest and GPA, now 2 MiB. */
	KUNIT_EXPECT_EQ(test, assign(test, 0, GPA_A, ASID_A, true), SNP_RMP_SUCCESS);
	KUNIT_EXPECT_TRUE(test, rmp(test, 0).huge);
	KUNIT_EXPECT_FALSE(test, rmp(test, 0).validated);
}

static void rmp_inuse_injected(struct kunit *test)
{
	snp_model_inject_inuse(tm(test), 2);
	KUNIT_EXPECT_EQ(test, assign(test, 700, GPA_A, ASID_A, false), SNP_RMP_FAIL_INUSE);
	KUNIT_EXPECT_EQ(test, snp_model_psmash(tm(test), PFN_PHYS(tpfn(test, 0))),
			SNP_RMP_FAIL_INUSE);
	KUNIT_EXPECT_FALSE(test, rmp(test, 700).assigned);
	KUNIT_EXPECT_EQ(test, assign(test, 700, GPA_A, ASID_A, false), SNP_RMP_SUCCESS);
}

/* ---- PSMASH ------------------------------------------------------------- */

static void psmash_keeps_validated(struct kunit *test)
{
	struct snp_rmp_state st;
	unsigned long i;

	KUNIT_ASSERT_EQ(test, assign(test, 0, GPA_A, ASID_A, true), 0);
	KUNIT_ASSERT_EQ(test, pvalidate(test, ASID_A, GPA_A, 0, true, true).rax, 0ULL);
	KUNIT_ASSERT_EQ(test, rmpadjust(test, 0, GPA_A, 0, true,
					1 | (SNP_VMPL_PERM_READ << 8)).rax, 0ULL);
	KUNIT_EXPECT_EQ(test, snp_model_psmash(tm(test), PFN_PHYS(tpfn(test, 0))),
			SNP_RMP_SUCCESS);
	for (i = 0; i < 512; i++) {
		st = rmp(test, i);
		if (!st.assigned || st.huge || !st.validated || st.asid != ASID_A ||
		    st.gpa != GPA_A + i * PAGE_SIZE ||
		    st.vmpl_perms[0] != SNP_VMPL_PERM_ALL ||
		    st.vmpl_perms[1] != SNP_VMPL_PERM_READ)
			KUNIT_FAIL(test, "entry %lu after PSMASH is wrong", i);
	}
	/* Now 4 KiB NPT entries agree with the RMP. */
	KUNIT_EXPECT_EQ(test, npt(test, ASID_A, GPA_A + 3 * PAGE_SIZE, 3, PG_LEVEL_4K), 0ULL);
}

static void psmash_errors(struct kunit *test)
{
	u64 spa = PFN_PHYS(tpfn(test, 0));

	KUNIT_ASSERT_EQ(test, assign(test, 0, GPA_A, ASID_A, true), 0);
	KUNIT_EXPECT_EQ(test, snp_model_psmash(tm(test), spa + PAGE_SIZE), SNP_RMP_FAIL_INPUT);
	/* Not a 2 MiB page. */
	KUNIT_EXPECT_EQ(test, snp_model_psmash(tm(test), PFN_PHYS(tpfn(test, 512))),
			SNP_RMP_FAIL_INPUT);
	KUNIT_ASSERT_EQ(test, make_shared(test, 0, true), 0);
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 0, GPA_A, true, true, true, ASID_A), 0);
	KUNIT_EXPECT_EQ(test, snp_model_psmash(tm(test), spa), SNP_RMP_FAIL_PERMISSION);
	KUNIT_EXPECT_TRUE(test, rmp(test, 0).huge);
}

/*
 * Attack: PSMASH of a 2 MiB range only partly assigned (4 KiB entries):
 * there is no 2 MiB page to smash, FAIL_INPUT, and the entries stay as
 * they were; a 2 MiB RMPUPDATE over it is refused as an overlap.
 */
static void attack_psmash_partly_assigned(struct kunit *test)
{
	struct snp_rmp_state st;

	KUNIT_ASSERT_EQ(test, assign(test, 600, GPA_A, ASID_A, false), 0);
	KUNIT_ASSERT_EQ(test, pvalidate(test, ASID_A, GPA_A, 600, false, true).rax, 0ULL);
	KUNIT_EXPECT_EQ(test, snp_model_psmash(tm(test), PFN_PHYS(tpfn(test, 512))),
			SNP_RMP_FAIL_INPUT);
	st = rmp(test, 600);
	KUNIT_EXPECT_TRUE(test, st.assigned && st.validated && !st.huge);
	KUNIT_EXPECT_EQ(test, st.gpa, GPA_A);
	KUNIT_EXPECT_FALSE(test, rmp(test, 601).assigned);
	KUNIT_EXPECT_EQ(test, assign(test, 512, GPA_B, ASID_A, true), SNP_RMP_FAIL_OVERLAP);
	KUNIT_EXPECT_FALSE(test, rmp(test, 512).assigned);
}

/*
 * Attack: reuse of a page that went back to the hypervisor, without the
 * guest's consent.  Back in the hypervisor's hands it is nobody's private
 * memory (its old owner's access faults); given to a guest again, at the
 * same GPA or to another guest, Validated is clear, so the new owner's
 * access raises #VC and nothing it did not validate itself is usable.
 */
static void attack_reclaimed_page_reuse(struct kunit *test)
{
	u64 code;

	KUNIT_ASSERT_EQ(test, assign(test, 700, GPA_A, ASID_A, false), 0);
	KUNIT_ASSERT_EQ(test, pvalidate(test, ASID_A, GPA_A, 700, false, true).rax, 0ULL);
	KUNIT_ASSERT_EQ(test, make_shared(test, 700, false), 0);
	KUNIT_EXPECT_FALSE(test, rmp(test, 700).validated);
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_A, 0, GPA_A,
						     tpfn(test, 700), PG_LEVEL_4K,
						     SNP_ACCESS_ENC, &code), SNP_ACCESS_NPF);

	/* The same guest and GPA again: not validated, #VC. */
	KUNIT_ASSERT_EQ(test, assign(test, 700, GPA_A, ASID_A, false), 0);
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_A, 0, GPA_A,
						     tpfn(test, 700), PG_LEVEL_4K,
						     SNP_ACCESS_ENC, &code), SNP_ACCESS_VC);
	KUNIT_EXPECT_EQ(test, code, (u64)SNP_VC_PAGE_NOT_VALIDATED);

	/* Another guest: the same, and the first one's access faults. */
	KUNIT_ASSERT_EQ(test, make_shared(test, 700, false), 0);
	KUNIT_ASSERT_EQ(test, assign(test, 700, GPA_B, ASID_B, false), 0);
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_B, 0, GPA_B,
						     tpfn(test, 700), PG_LEVEL_4K,
						     SNP_ACCESS_ENC, &code), SNP_ACCESS_VC);
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_A, 0, GPA_A,
						     tpfn(test, 700), PG_LEVEL_4K,
						     SNP_ACCESS_ENC, &code), SNP_ACCESS_NPF);
}

/* ---- RMP checks --------------------------------------------------------- */

static void npt_check_agrees(struct kunit *test)
{
	KUNIT_ASSERT_EQ(test, assign(test, 0, GPA_A, ASID_A, true), 0);
	KUNIT_ASSERT_EQ(test, assign(test, 600, GPA_B, ASID_A, false), 0);
	KUNIT_EXPECT_EQ(test, npt(test, ASID_A, GPA_A, 0, PG_LEVEL_2M), 0ULL);
	KUNIT_EXPECT_EQ(test, npt(test, ASID_A, GPA_B, 600, PG_LEVEL_4K), 0ULL);
	/* A shared entry must map a hypervisor page. */
	KUNIT_EXPECT_EQ(test, snp_model_npt_check(tm(test), ASID_A, GPA_B + PAGE_SIZE,
						  tpfn(test, 601), PG_LEVEL_4K, false), 0ULL);
}

static void npt_check_asid_mismatch(struct kunit *test)
{
	KUNIT_ASSERT_EQ(test, assign(test, 600, GPA_A, ASID_A, false), 0);
	KUNIT_EXPECT_EQ(test, npt(test, ASID_B, GPA_A, 600, PG_LEVEL_4K),
			SNP_NPF_RMP | SNP_NPF_ENC);
	/* Hypervisor and firmware (ASID 0) pages are nobody's private memory. */
	KUNIT_EXPECT_EQ(test, npt(test, ASID_A, GPA_A, 601, PG_LEVEL_4K),
			SNP_NPF_RMP | SNP_NPF_ENC);
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 602, 0, true, false, true, 0), 0);
	KUNIT_EXPECT_EQ(test, npt(test, 0, 0, 602, PG_LEVEL_4K), SNP_NPF_RMP | SNP_NPF_ENC);
}

static void npt_check_gpa_mismatch(struct kunit *test)
{
	KUNIT_ASSERT_EQ(test, assign(test, 600, GPA_A, ASID_A, false), 0);
	KUNIT_EXPECT_EQ(test, npt(test, ASID_A, GPA_A + PAGE_SIZE, 600, PG_LEVEL_4K),
			SNP_NPF_RMP | SNP_NPF_ENC);
	KUNIT_ASSERT_EQ(test, assign(test, 0, GPA_A, ASID_A, true), 0);
	KUNIT_EXPECT_EQ(test, npt(test, ASID_A, GPA_B, 0, PG_LEVEL_2M),
			SNP_NPF_RMP | SNP_NPF_ENC);
}

static void npt_check_size_mismatch(struct kunit *test)
{
	unsigned long i;

	/* 4 KiB NPT entry on a 2 MiB RMP page: SIZEM (KVM then PSMASHes). */
	KUNIT_ASSERT_EQ(test, assign(test, 0, GPA_A, ASID_A, true), 0);
	KUNIT_EXPECT_EQ(test, npt(test, ASID_A, GPA_A + 5 * PAGE_SIZE, 5, PG_LEVEL_4K),
			SNP_NPF_RMP | SNP_NPF_ENC | SNP_NPF_SIZEM);
	/* 2 MiB NPT entry on 512 consistent 4 KiB RMP entries: SIZEM too. */
	for (i = 0; i < 512; i++)
		KUNIT_ASSERT_EQ(test, assign(test, 512 + i, GPA_B + i * PAGE_SIZE, ASID_A,
					     false), 0);
	KUNIT_EXPECT_EQ(test, npt(test, ASID_A, GPA_B, 512, PG_LEVEL_2M),
			SNP_NPF_RMP | SNP_NPF_ENC | SNP_NPF_SIZEM);
}

static void npt_check_immutable_and_shared(struct kunit *test)
{
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 600, GPA_A, true, false, true, ASID_A), 0);
	KUNIT_EXPECT_EQ(test, npt(test, ASID_A, GPA_A, 600, PG_LEVEL_4K),
			SNP_NPF_RMP | SNP_NPF_ENC);
	/* A shared mapping of an assigned page, or of a 2 MiB range holding one. */
	KUNIT_EXPECT_EQ(test, snp_model_npt_check(tm(test), ASID_A, GPA_A, tpfn(test, 600),
						  PG_LEVEL_4K, false), SNP_NPF_RMP);
	KUNIT_EXPECT_EQ(test, snp_model_npt_check(tm(test), ASID_A, 0, tpfn(test, 512),
						  PG_LEVEL_2M, false), SNP_NPF_RMP);
}

static void host_write_check(struct kunit *test)
{
	struct snp_model *m = tm(test);

	KUNIT_EXPECT_EQ(test, snp_model_host_write_check(m, tpfn(test, 600), PG_LEVEL_4K), 0ULL);
	KUNIT_ASSERT_EQ(test, assign(test, 600, GPA_A, ASID_A, false), 0);
	KUNIT_EXPECT_EQ(test, snp_model_host_write_check(m, tpfn(test, 600), PG_LEVEL_4K),
			SNP_PF_RMP);
	KUNIT_EXPECT_EQ(test, snp_model_host_write_check(m, tpfn(test, 601), PG_LEVEL_4K), 0ULL);
	/* A 2 MiB host mapping over one assigned 4 KiB page faults. */
	KUNIT_EXPECT_EQ(test, snp_model_host_write_check(m, tpfn(test, 512), PG_LEVEL_2M),
			SNP_PF_RMP);
	KUNIT_EXPECT_EQ(test, snp_model_host_write_check(m, tpfn(test, 0), PG_LEVEL_2M), 0ULL);
	/* Firmware pages are assigned too. */
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 3, 0, true, false, true, 0), 0);
	KUNIT_EXPECT_EQ(test, snp_model_host_write_check(m, tpfn(test, 3), PG_LEVEL_4K),
			SNP_PF_RMP);
}

static void guest_access_unvalidated_vc(struct kunit *test)
{
	u64 code;

	KUNIT_ASSERT_EQ(test, assign(test, 600, GPA_A, ASID_A, false), 0);
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_A, 0, GPA_A + 8,
						     tpfn(test, 600), PG_LEVEL_4K,
						     SNP_ACCESS_ENC, &code), SNP_ACCESS_VC);
	KUNIT_EXPECT_EQ(test, code, 0x404ULL);
	KUNIT_ASSERT_EQ(test, pvalidate(test, ASID_A, GPA_A, 600, false, true).rax, 0ULL);
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_A, 0, GPA_A + 8,
						     tpfn(test, 600), PG_LEVEL_4K,
						     SNP_ACCESS_ENC | SNP_ACCESS_WRITE, &code),
			SNP_ACCESS_OK);
	KUNIT_EXPECT_EQ(test, code, 0ULL);
}

static void guest_access_priority(struct kunit *test)
{
	u64 code;

	/* An RMP mismatch is reported before a missing validation. */
	KUNIT_ASSERT_EQ(test, assign(test, 600, GPA_A, ASID_A, false), 0);
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_A, 0, GPA_B,
						     tpfn(test, 600), PG_LEVEL_4K,
						     SNP_ACCESS_ENC | SNP_ACCESS_WRITE, &code),
			SNP_ACCESS_NPF);
	KUNIT_EXPECT_EQ(test, code, SNP_NPF_RMP | SNP_NPF_ENC | X86_PF_PROT | X86_PF_WRITE);
	/* VMPL permissions come after Validated: VMPL1 has none yet. */
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_A, 1, GPA_A,
						     tpfn(test, 600), PG_LEVEL_4K,
						     SNP_ACCESS_ENC, &code), SNP_ACCESS_VC);
	KUNIT_ASSERT_EQ(test, pvalidate(test, ASID_A, GPA_A, 600, false, true).rax, 0ULL);
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_A, 1, GPA_A,
						     tpfn(test, 600), PG_LEVEL_4K,
						     SNP_ACCESS_ENC, &code), SNP_ACCESS_NPF);
	KUNIT_EXPECT_TRUE(test, code & SNP_NPF_VMPL);
	/* Read granted to VMPL1: reads pass, writes and fetches fault. */
	KUNIT_ASSERT_EQ(test, rmpadjust(test, 0, GPA_A, 600, false,
					1 | (SNP_VMPL_PERM_READ << 8)).rax, 0ULL);
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_A, 1, GPA_A,
						     tpfn(test, 600), PG_LEVEL_4K,
						     SNP_ACCESS_ENC, &code), SNP_ACCESS_OK);
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_A, 1, GPA_A,
						     tpfn(test, 600), PG_LEVEL_4K,
						     SNP_ACCESS_ENC | SNP_ACCESS_WRITE, &code),
			SNP_ACCESS_NPF);
	KUNIT_EXPECT_TRUE(test, code & SNP_NPF_VMPL);
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_A, 1, GPA_A,
						     tpfn(test, 600), PG_LEVEL_4K,
						     SNP_ACCESS_ENC | SNP_ACCESS_FETCH, &code),
			SNP_ACCESS_NPF);
}

static void guest_access_shared_write_to_assigned(struct kunit *test)
{
	u64 code;

	KUNIT_ASSERT_EQ(test, assign(test, 600, GPA_A, ASID_A, false), 0);
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_A, 0, GPA_A,
						     tpfn(test, 600), PG_LEVEL_4K, 0, &code),
			SNP_ACCESS_OK);
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_A, 0, GPA_A,
						     tpfn(test, 600), PG_LEVEL_4K,
						     SNP_ACCESS_WRITE, &code), SNP_ACCESS_NPF);
	KUNIT_EXPECT_TRUE(test, code & SNP_NPF_RMP);
	KUNIT_EXPECT_FALSE(test, code & SNP_NPF_ENC);
	KUNIT_EXPECT_EQ(test, snp_model_guest_access(tm(test), ASID_A, 0, GPA_B,
						     tpfn(test, 601), PG_LEVEL_4K,
						     SNP_ACCESS_WRITE, &code), SNP_ACCESS_OK);
}

/* ---- PVALIDATE and RMPADJUST ---------------------------------------------- */

static void pvalidate_rax_and_cf(struct kunit *test)
{
	struct snp_insn_result r;

	KUNIT_ASSERT_EQ(test, assign(test, 600, GPA_A, ASID_A, false), 0);
	r = pvalidate(test, ASID_A, GPA_A, 600, false, true);
	KUNIT_EXPECT_EQ(test, r.outcome, SNP_INSN_DONE);
	KUNIT_EXPECT_EQ(test, r.rax, 0ULL);
	KUNIT_EXPECT_FALSE(test, r.cf);
	KUNIT_EXPECT_TRUE(test, rmp(test, 600).validated);
	/* Already validated: success, CF set, nothing changed. */
	r = pvalidate(test, ASID_A, GPA_A, 600, false, true);
	KUNIT_EXPECT_EQ(test, r.rax, 0ULL);
	KUNIT_EXPECT_TRUE(test, r.cf);
	r = pvalidate(test, ASID_A, GPA_A, 600, false, false);
	KUNIT_EXPECT_EQ(test, r.rax, 0ULL);
	KUNIT_EXPECT_FALSE(test, r.cf);
	KUNIT_EXPECT_FALSE(test, rmp(test, 600).validated);
	r = pvalidate(test, ASID_A, GPA_A, 600, false, false);
	KUNIT_EXPECT_EQ(test, r.rax, 0ULL);
	KUNIT_EXPECT_TRUE(test, r.cf);
	/* 2 MiB: all 512 entries. */
	KUNIT_ASSERT_EQ(test, assign(test, 0, GPA_B, ASID_A, true), 0);
	r = pvalidate(test, ASID_A, GPA_B, 0, true, true);
	KUNIT_EXPECT_EQ(test, r.rax, 0ULL);
	KUNIT_EXPECT_FALSE(test, r.cf);
	KUNIT_EXPECT_TRUE(test, rmp(test, 0).validated);
	KUNIT_EXPECT_TRUE(test, rmp(test, 511).validated);
}

static void pvalidate_size_mismatch(struct kunit *test)
{
	struct snp_insn_result r;
	unsigned long i;

	/* 2 MiB request on 4 KiB entries: FAIL_SIZEMISMATCH, no change. */
	for (i = 0; i < 512; i++)
		KUNIT_ASSERT_EQ(test, assign(test, i, GPA_A + i * PAGE_SIZE, ASID_A, false), 0);
	r = pvalidate(test, ASID_A, GPA_A, 0, true, true);
	KUNIT_EXPECT_EQ(test, r.outcome, SNP_INSN_DONE);
	KUNIT_EXPECT_EQ(test, r.rax, (u64)SNP_RMP_FAIL_SIZEMISMATCH);
	KUNIT_EXPECT_FALSE(test, rmp(test, 0).validated);
	/* 4 KiB request on a 2 MiB entry: NPF with SIZEM. */
	KUNIT_ASSERT_EQ(test, assign(test, 512, GPA_B, ASID_A, true), 0);
	r = pvalidate(test, ASID_A, GPA_B + PAGE_SIZE, 513, false, true);
	KUNIT_EXPECT_EQ(test, r.outcome, SNP_INSN_NPF);
	KUNIT_EXPECT_TRUE(test, r.npf_error & SNP_NPF_SIZEM);
	KUNIT_EXPECT_TRUE(test, r.npf_error & SNP_NPF_RMP);
	KUNIT_EXPECT_FALSE(test, rmp(test, 513).validated);
}

static void pvalidate_input_and_faults(struct kunit *test)
{
	struct snp_insn_result r;

	KUNIT_ASSERT_EQ(test, assign(test, 600, GPA_A, ASID_A, false), 0);
	snp_model_pvalidate(tm(test), ASID_A, 0, GPA_A, tpfn(test, 600), 2, 1, &r);
	KUNIT_EXPECT_EQ(test, r.rax, (u64)SNP_RMP_FAIL_INPUT);
	snp_model_pvalidate(tm(test), ASID_A, 0, GPA_A + PAGE_SIZE, tpfn(test, 0), 1, 1, &r);
	KUNIT_EXPECT_EQ(test, r.rax, (u64)SNP_RMP_FAIL_INPUT);
	/* Another guest's page, or at another GPA: NPF. */
	r = pvalidate(test, ASID_B, GPA_A, 600, false, true);
	KUNIT_EXPECT_EQ(test, r.outcome, SNP_INSN_NPF);
	KUNIT_EXPECT_EQ(test, r.npf_error & (SNP_NPF_RMP | SNP_NPF_ENC),
			SNP_NPF_RMP | SNP_NPF_ENC);
	r = pvalidate(test, ASID_A, GPA_B, 600, false, true);
	KUNIT_EXPECT_EQ(test, r.outcome, SNP_INSN_NPF);
	/* Only VMPL0 validates. */
	snp_model_pvalidate(tm(test), ASID_A, 1, GPA_A, tpfn(test, 600), 0, 1, &r);
	KUNIT_EXPECT_EQ(test, r.outcome, SNP_INSN_GP);
	KUNIT_EXPECT_FALSE(test, rmp(test, 600).validated);
}

static void rmpadjust_vmpl_rules(struct kunit *test)
{
	u64 rw = (SNP_VMPL_PERM_READ | SNP_VMPL_PERM_WRITE) << 8;
	struct snp_insn_result r;

	KUNIT_ASSERT_EQ(test, assign(test, 600, GPA_A, ASID_A, false), 0);
	KUNIT_ASSERT_EQ(test, pvalidate(test, ASID_A, GPA_A, 600, false, true).rax, 0ULL);
	r = rmpadjust(test, 0, GPA_A, 600, false, 1 | rw);
	KUNIT_EXPECT_EQ(test, r.outcome, SNP_INSN_DONE);
	KUNIT_EXPECT_EQ(test, r.rax, 0ULL);
	KUNIT_EXPECT_EQ(test, rmp(test, 600).vmpl_perms[1],
			(u8)(SNP_VMPL_PERM_READ | SNP_VMPL_PERM_WRITE));
	/* VMPL1 may pass on what it holds to VMPL2, nothing more. */
	KUNIT_EXPECT_EQ(test, rmpadjust(test, 1, GPA_A, 600, false,
					2 | (SNP_VMPL_PERM_READ << 8)).rax, 0ULL);
	KUNIT_EXPECT_EQ(test, rmpadjust(test, 1, GPA_A, 600, false,
					2 | (SNP_VMPL_PERM_EXEC_SUPER << 8)).rax,
			(u64)SNP_RMP_FAIL_PERMISSION);
	/* Only a numerically higher VMPL. */
	KUNIT_EXPECT_EQ(test, rmpadjust(test, 1, GPA_A, 600, false, 1 | rw).rax,
			(u64)SNP_RMP_FAIL_PERMISSION);
	KUNIT_EXPECT_EQ(test, rmpadjust(test, 2, GPA_A, 600, false, 1).rax,
			(u64)SNP_RMP_FAIL_PERMISSION);
	/* VMSA only from VMPL0. */
	KUNIT_EXPECT_EQ(test, rmpadjust(test, 1, GPA_A, 600, false,
					2 | SNP_RMPADJUST_VMSA).rax,
			(u64)SNP_RMP_FAIL_PERMISSION);
	KUNIT_EXPECT_FALSE(test, rmp(test, 600).vmsa);
	KUNIT_EXPECT_EQ(test, rmpadjust(test, 0, GPA_A, 600, false,
					1 | rw | SNP_RMPADJUST_VMSA).rax, 0ULL);
	KUNIT_EXPECT_TRUE(test, rmp(test, 600).vmsa);
	KUNIT_EXPECT_EQ(test, rmp(test, 600).vmpl_perms[2], (u8)SNP_VMPL_PERM_READ);
}

static void rmpadjust_input_and_size(struct kunit *test)
{
	struct snp_insn_result r;
	unsigned long i;

	KUNIT_ASSERT_EQ(test, assign(test, 600, GPA_A, ASID_A, false), 0);
	KUNIT_EXPECT_EQ(test, rmpadjust(test, 0, GPA_A, 600, false, 4).rax,
			(u64)SNP_RMP_FAIL_INPUT);
	KUNIT_EXPECT_EQ(test, rmpadjust(test, 0, GPA_A, 600, false, 1 | BIT_ULL(12)).rax,
			(u64)SNP_RMP_FAIL_INPUT);
	KUNIT_EXPECT_EQ(test, rmpadjust(test, 0, GPA_A, 600, false, 1 | BIT_ULL(32)).rax,
			(u64)SNP_RMP_FAIL_INPUT);
	for (i = 0; i < 512; i++)
		KUNIT_ASSERT_EQ(test, assign(test, i, GPA_B + i * PAGE_SIZE, ASID_A, false), 0);
	KUNIT_EXPECT_EQ(test, rmpadjust(test, 0, GPA_B, 0, true, 1).rax,
			(u64)SNP_RMP_FAIL_SIZEMISMATCH);
	KUNIT_ASSERT_EQ(test, make_shared(test, 600, false), 0);
	r = rmpadjust(test, 0, GPA_A, 600, false, 1);
	KUNIT_EXPECT_EQ(test, r.outcome, SNP_INSN_NPF);
}

/* ---- Firmware commands -------------------------------------------------- */

static void fw_platform_state(struct kunit *test)
{
	struct snp_fw_gctx_create c = { .gctx_paddr = gctx_paddr(test) };
	int err;

	KUNIT_ASSERT_EQ(test, rmpupdate(test, GCTX_PAGE, 0, true, false, true, 0), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_GCTX_CREATE, &c), SNP_FW_INVALID_PLATFORM_STATE);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_DF_FLUSH, NULL), SNP_FW_INVALID_PLATFORM_STATE);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_INIT, NULL), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_INIT, NULL), SNP_FW_INVALID_PLATFORM_STATE);
	KUNIT_EXPECT_EQ(test, fw(test, 0x7f, &c), SNP_FW_INVALID_COMMAND);
	KUNIT_EXPECT_EQ(test, snp_model_fw_cmd(tm(test), SNP_CMD_GCTX_CREATE, NULL, &err),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_GCTX_CREATE, &c), 0);
}

static void fw_gctx_create_needs_firmware_page(struct kunit *test)
{
	struct snp_fw_gctx_create c = { .gctx_paddr = gctx_paddr(test) };

	KUNIT_ASSERT_EQ(test, fw(test, SNP_CMD_INIT, NULL), 0);
	/* A hypervisor page, a mutable page, a guest's page: refused. */
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_GCTX_CREATE, &c), SNP_FW_INVALID_PAGE_STATE);
	KUNIT_ASSERT_EQ(test, rmpupdate(test, GCTX_PAGE, 0, true, false, false, 0), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_GCTX_CREATE, &c), SNP_FW_INVALID_PAGE_STATE);
	KUNIT_ASSERT_EQ(test, rmpupdate(test, GCTX_PAGE, 0, true, false, true, ASID_A), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_GCTX_CREATE, &c), SNP_FW_INVALID_PAGE_STATE);
	c.gctx_paddr += 8;
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_GCTX_CREATE, &c), SNP_FW_INVALID_ADDRESS);

	/* A firmware page: accepted once, and the host cannot take it back. */
	c.gctx_paddr = PFN_PHYS(tpfn(test, 700));
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 700, 0, true, false, true, 0), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_GCTX_CREATE, &c), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_GCTX_CREATE, &c), SNP_FW_INVALID_PAGE_STATE);
	KUNIT_EXPECT_EQ(test, make_shared(test, 700, false), SNP_RMP_FAIL_PERMISSION);
}

static void fw_launch_state_machine(struct kunit *test)
{
	struct snp_fw_launch_start s = { .gctx_paddr = gctx_paddr(test), .policy = POLICY };
	struct snp_fw_launch_finish f = { .gctx_paddr = gctx_paddr(test) };
	struct snp_fw_activate a = { .gctx_paddr = gctx_paddr(test), .asid = ASID_A };

	new_guest(test);
	/* INIT: no LAUNCH_UPDATE or LAUNCH_FINISH yet. */
	KUNIT_ASSERT_EQ(test, fw(test, SNP_CMD_ACTIVATE, &a), 0);
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 600, GPA_A, true, false, true, ASID_A), 0);
	KUNIT_EXPECT_EQ(test, launch_update(test, 600, SNP_PAGE_TYPE_NORMAL, 0, 0, 0),
			SNP_FW_INVALID_GUEST_STATE);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_LAUNCH_FINISH, &f), SNP_FW_INVALID_GUEST_STATE);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_LAUNCH_START, &s), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_LAUNCH_START, &s), SNP_FW_INVALID_GUEST_STATE);
	KUNIT_EXPECT_EQ(test, launch_update(test, 600, SNP_PAGE_TYPE_NORMAL, 0, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_LAUNCH_FINISH, &f), 0);
	/* RUNNING: the launch is over. */
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_LAUNCH_FINISH, &f), SNP_FW_INVALID_GUEST_STATE);
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 601, GPA_B, true, false, true, ASID_A), 0);
	KUNIT_EXPECT_EQ(test, launch_update(test, 601, SNP_PAGE_TYPE_NORMAL, 0, 0, 0),
			SNP_FW_INVALID_GUEST_STATE);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_LAUNCH_START, &s), SNP_FW_INVALID_GUEST_STATE);
	/* No such guest. */
	s.gctx_paddr = PFN_PHYS(tpfn(test, 602));
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_LAUNCH_START, &s), SNP_FW_INVALID_GUEST);
}

static void fw_launch_start_policy(struct kunit *test)
{
	struct snp_fw_launch_start s = { .gctx_paddr = gctx_paddr(test) };

	new_guest(test);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_LAUNCH_START, &s), SNP_FW_POLICY_FAILURE);
	s.policy = POLICY | BIT_ULL(40);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_LAUNCH_START, &s), SNP_FW_POLICY_FAILURE);
	s.policy = POLICY;
	s.rsvd = 1;
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_LAUNCH_START, &s), SNP_FW_INVALID_PARAM);
	s.rsvd = 0;
	s.policy = POLICY | BIT_ULL(19) | 0x0102;	/* debug, ABI 1.2 */
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_LAUNCH_START, &s), 0);
}

static void fw_activate_asids(struct kunit *test)
{
	struct snp_fw_activate a = { .gctx_paddr = gctx_paddr(test), .asid = 0 };
	struct snp_fw_gctx_create c = { .gctx_paddr = PFN_PHYS(tpfn(test, 700)) };
	struct snp_fw_activate b = { .gctx_paddr = c.gctx_paddr, .asid = ASID_A };
	struct snp_fw_decommission d = { .gctx_paddr = gctx_paddr(test) };

	new_guest(test);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_ACTIVATE, &a), SNP_FW_INVALID_ASID);
	a.asid = 1000;
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_ACTIVATE, &a), SNP_FW_INVALID_ASID);
	a.asid = ASID_A;
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_ACTIVATE, &a), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_ACTIVATE, &a), SNP_FW_INVALID_GUEST_STATE);
	/* A second guest cannot take the first one's ASID... */
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 700, 0, true, false, true, 0), 0);
	KUNIT_ASSERT_EQ(test, fw(test, SNP_CMD_GCTX_CREATE, &c), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_ACTIVATE, &b), SNP_FW_ASID_OWNED);
	/* ... nor reuse it after DECOMMISSION before a DF_FLUSH. */
	KUNIT_ASSERT_EQ(test, fw(test, SNP_CMD_DECOMMISSION, &d), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_ACTIVATE, &b), SNP_FW_DFFLUSH_REQUIRED);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_DF_FLUSH, NULL), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_ACTIVATE, &b), 0);
}

static void fw_launch_update_page_checks(struct kunit *test)
{
	launching_guest(test, ASID_A);
	/* Hypervisor page; assigned but mutable (the host forgot Immutable). */
	KUNIT_EXPECT_EQ(test, launch_update(test, 600, SNP_PAGE_TYPE_NORMAL, 0, 0, 0),
			SNP_FW_INVALID_PAGE_STATE);
	KUNIT_ASSERT_EQ(test, assign(test, 600, GPA_A, ASID_A, false), 0);
	KUNIT_EXPECT_EQ(test, launch_update(test, 600, SNP_PAGE_TYPE_NORMAL, 0, 0, 0),
			SNP_FW_INVALID_PAGE_STATE);
	/* Another guest's page. */
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 601, GPA_A, true, false, true, ASID_B), 0);
	KUNIT_EXPECT_EQ(test, launch_update(test, 601, SNP_PAGE_TYPE_NORMAL, 0, 0, 0),
			SNP_FW_INVALID_PAGE_OWNER);
	/* A 4 KiB launch of a page in a 2 MiB RMP page. */
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 0, GPA_B, true, true, true, ASID_A), 0);
	KUNIT_EXPECT_EQ(test, launch_update(test, 7, SNP_PAGE_TYPE_NORMAL, 0, 0, 0),
			SNP_FW_INVALID_PAGE_SIZE);
	/* Page types are 1..6. */
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 602, GPA_A, true, false, true, ASID_A), 0);
	KUNIT_EXPECT_EQ(test, launch_update(test, 602, 0, 0, 0, 0), SNP_FW_INVALID_PARAM);
	KUNIT_EXPECT_EQ(test, launch_update(test, 602, 7, 0, 0, 0), SNP_FW_INVALID_PARAM);
	/* A page launched once is no longer Pre-Guest. */
	KUNIT_EXPECT_EQ(test, launch_update(test, 602, SNP_PAGE_TYPE_NORMAL, 0, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, launch_update(test, 602, SNP_PAGE_TYPE_NORMAL, 0, 0, 0),
			SNP_FW_INVALID_PAGE_STATE);
}

static void fw_launch_update_needs_asid(struct kunit *test)
{
	struct snp_fw_launch_start s = { .gctx_paddr = gctx_paddr(test), .policy = POLICY };

	new_guest(test);
	KUNIT_ASSERT_EQ(test, fw(test, SNP_CMD_LAUNCH_START, &s), 0);
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 600, GPA_A, true, false, true, ASID_A), 0);
	KUNIT_EXPECT_EQ(test, launch_update(test, 600, SNP_PAGE_TYPE_NORMAL, 0, 0, 0),
			SNP_FW_INACTIVE);
}

static void fw_launch_update_page_result(struct kunit *test)
{
	struct snp_rmp_state st;
	u8 *va;

	launching_guest(test, ASID_A);
	memset(tva(test, 600), 0x5a, PAGE_SIZE);
	memset(tva(test, 601), 0x11, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 600, GPA_A, true, false, true, ASID_A), 0);
	KUNIT_EXPECT_EQ(test, launch_update(test, 600, SNP_PAGE_TYPE_ZERO, 1, 3, 0xf), 0);
	st = rmp(test, 600);
	/* A validated, mutable guest page with the VMPL permissions asked for. */
	KUNIT_EXPECT_TRUE(test, st.assigned);
	KUNIT_EXPECT_TRUE(test, st.validated);
	KUNIT_EXPECT_FALSE(test, st.immutable);
	KUNIT_EXPECT_FALSE(test, st.vmsa);
	KUNIT_EXPECT_EQ(test, st.vmpl_perms[1], 0xf);
	KUNIT_EXPECT_EQ(test, st.vmpl_perms[2], 3);
	KUNIT_EXPECT_EQ(test, st.vmpl_perms[3], 1);
	va = tva(test, 600);
	KUNIT_EXPECT_NULL(test, memchr_inv(va, 0, PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, npt(test, ASID_A, GPA_A, 600, PG_LEVEL_4K), 0ULL);

	KUNIT_EXPECT_EQ(test, launch_page(test, 601, GPA_B, SNP_PAGE_TYPE_UNMEASURED), 0);
	KUNIT_EXPECT_NULL(test, memchr_inv(tva(test, 601), 0x11, PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, launch_page(test, 602, SNP_VMSA_GPA, SNP_PAGE_TYPE_VMSA), 0);
	KUNIT_EXPECT_TRUE(test, rmp(test, 602).vmsa);
}

/*
 * The launch digest of a known sequence against a value computed outside
 * the kernel (Python's hashlib) from the SNP ABI's PAGE_INFO definition:
 * digest := SHA-384(digest || contents || 0x70 (le16) || type || imi ||
 * vmpl3 || vmpl2 || vmpl1 || 0 || gpa (le64)), starting from 48 zeroes;
 * contents = SHA-384(page) for NORMAL and VMSA pages, else zeroes.
 */
static const u8 known_digest[SNP_DIGEST_SIZE] = {
	0x3d, 0x7c, 0x2c, 0x46, 0xa6, 0x0b, 0x1a, 0xa2, 0x9f, 0x8c, 0x38, 0x69,
	0x91, 0x6a, 0xcd, 0x4f, 0x32, 0x5e, 0x6f, 0x92, 0xbe, 0x9e, 0xd5, 0x98,
	0xd4, 0x34, 0x1b, 0x4e, 0xfa, 0x50, 0xd5, 0xf1, 0x73, 0x58, 0xa5, 0x80,
	0x32, 0xb4, 0xb2, 0x11, 0x03, 0xd1, 0x49, 0x19, 0x01, 0xda, 0x28, 0xe8,
};

static void fw_launch_digest_known_answer(struct kunit *test)
{
	struct snp_fw_launch_finish f = { .gctx_paddr = gctx_paddr(test) };
	u8 digest[SNP_DIGEST_SIZE], *p;
	int i;

	launching_guest(test, ASID_A);
	p = tva(test, 600);
	for (i = 0; i < PAGE_SIZE; i++)
		p[i] = i * 7 + 3;
	memset(tva(test, 601), 0xa5, PAGE_SIZE);
	memset(tva(test, 602), 0x5a, PAGE_SIZE);
	memset(tva(test, 603), 0x11, PAGE_SIZE);
	memset(tva(test, 605), 0x22, PAGE_SIZE);
	p = tva(test, 606);
	for (i = 0; i < PAGE_SIZE; i++)
		p[i] = i >> 3;

	KUNIT_ASSERT_EQ(test, launch_page(test, 600, 0x10000, SNP_PAGE_TYPE_NORMAL), 0);
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 601, 0x11000, true, false, true, ASID_A), 0);
	KUNIT_ASSERT_EQ(test, launch_update(test, 601, SNP_PAGE_TYPE_NORMAL, 1, 3, 0xf), 0);
	KUNIT_ASSERT_EQ(test, launch_page(test, 602, 0x12000, SNP_PAGE_TYPE_ZERO), 0);
	KUNIT_ASSERT_EQ(test, launch_page(test, 603, 0x13000, SNP_PAGE_TYPE_UNMEASURED), 0);
	KUNIT_ASSERT_EQ(test, launch_page(test, 604, 0x14000, SNP_PAGE_TYPE_SECRETS), 0);
	KUNIT_ASSERT_EQ(test, launch_page(test, 605, 0x15000, SNP_PAGE_TYPE_CPUID), 0);
	KUNIT_ASSERT_EQ(test, launch_page(test, 606, SNP_VMSA_GPA, SNP_PAGE_TYPE_VMSA), 0);
	KUNIT_ASSERT_EQ(test, fw(test, SNP_CMD_LAUNCH_FINISH, &f), 0);
	KUNIT_ASSERT_EQ(test, snp_model_guest_digest(tm(test), gctx_paddr(test), digest), 0);
	KUNIT_EXPECT_EQ(test, memcmp(digest, known_digest, SNP_DIGEST_SIZE), 0);
	if (memcmp(digest, known_digest, SNP_DIGEST_SIZE))
		kunit_err(test, "launch digest %*phN", SNP_DIGEST_SIZE, digest);
}

/* Only NORMAL and VMSA contents are measured; every page's GPA is. */
static void fw_launch_digest_what_counts(struct kunit *test)
{
	static const struct { int type; u8 fill; u64 gpa; } runs[4][2] = {
		{ { SNP_PAGE_TYPE_UNMEASURED, 1, 0x1000 },
		  { SNP_PAGE_TYPE_UNMEASURED, 2, 0x1000 } },
		{ { SNP_PAGE_TYPE_CPUID, 1, 0x1000 }, { SNP_PAGE_TYPE_CPUID, 2, 0x1000 } },
		{ { SNP_PAGE_TYPE_NORMAL, 1, 0x1000 }, { SNP_PAGE_TYPE_NORMAL, 2, 0x1000 } },
		{ { SNP_PAGE_TYPE_ZERO, 1, 0x1000 }, { SNP_PAGE_TYPE_ZERO, 1, 0x2000 } },
	};
	u8 digest[2][SNP_DIGEST_SIZE];
	int run, k;

	KUNIT_ASSERT_EQ(test, fw(test, SNP_CMD_INIT, NULL), 0);
	for (run = 0; run < 4; run++) {
		for (k = 0; k < 2; k++) {
			/* A guest of its own: context page 900 + j, ASID 1 + j. */
			unsigned long j = run * 2 + k, pg = 600 + j;
			u64 gctx = PFN_PHYS(tpfn(test, 900 + j));
			struct snp_fw_gctx_create c = { .gctx_paddr = gctx };
			struct snp_fw_launch_start s = { .gctx_paddr = gctx, .policy = POLICY };
			struct snp_fw_activate a = { .gctx_paddr = gctx, .asid = 1 + j };
			struct snp_fw_launch_update u = {
				.gctx_paddr = gctx, .page_type = runs[run][k].type,
				.address = PFN_PHYS(tpfn(test, pg)),
			};

			KUNIT_ASSERT_EQ(test, rmpupdate(test, 900 + j, 0, true, false, true, 0), 0);
			KUNIT_ASSERT_EQ(test, fw(test, SNP_CMD_GCTX_CREATE, &c), 0);
			KUNIT_ASSERT_EQ(test, fw(test, SNP_CMD_LAUNCH_START, &s), 0);
			KUNIT_ASSERT_EQ(test, fw(test, SNP_CMD_ACTIVATE, &a), 0);
			memset(tva(test, pg), runs[run][k].fill, PAGE_SIZE);
			KUNIT_ASSERT_EQ(test, rmpupdate(test, pg, runs[run][k].gpa, true, false,
							true, 1 + j), 0);
			KUNIT_ASSERT_EQ(test, fw(test, SNP_CMD_LAUNCH_UPDATE, &u), 0);
			KUNIT_ASSERT_EQ(test, snp_model_guest_digest(tm(test), gctx, digest[k]), 0);
		}
		if (run < 2)
			KUNIT_EXPECT_EQ(test, memcmp(digest[0], digest[1], SNP_DIGEST_SIZE), 0);
		else
			KUNIT_EXPECT_NE(test, memcmp(digest[0], digest[1], SNP_DIGEST_SIZE), 0);
	}
}

static void fw_page_reclaim_only_firmware_pages(struct kunit *test)
{
	struct snp_fw_page_reclaim r = { .paddr = PFN_PHYS(tpfn(test, 600)) };

	launching_guest(test, ASID_A);
	/* A hypervisor page; a guest's validated page (mutable). */
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_PAGE_RECLAIM, &r), SNP_FW_INVALID_PAGE_STATE);
	KUNIT_ASSERT_EQ(test, launch_page(test, 600, GPA_A, SNP_PAGE_TYPE_NORMAL), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_PAGE_RECLAIM, &r), SNP_FW_INVALID_PAGE_STATE);
	/* A live guest's context page. */
	r.paddr = gctx_paddr(test);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_PAGE_RECLAIM, &r), SNP_FW_INVALID_PAGE_STATE);
	/* A firmware page: reclaimed, then the host can make it its own. */
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 601, 0, true, false, true, 0), 0);
	r.paddr = PFN_PHYS(tpfn(test, 601)) | 1;
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_PAGE_RECLAIM, &r), SNP_FW_INVALID_ADDRESS);
	/* The size bit must match the RMP's page size. */
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 512, 0, true, false, true, 0), 0);
	r.paddr = PFN_PHYS(tpfn(test, 512)) | 1;
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_PAGE_RECLAIM, &r), SNP_FW_INVALID_PAGE_SIZE);
	r.paddr = PFN_PHYS(tpfn(test, 601));
	KUNIT_EXPECT_EQ(test, make_shared(test, 601, false), SNP_RMP_FAIL_PERMISSION);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_PAGE_RECLAIM, &r), 0);
	KUNIT_EXPECT_FALSE(test, rmp(test, 601).immutable);
	KUNIT_EXPECT_EQ(test, make_shared(test, 601, false), SNP_RMP_SUCCESS);
	/* A Pre-Guest page whose launch failed. */
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 602, GPA_B, true, false, true, ASID_A), 0);
	r.paddr = PFN_PHYS(tpfn(test, 602));
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_PAGE_RECLAIM, &r), 0);
	KUNIT_EXPECT_EQ(test, make_shared(test, 602, false), SNP_RMP_SUCCESS);
	/* A 2 MiB firmware page. */
	KUNIT_ASSERT_EQ(test, rmpupdate(test, 0, 0, true, true, true, 0), 0);
	r.paddr = PFN_PHYS(tpfn(test, 0)) | 1;
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_PAGE_RECLAIM, &r), 0);
	KUNIT_EXPECT_FALSE(test, rmp(test, 511).immutable);
	KUNIT_EXPECT_EQ(test, make_shared(test, 0, true), SNP_RMP_SUCCESS);
}

static void fw_decommission(struct kunit *test)
{
	struct snp_fw_decommission d = { .gctx_paddr = gctx_paddr(test) };
	struct snp_fw_page_reclaim r = { .paddr = gctx_paddr(test) };
	struct snp_fw_launch_finish f = { .gctx_paddr = gctx_paddr(test) };
	u8 digest[SNP_DIGEST_SIZE];

	launching_guest(test, ASID_A);
	KUNIT_ASSERT_EQ(test, launch_page(test, 600, GPA_A, SNP_PAGE_TYPE_NORMAL), 0);
	KUNIT_ASSERT_EQ(test, fw(test, SNP_CMD_LAUNCH_FINISH, &f), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_DECOMMISSION, &d), 0);
	/* The guest is gone... */
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_DECOMMISSION, &d), SNP_FW_INVALID_GUEST);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_LAUNCH_FINISH, &f), SNP_FW_INVALID_GUEST);
	KUNIT_EXPECT_EQ(test, snp_model_guest_digest(tm(test), gctx_paddr(test), digest),
			-ENOENT);
	/* ... its context page is a firmware page until reclaimed... */
	KUNIT_EXPECT_EQ(test, make_shared(test, GCTX_PAGE, false), SNP_RMP_FAIL_PERMISSION);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_PAGE_RECLAIM, &r), 0);
	KUNIT_EXPECT_EQ(test, make_shared(test, GCTX_PAGE, false), SNP_RMP_SUCCESS);
	/* ... and its own pages are mutable: the host takes them back. */
	KUNIT_EXPECT_EQ(test, make_shared(test, 600, false), SNP_RMP_SUCCESS);
}

/* ---- SEV and SEV-ES guests (the SEV firmware ABI) ------------------------ */

#define SEV_ASID	SEV_MODEL_MIN_SEV_ASID	/* the first SEV-only ASID */
#define SEV_ES_ASID	3

/* SEV INIT, then LAUNCH_START with @policy: the new guest's handle. */
static u32 sev_new_guest(struct kunit *test, u32 policy)
{
	struct sev_fw_launch_start s = { .policy = policy };

	KUNIT_ASSERT_EQ(test, fw(test, SEV_CMD_INIT, NULL), 0);
	KUNIT_ASSERT_EQ(test, fw(test, SEV_CMD_LAUNCH_START, &s), 0);
	KUNIT_ASSERT_NE(test, s.handle, 0);
	return s.handle;
}

/* Another guest, SEV INIT already done. */
static u32 sev_new_guest_again(struct kunit *test, u32 policy)
{
	struct sev_fw_launch_start s = { .policy = policy };

	KUNIT_ASSERT_EQ(test, fw(test, SEV_CMD_LAUNCH_START, &s), 0);
	return s.handle;
}

/* ...and ACTIVATE on the first ASID of its kind: ready for LAUNCH_UPDATE. */
static u32 sev_launching_guest(struct kunit *test, u32 policy)
{
	u32 handle = sev_new_guest(test, policy);
	struct sev_fw_activate a = {
		.handle = handle,
		.asid = policy & SEV_POLICY_ES ? SEV_ES_ASID : SEV_ASID,
	};

	KUNIT_ASSERT_EQ(test, fw(test, SEV_CMD_ACTIVATE, &a), 0);
	return handle;
}

static int sev_update(struct kunit *test, u32 handle, u64 paddr, u32 len, bool vmsa)
{
	struct sev_fw_launch_data d = { .handle = handle, .address = paddr, .len = len };

	return fw(test, vmsa ? SEV_CMD_LAUNCH_UPDATE_VMSA : SEV_CMD_LAUNCH_UPDATE_DATA, &d);
}

static int sev_measure(struct kunit *test, u32 handle, void *buf, u32 *len)
{
	struct sev_fw_launch_data d = {
		.handle = handle, .address = virt_to_phys(buf), .len = *len,
	};
	int ret = fw(test, SEV_CMD_LAUNCH_MEASURE, &d);

	*len = d.len;
	return ret;
}

static u8 sev_state(struct kunit *test, u32 handle)
{
	struct sev_fw_guest_status st = { .handle = handle };

	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_GUEST_STATUS, &st), 0);
	return st.state;
}

/* Every SEV command needs SEV INIT first, and INIT only once. */
static void sev_fw_needs_init(struct kunit *test)
{
	struct sev_fw_launch_start s = {};
	struct sev_fw_guest_status st = { .handle = 1 };

	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_LAUNCH_START, &s), SNP_FW_INVALID_PLATFORM_STATE);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_GUEST_STATUS, &st), SNP_FW_INVALID_PLATFORM_STATE);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_INIT, NULL), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_INIT, NULL), SNP_FW_INVALID_PLATFORM_STATE);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_GUEST_STATUS, &st), SNP_FW_INVALID_GUEST);
}

/*
 * UNINIT -> LUPDATE -> LSECRET -> RUNNING, GUEST_STATUS on the way, each
 * command only in its state; DECOMMISSION only after DEACTIVATE.
 */
static void sev_fw_state_machine(struct kunit *test)
{
	u32 policy = SEV_POLICY_NODBG, handle = sev_launching_guest(test, policy);
	struct sev_fw_guest_status st = { .handle = handle };
	struct sev_fw_handle h = { .handle = handle };
	u8 *blob = kunit_kzalloc(test, SEV_MEASURE_BLOB_SIZE, GFP_KERNEL);
	u32 len = SEV_MEASURE_BLOB_SIZE;

	KUNIT_ASSERT_NOT_NULL(test, blob);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_GUEST_STATUS, &st), 0);
	KUNIT_EXPECT_EQ(test, st.state, SEV_GSTATE_LUPDATE);
	KUNIT_EXPECT_EQ(test, st.policy, policy);
	KUNIT_EXPECT_EQ(test, st.asid, SEV_ASID);
	KUNIT_EXPECT_EQ(test, sev_update(test, handle, PFN_PHYS(tpfn(test, 5)), PAGE_SIZE, false),
			0);
	KUNIT_EXPECT_EQ(test, sev_measure(test, handle, blob, &len), 0);
	KUNIT_EXPECT_EQ(test, sev_state(test, handle), SEV_GSTATE_LSECRET);
	KUNIT_EXPECT_EQ(test, sev_update(test, handle, PFN_PHYS(tpfn(test, 5)), PAGE_SIZE, false),
			SNP_FW_INVALID_GUEST_STATE);
	KUNIT_EXPECT_EQ(test, sev_measure(test, handle, blob, &len), SNP_FW_INVALID_GUEST_STATE);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_LAUNCH_FINISH, &h), 0);
	KUNIT_EXPECT_EQ(test, sev_state(test, handle), SEV_GSTATE_RUNNING);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_LAUNCH_FINISH, &h), SNP_FW_INVALID_GUEST_STATE);

	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_DECOMMISSION, &h), SEV_FW_ACTIVE);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_DEACTIVATE, &h), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_DEACTIVATE, &h), SNP_FW_INACTIVE);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_DECOMMISSION, &h), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_GUEST_STATUS, &st), SNP_FW_INVALID_GUEST);
}

/* LAUNCH_FINISH straight from LUPDATE: no secret injected, still fine. */
static void sev_fw_finish_from_lupdate(struct kunit *test)
{
	u32 handle = sev_launching_guest(test, 0);
	struct sev_fw_handle h = { .handle = handle };

	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_LAUNCH_FINISH, &h), 0);
	KUNIT_EXPECT_EQ(test, sev_state(test, handle), SEV_GSTATE_RUNNING);
}

/* Policy: reserved bits 15:6 clear, API version not newer than the firmware's. */
static void sev_fw_launch_start_policy(struct kunit *test)
{
	u32 api = FIELD_PREP(SEV_POLICY_API_MAJOR, SEV_MODEL_API_MAJOR) |
		  FIELD_PREP(SEV_POLICY_API_MINOR, SEV_MODEL_API_MINOR);
	struct sev_fw_launch_start s = {};

	KUNIT_ASSERT_EQ(test, fw(test, SEV_CMD_INIT, NULL), 0);
	s.policy = BIT(6);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_LAUNCH_START, &s), SNP_FW_POLICY_FAILURE);
	s.policy = BIT(15);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_LAUNCH_START, &s), SNP_FW_POLICY_FAILURE);
	s.policy = api + FIELD_PREP(SEV_POLICY_API_MINOR, 1);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_LAUNCH_START, &s), SNP_FW_POLICY_FAILURE);
	s.policy = FIELD_PREP(SEV_POLICY_API_MAJOR, SEV_MODEL_API_MAJOR + 1);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_LAUNCH_START, &s), SNP_FW_POLICY_FAILURE);
	s.policy = 0;
	s.handle = 42;
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_LAUNCH_START, &s), SNP_FW_INVALID_GUEST);
	s.handle = 0;
	s.session_len = 16;
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_LAUNCH_START, &s), SNP_FW_UNSUPPORTED);
	s.session_len = 0;
	s.policy = api | SEV_POLICY_NODBG | SEV_POLICY_NOKS | SEV_POLICY_ES |
		   SEV_POLICY_NOSEND | SEV_POLICY_DOMAIN | SEV_POLICY_SEV;
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_LAUNCH_START, &s), 0);
	KUNIT_EXPECT_NE(test, s.handle, 0);
}

/*
 * ACTIVATE: an ASID of the guest's kind (SEV-ES below the first SEV-only
 * one), not owned by any guest, SNP ones included, and flushed since its
 * last owner.
 */
static void sev_fw_activate_asids(struct kunit *test)
{
	u32 sev = sev_new_guest(test, 0), es = sev_new_guest_again(test, SEV_POLICY_ES);
	struct sev_fw_activate a = { .handle = sev };
	struct sev_fw_handle h = { .handle = sev };

	a.asid = SEV_ES_ASID;
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_ACTIVATE, &a), SNP_FW_INVALID_ASID);
	a.asid = 0;
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_ACTIVATE, &a), SNP_FW_INVALID_ASID);
	a.asid = SEV_MODEL_MAX_ASID + 1;
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_ACTIVATE, &a), SNP_FW_INVALID_ASID);
	a.asid = SEV_MODEL_MAX_ASID;
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_ACTIVATE, &a), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_ACTIVATE, &a), SNP_FW_INVALID_GUEST_STATE);

	a.handle = es;
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_ACTIVATE, &a), SNP_FW_INVALID_ASID);
	/* An SNP guest holds ASID_A: no SEV-ES guest may have it. */
	launching_guest(test, ASID_A);
	a.asid = ASID_A;
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_ACTIVATE, &a), SNP_FW_ASID_OWNED);

	/* The SEV guest's ASID, once given up, needs a DF_FLUSH. */
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_DEACTIVATE, &h), 0);
	a.handle = sev;
	a.asid = SEV_MODEL_MAX_ASID;
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_ACTIVATE, &a), SNP_FW_DFFLUSH_REQUIRED);
	KUNIT_EXPECT_EQ(test, fw(test, SNP_CMD_DF_FLUSH, NULL), 0);
	KUNIT_EXPECT_EQ(test, fw(test, SEV_CMD_ACTIVATE, &a), 0);
}

/*
 * LAUNCH_UPDATE_DATA: an active guest, 16-byte alignment of address and
 * length, host pages only (not assigned in the RMP).  LAUNCH_UPDATE_VMSA:
 * SEV-ES guests only, one whole page.
 */
static void sev_fw_launch_update_checks(struct kunit *test)
{
	u32 es = SEV_POLICY_ES, handle = sev_new_guest(test, es);
	struct sev_fw_activate a = { .handle = handle, .asid = SEV_ES_ASID };
	u64 pa = PFN_PHYS(tpfn(test, 5));
	u32 sev;

	KUNIT_EXPECT_EQ(test, sev_update(test, handle, pa, PAGE_SIZE, false), SNP_FW_INACTIVE);
	KUNIT_ASSERT_EQ(test, fw(test, SEV_CMD_ACTIVATE, &a), 0);
	KUNIT_EXPECT_EQ(test, sev_update(test, handle, pa + 8, 16, false), SNP_FW_INVALID_ADDRESS);
	KUNIT_EXPECT_EQ(test, sev_update(test, handle, pa, 0, false), SEV_FW_INVALID_LEN);
	KUNIT_EXPECT_EQ(test, sev_update(test, handle, pa, 24, false), SEV_FW_INVALID_LEN);
	KUNIT_EXPECT_EQ(test, sev_update(test, handle, pa + 16, 32, false), 0);
	KUNIT_EXPECT_EQ(test, sev_update(test, handle, pa + 16, PAGE_SIZE, false), 0);
	KUNIT_EXPECT_EQ(test, sev_update(test, 0, pa, PAGE_SIZE, false), SNP_FW_INVALID_GUEST);

	KUNIT_ASSERT_EQ(test, assign(test, 6, GPA_A, ASID_B, false), 0);
	KUNIT_EXPECT_EQ(test, sev_update(test, handle, PFN_PHYS(tpfn(test, 6)), PAGE_SIZE, false),
			SNP_FW_INVALID_PAGE_STATE);
	KUNIT_EXPECT_EQ(test, sev_update(test, handle, pa, PAGE_SIZE, true), 0);
	KUNIT_EXPECT_EQ(test, sev_update(test, handle, pa, 16, true), SEV_FW_INVALID_LEN);
	KUNIT_EXPECT_EQ(test, sev_update(test, handle, pa + 16, PAGE_SIZE, true),
			SNP_FW_INVALID_ADDRESS);

	sev = sev_new_guest_again(test, 0);
	a.handle = sev;
	a.asid = SEV_ASID;
	KUNIT_ASSERT_EQ(test, fw(test, SEV_CMD_ACTIVATE, &a), 0);
	KUNIT_EXPECT_EQ(test, sev_update(test, sev, pa, PAGE_SIZE, true), SNP_FW_POLICY_FAILURE);
}

/* SHA-256 of 4096 bytes (i * 7 + 3) then 32 bytes (0xc0 + i), computed outside the kernel. */
static const u8 sev_known_ld[SEV_LD_SIZE] = {
	0x77, 0x39, 0xcd, 0xb6, 0x00, 0xef, 0xb6, 0xbc, 0x0c, 0xc5, 0x78, 0xee,
	0xe9, 0x56, 0x41, 0x42, 0xfe, 0x99, 0xc8, 0x71, 0x90, 0x2d, 0xd1, 0x0a,
	0x60, 0x86, 0x91, 0x18, 0xaa, 0x08, 0x38, 0x00,
};

/*
 * The launch digest of a known input against the value computed outside
 * the kernel, and MEASURE = HMAC-SHA256(TIK; 0x04 || API || POLICY || LD ||
 * MNONCE) recomputed here; a short buffer gets INVALID_LEN, the size, and
 * leaves the guest as it was.
 */
static void sev_fw_measure_known_answer(struct kunit *test)
{
	u32 policy = SEV_POLICY_NODBG | SEV_POLICY_NOSEND, handle;
	u8 tik[SEV_TIK_SIZE], ld[SEV_LD_SIZE], hdr[8], mac[SEV_MEASURE_SIZE];
	u8 *blob = kunit_kzalloc(test, SEV_MEASURE_BLOB_SIZE, GFP_KERNEL);
	u8 *a = tva(test, 5), *b = tva(test, 6);
	struct crypto_shash *tfm;
	u32 len = 16;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, blob);
	for (i = 0; i < PAGE_SIZE; i++)
		a[i] = i * 7 + 3;
	for (i = 0; i < 32; i++)
		b[16 + i] = 0xc0 + i;
	handle = sev_launching_guest(test, policy);
	KUNIT_EXPECT_EQ(test, sev_update(test, handle, virt_to_phys(a), PAGE_SIZE, false), 0);
	KUNIT_EXPECT_EQ(test, sev_update(test, handle, virt_to_phys(b) + 16, 32, false), 0);

	KUNIT_EXPECT_EQ(test, sev_measure(test, handle, blob, &len), SEV_FW_INVALID_LEN);
	KUNIT_EXPECT_EQ(test, len, SEV_MEASURE_BLOB_SIZE);
	KUNIT_EXPECT_EQ(test, sev_state(test, handle), SEV_GSTATE_LUPDATE);
	KUNIT_EXPECT_EQ(test, sev_measure(test, handle, blob, &len), 0);
	KUNIT_EXPECT_EQ(test, len, SEV_MEASURE_BLOB_SIZE);

	KUNIT_ASSERT_EQ(test, sev_model_guest_keys(tm(test), handle, tik, ld), 0);
	KUNIT_EXPECT_EQ(test, memcmp(ld, sev_known_ld, SEV_LD_SIZE), 0);

	hdr[0] = 0x04;
	hdr[1] = SEV_MODEL_API_MAJOR;
	hdr[2] = SEV_MODEL_API_MINOR;
	hdr[3] = SEV_MODEL_BUILD;
	put_unaligned_le32(policy, hdr + 4);
	tfm = crypto_alloc_shash("hmac(sha256)", 0, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(tfm));
	{
		SHASH_DESC_ON_STACK(desc, tfm);

		desc->tfm = tfm;
		KUNIT_EXPECT_EQ(test, crypto_shash_setkey(tfm, tik, sizeof(tik)), 0);
		KUNIT_EXPECT_EQ(test, crypto_shash_init(desc), 0);
		KUNIT_EXPECT_EQ(test, crypto_shash_update(desc, hdr, sizeof(hdr)), 0);
		KUNIT_EXPECT_EQ(test, crypto_shash_update(desc, sev_known_ld, SEV_LD_SIZE), 0);
		KUNIT_EXPECT_EQ(test, crypto_shash_finup(desc, blob + SEV_MEASURE_SIZE,
							 SEV_MNONCE_SIZE, mac), 0);
	}
	crypto_free_shash(tfm);
	KUNIT_EXPECT_EQ(test, memcmp(blob, mac, SEV_MEASURE_SIZE), 0);
}

static struct kunit_case snp_model_cases[] = {
	KUNIT_CASE(rmp_global_covers_all_ram),
	KUNIT_CASE(rmp_entry_layout),
	KUNIT_CASE(rmpupdate_assign_and_share),
	KUNIT_CASE(rmpupdate_reassign_overwrites_and_clears_validated),
	KUNIT_CASE(rmpupdate_immutable_refused),
	KUNIT_CASE(rmpupdate_bad_input),
	KUNIT_CASE(rmpupdate_2m_sets_all_entries),
	KUNIT_CASE(rmpupdate_2m_overlap),
	KUNIT_CASE(rmpupdate_resize_clears_validated),
	KUNIT_CASE(rmp_inuse_injected),
	KUNIT_CASE(psmash_keeps_validated),
	KUNIT_CASE(psmash_errors),
	KUNIT_CASE(attack_psmash_partly_assigned),
	KUNIT_CASE(attack_reclaimed_page_reuse),
	KUNIT_CASE(npt_check_agrees),
	KUNIT_CASE(npt_check_asid_mismatch),
	KUNIT_CASE(npt_check_gpa_mismatch),
	KUNIT_CASE(npt_check_size_mismatch),
	KUNIT_CASE(npt_check_immutable_and_shared),
	KUNIT_CASE(host_write_check),
	KUNIT_CASE(guest_access_unvalidated_vc),
	KUNIT_CASE(guest_access_priority),
	KUNIT_CASE(guest_access_shared_write_to_assigned),
	KUNIT_CASE(pvalidate_rax_and_cf),
	KUNIT_CASE(pvalidate_size_mismatch),
	KUNIT_CASE(pvalidate_input_and_faults),
	KUNIT_CASE(rmpadjust_vmpl_rules),
	KUNIT_CASE(rmpadjust_input_and_size),
	KUNIT_CASE(fw_platform_state),
	KUNIT_CASE(fw_gctx_create_needs_firmware_page),
	KUNIT_CASE(fw_launch_state_machine),
	KUNIT_CASE(fw_launch_start_policy),
	KUNIT_CASE(fw_activate_asids),
	KUNIT_CASE(fw_launch_update_page_checks),
	KUNIT_CASE(fw_launch_update_needs_asid),
	KUNIT_CASE(fw_launch_update_page_result),
	KUNIT_CASE(fw_launch_digest_known_answer),
	KUNIT_CASE(fw_launch_digest_what_counts),
	KUNIT_CASE(fw_page_reclaim_only_firmware_pages),
	KUNIT_CASE(fw_decommission),
	KUNIT_CASE(sev_fw_needs_init),
	KUNIT_CASE(sev_fw_state_machine),
	KUNIT_CASE(sev_fw_finish_from_lupdate),
	KUNIT_CASE(sev_fw_launch_start_policy),
	KUNIT_CASE(sev_fw_activate_asids),
	KUNIT_CASE(sev_fw_launch_update_checks),
	KUNIT_CASE(sev_fw_measure_known_answer),
	{}
};

static struct kunit_suite snp_model_suite = {
	.name = "snp_fw_model",
	.init = snp_test_init,
	.exit = snp_test_exit,
	.test_cases = snp_model_cases,
};

kunit_test_suite(snp_model_suite);

MODULE_DESCRIPTION("KUnit tests for the SEV-SNP firmware model");
MODULE_LICENSE("GPL");
