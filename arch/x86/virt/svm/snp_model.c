// SPDX-License-Identifier: GPL-2.0-only
/*
 * SEV-SNP firmware model: the Reverse Map Table (RMP), RMPUPDATE and PSMASH,
 * the RMP checks of host writes, nested page table entries and guest
 * accesses, the guest instructions PVALIDATE and RMPADJUST, the SNP
 * firmware commands a hypervisor needs to launch and tear down a guest,
 * and the older SEV firmware commands that launch plain SEV and SEV-ES
 * guests.
 *
 * Test kernels only.  This code is not AMD firmware and enforces nothing by
 * itself: it answers the calls the way the CPU and the AMD-SP do (entry
 * layout, return codes, states), so the hypervisor side can be tested on
 * machines without SNP.  Documentation/virt/kvm/x86/snp-firmware-model.rst
 * lists what is modelled and where the model differs from the hardware.
 *
 * Locking, outermost first:
 *   snp_model.fw_lock (mutex): one firmware command at a time, as the AMD-SP
 *	processes one command at a time; protects the platform state, the
 *	guest contexts and the ASID table.
 *   snp_model.rmp_lock (spinlock): every RMP entry.  RMPUPDATE, PSMASH, the
 *	access checks and the guest instructions take only this lock, so they
 *	may be called with KVM's mmu_lock held.  Firmware commands take it
 *	inside fw_lock; nothing takes fw_lock with rmp_lock held.
 * Pages are hashed or cleared under fw_lock only: a page that a command
 * works on is immutable in the RMP while it does, so RMPUPDATE cannot change
 * it meanwhile.
 */
#define pr_fmt(fmt) "snp_model: " fmt

#include <linux/bitfield.h>
#include <linux/debugfs.h>
#include <linux/init.h>
#include <linux/lockdep.h>
#include <linux/memblock.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/xarray.h>
#include <asm/unaligned.h>
#include <crypto/hash.h>
#include <linux/highmem.h>
#include <linux/privmem.h>
#include <linux/random.h>
#include <asm/snp_model.h>
#include <asm/trap_pf.h>

/*
 * RMP entry, low quadword, as Zen 3/4 lay it out (not architectural, but the
 * layout Linux reads): the model stores exactly these bits.
 */
#define RMP_ASSIGNED		BIT_ULL(0)
#define RMP_PAGESIZE		BIT_ULL(1)
#define RMP_IMMUTABLE		BIT_ULL(2)
#define RMP_GPA			GENMASK_ULL(50, 12)
#define RMP_ASID		GENMASK_ULL(60, 51)
#define RMP_VMSA		BIT_ULL(61)
#define RMP_VALIDATED		BIT_ULL(62)
/*
 * The high quadword holds the VMPL permission masks; their hardware layout
 * is not published.  The model keeps VMPL n's SNP_VMPL_PERM_* mask in bits
 * [8n + 3 : 8n].
 */
#define RMP_HI_PERMS(vmpl)	(0xfULL << (8 * (vmpl)))

#define RMP_ASID_MAX		1023		/* a 10-bit field */
#define RMP_BOOKKEEPING		SZ_16K		/* CPU area before entry 0 */
#define PTRS_2M			512		/* 4 KiB entries in 2 MiB */

struct snp_rmpentry {
	u64 lo;
	u64 hi;
};

static_assert(sizeof(struct snp_rmpentry) == 16);

/*
 * Per-guest firmware state.  The ABI's guest states; the model never reports
 * them as numbers (no GUEST_STATUS), so the values are its own.
 */
enum snp_gstate {
	SNP_GSTATE_INIT,		/* after GCTX_CREATE */
	SNP_GSTATE_LAUNCH,		/* after LAUNCH_START */
	SNP_GSTATE_RUNNING,		/* after LAUNCH_FINISH */
};

struct snp_model_guest {
	u64 gctx_pfn;			/* the context page, key of ->guests */
	enum snp_gstate state;
	u32 asid;			/* 0 until ACTIVATE */
	u64 policy;
	u8 digest[SNP_DIGEST_SIZE];	/* launch digest so far */
	u8 host_data[32];
};

struct snp_model {
	spinlock_t rmp_lock;		/* every RMP entry; inside fw_lock */
	void *table;			/* bookkeeping area, then the entries */
	struct snp_rmpentry *rmp;	/* entry 0 describes start_pfn */
	unsigned long start_pfn;
	unsigned long nr_pfns;
	unsigned int inject_inuse;	/* this many RMP operations fail INUSE */

	struct mutex fw_lock;		/* firmware commands; outside rmp_lock */
	bool initialized;		/* platform state: SNP_INIT done */
	struct crypto_shash *sha384;
	struct xarray guests;		/* gctx pfn -> struct snp_model_guest */
	struct snp_model_guest *asid_owner[SNP_MODEL_MAX_ASID + 1];
	/* Decommissioned since the last DF_FLUSH: not reusable yet. */
	DECLARE_BITMAP(asid_dirty, SEV_MODEL_MAX_ASID + 1);

	/* Plain SEV and SEV-ES guests (SEV firmware ABI). */
	bool sev_initialized;		/* SEV INIT done */
	struct crypto_shash *sha256;
	struct crypto_shash *hmac_sha256;
	struct xarray sev_guests;	/* handle -> struct sev_model_guest */
	u32 sev_asid_owner[SEV_MODEL_MAX_ASID + 1];	/* handles */
};

static struct snp_model *global_model;

/* ---- RMP entries -------------------------------------------------------- */

static bool rmp_covers(struct snp_model *m, u64 pfn, unsigned long n)
{
	return pfn >= m->start_pfn && pfn - m->start_pfn + n <= m->nr_pfns;
}

static struct snp_rmpentry *rmp_entry(struct snp_model *m, u64 pfn)
{
	return &m->rmp[pfn - m->start_pfn];
}

static bool e_assigned(const struct snp_rmpentry *e)
{
	return e->lo & RMP_ASSIGNED;
}

static bool e_huge(const struct snp_rmpentry *e)
{
	return e->lo & RMP_PAGESIZE;
}

static bool e_immutable(const struct snp_rmpentry *e)
{
	return e->lo & RMP_IMMUTABLE;
}

static bool e_validated(const struct snp_rmpentry *e)
{
	return e->lo & RMP_VALIDATED;
}

static u32 e_asid(const struct snp_rmpentry *e)
{
	return FIELD_GET(RMP_ASID, e->lo);
}

static u64 e_gpa(const struct snp_rmpentry *e)
{
	return e->lo & RMP_GPA;
}

static u8 e_perms(const struct snp_rmpentry *e, u8 vmpl)
{
	return (e->hi & RMP_HI_PERMS(vmpl)) >> (8 * vmpl);
}

static void e_set_perms(struct snp_rmpentry *e, u8 vmpl, u8 perms)
{
	e->hi &= ~RMP_HI_PERMS(vmpl);
	e->hi |= (u64)(perms & SNP_VMPL_PERM_ALL) << (8 * vmpl);
}

/* The fields whose change leaves the page unvalidated. */
#define RMP_IDENTITY	(RMP_ASSIGNED | RMP_PAGESIZE | RMP_GPA | RMP_ASID)

/*
 * Write one entry as RMPUPDATE does.  Deassigning, reassigning, remapping or
 * resizing a page clears Validated and VMSA; a newly assigned page gives
 * VMPL0 all permissions and the other VMPLs none.  An update that changes
 * none of those fields (e.g. only Immutable) keeps them: an assumption, the
 * facts do not say.
 */
static void rmp_write(struct snp_rmpentry *e, u64 lo)
{
	bool same = (e->lo & RMP_IDENTITY) == (lo & RMP_IDENTITY);

	if (same) {
		e->lo = lo | (e->lo & (RMP_VALIDATED | RMP_VMSA));
		return;
	}
	e->lo = lo;
	e->hi = 0;
	if (lo & RMP_ASSIGNED)
		e_set_perms(e, 0, SNP_VMPL_PERM_ALL);
}

static u64 rmp_lo(u64 gpa, bool assigned, bool huge, bool immutable, u32 asid)
{
	return (assigned ? RMP_ASSIGNED : 0) | (huge ? RMP_PAGESIZE : 0) |
	       (immutable ? RMP_IMMUTABLE : 0) | (gpa & RMP_GPA) |
	       FIELD_PREP(RMP_ASID, asid);
}

/* The pfn's 2 MiB RMP page, if it lies in one. */
static bool rmp_in_2m_page(struct snp_model *m, u64 pfn)
{
	struct snp_rmpentry *head = rmp_entry(m, ALIGN_DOWN(pfn, PTRS_2M));

	return e_assigned(head) && e_huge(head);
}

static int rmp_take_inuse(struct snp_model *m)
{
	lockdep_assert_held(&m->rmp_lock);
	if (!m->inject_inuse)
		return 0;
	m->inject_inuse--;
	return SNP_RMP_FAIL_INUSE;
}

/**
 * snp_model_rmpupdate - RMPUPDATE: write the RMP entry of a host page
 * @m: the model
 * @spa: system physical address of the page (RAX)
 * @d: the new state (what RCX points to)
 *
 * Reassigning an assigned page is not refused: the new GPA and ASID replace
 * the old ones and the page becomes unvalidated, so its previous owner faults
 * on its next access.  Immutable entries cannot be changed.
 *
 * FAIL_PERMISSION for an immutable entry and FAIL_INPUT for bad operands are
 * assumptions (the codes are RMPADJUST's); FAIL_OVERLAP is returned for a
 * 2 MiB update over assigned 4 KiB entries, and for a 4 KiB update inside an
 * assigned 2 MiB page (PSMASH it first).  An SPA outside the RMP is
 * FAIL_INPUT here.
 *
 * Return: the EAX value.
 */
int snp_model_rmpupdate(struct snp_model *m, u64 spa, const struct snp_rmpupdate_desc *d)
{
	u64 pfn = PHYS_PFN(spa);
	bool huge = d->pagesize;
	unsigned long i, n = huge ? PTRS_2M : 1;
	u64 lo;
	int ret;

	if (!m)
		return SNP_RMP_FAIL_INPUT;
	if (offset_in_page(spa) || d->pagesize > 1 || d->assigned > 1 ||
	    d->immutable > 1 || d->rsvd || d->asid > RMP_ASID_MAX ||
	    (d->gpa & ~RMP_GPA))
		return SNP_RMP_FAIL_INPUT;
	if (huge && (!IS_ALIGNED(pfn, PTRS_2M) || !IS_ALIGNED(d->gpa, SZ_2M)))
		return SNP_RMP_FAIL_INPUT;
	if (!rmp_covers(m, pfn, n))
		return SNP_RMP_FAIL_INPUT;

	spin_lock(&m->rmp_lock);
	ret = rmp_take_inuse(m);
	if (ret)
		goto out;
	for (i = 0; i < n; i++) {
		if (e_immutable(rmp_entry(m, pfn + i))) {
			ret = SNP_RMP_FAIL_PERMISSION;
			goto out;
		}
	}
	if (!huge && rmp_in_2m_page(m, pfn)) {
		ret = SNP_RMP_FAIL_OVERLAP;
		goto out;
	}
	if (huge && !rmp_in_2m_page(m, pfn)) {
		for (i = 1; i < n; i++) {
			if (e_assigned(rmp_entry(m, pfn + i))) {
				ret = SNP_RMP_FAIL_OVERLAP;
				goto out;
			}
		}
	}
	/* A 2 MiB page: all 512 entries say so, with consecutive GPAs. */
	for (i = 0; i < n; i++) {
		lo = rmp_lo(d->assigned ? d->gpa + i * PAGE_SIZE : d->gpa,
			    d->assigned, huge, d->immutable, d->asid);
		rmp_write(rmp_entry(m, pfn + i), lo);
	}
out:
	spin_unlock(&m->rmp_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(snp_model_rmpupdate);

/**
 * snp_model_psmash - PSMASH: split a 2 MiB RMP page into 512 4 KiB entries
 * @m: the model
 * @spa: 2 MiB aligned system physical address (RAX)
 *
 * The new entries have consecutive GPAs and page size 4 KiB; everything else,
 * Validated and the VMPL permissions included, is copied from the 2 MiB
 * entry.  A range that is not an assigned 2 MiB page is FAIL_INPUT and an
 * immutable one FAIL_PERMISSION (assumptions: PSMASH's other codes are not
 * published in the facts).
 *
 * Return: the EAX value.
 */
int snp_model_psmash(struct snp_model *m, u64 spa)
{
	u64 pfn = PHYS_PFN(spa);
	struct snp_rmpentry *head, *e;
	unsigned long i;
	int ret;

	if (!m || !IS_ALIGNED(spa, SZ_2M) || !rmp_covers(m, pfn, PTRS_2M))
		return SNP_RMP_FAIL_INPUT;

	spin_lock(&m->rmp_lock);
	ret = rmp_take_inuse(m);
	if (ret)
		goto out;
	head = rmp_entry(m, pfn);
	if (!e_assigned(head) || !e_huge(head)) {
		ret = SNP_RMP_FAIL_INPUT;
		goto out;
	}
	if (e_immutable(head)) {
		ret = SNP_RMP_FAIL_PERMISSION;
		goto out;
	}
	for (i = 0; i < PTRS_2M; i++) {
		e = rmp_entry(m, pfn + i);
		e->lo = (head->lo & ~(RMP_PAGESIZE | RMP_GPA)) |
			((e_gpa(head) + i * PAGE_SIZE) & RMP_GPA);
		e->hi = head->hi;
	}
out:
	spin_unlock(&m->rmp_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(snp_model_psmash);

static void rmp_decode(struct snp_model *m, u64 pfn, struct snp_rmp_state *st)
{
	const struct snp_rmpentry *e;
	int v;

	lockdep_assert_held(&m->rmp_lock);
	*st = (struct snp_rmp_state){};
	if (!rmp_covers(m, pfn, 1))
		return;
	e = rmp_entry(m, pfn);
	st->covered = true;
	st->assigned = e_assigned(e);
	st->huge = e_huge(e);
	st->immutable = e_immutable(e);
	st->validated = e_validated(e);
	st->vmsa = e->lo & RMP_VMSA;
	st->gpa = e_gpa(e);
	st->asid = e_asid(e);
	for (v = 0; v < 4; v++)
		st->vmpl_perms[v] = e_perms(e, v);
}

/**
 * snp_model_rmpread - the RMP entry of a page, decoded
 * @m: the model
 * @pfn: the host page
 * @st: filled in; a page the RMP does not cover reads as hypervisor-owned
 */
void snp_model_rmpread(struct snp_model *m, u64 pfn, struct snp_rmp_state *st)
{
	if (!m) {
		*st = (struct snp_rmp_state){};
		return;
	}
	spin_lock(&m->rmp_lock);
	rmp_decode(m, pfn, st);
	spin_unlock(&m->rmp_lock);
}
EXPORT_SYMBOL_GPL(snp_model_rmpread);

/**
 * snp_model_rmp_raw - the two quadwords of a page's RMP entry
 * @m: the model
 * @pfn: the host page
 * @lo: low quadword (architectural bits)
 * @hi: high quadword (VMPL permissions, in the model's layout)
 *
 * Return: 0, or -ERANGE if the RMP does not cover @pfn.
 */
int snp_model_rmp_raw(struct snp_model *m, u64 pfn, u64 *lo, u64 *hi)
{
	if (!m || !rmp_covers(m, pfn, 1))
		return -ERANGE;
	spin_lock(&m->rmp_lock);
	*lo = rmp_entry(m, pfn)->lo;
	*hi = rmp_entry(m, pfn)->hi;
	spin_unlock(&m->rmp_lock);
	return 0;
}
EXPORT_SYMBOL_GPL(snp_model_rmp_raw);

/**
 * snp_model_inject_inuse - make RMP operations report contention
 * @m: the model
 * @count: the next @count RMPUPDATE/PSMASH calls return FAIL_INUSE
 *
 * The hardware returns FAIL_INUSE when another CPU uses the entry; the model
 * has no such race, so callers' retry paths are tested by injecting it.
 */
void snp_model_inject_inuse(struct snp_model *m, unsigned int count)
{
	spin_lock(&m->rmp_lock);
	m->inject_inuse = count;
	spin_unlock(&m->rmp_lock);
}
EXPORT_SYMBOL_GPL(snp_model_inject_inuse);

/**
 * snp_model_walk_assigned - visit every page assigned to a guest
 * @m: the model
 * @fn: called with each assigned 4 KiB page whose ASID is not 0 (not a
 *	firmware page) and its decoded entry; under the RMP lock, so it
 *	must not sleep or call into the model
 * @data: passed to @fn
 *
 * For audits of where guest pages are (the host's direct map must not
 * reach them).  The lock is dropped every 2 MiB, as in the debugfs walk.
 */
void snp_model_walk_assigned(struct snp_model *m,
			     void (*fn)(u64 pfn, const struct snp_rmp_state *st, void *data),
			     void *data)
{
	struct snp_rmp_state st;
	unsigned long i;

	if (!m)
		return;
	for (i = 0; i < m->nr_pfns; i++) {
		if (!(i % PTRS_2M)) {
			if (i)
				spin_unlock(&m->rmp_lock);
			cond_resched();
			spin_lock(&m->rmp_lock);
		}
		if (!e_assigned(&m->rmp[i]) || !e_asid(&m->rmp[i]))
			continue;
		rmp_decode(m, m->start_pfn + i, &st);
		fn(m->start_pfn + i, &st, data);
	}
	if (m->nr_pfns)
		spin_unlock(&m->rmp_lock);
}
EXPORT_SYMBOL_GPL(snp_model_walk_assigned);

/* ---- RMP checks --------------------------------------------------------- */

/*
 * Check (1) of a private access, in the hardware's order: covered, owned by
 * this guest's ASID, RMP.GPA equal to the GPA, mutable, and the RMP page
 * size equal to the NPT mapping size.  Return the EXITINFO1 RMP bits of the
 * nested page fault, or 0.  @pfn and @gpa are the accessed page's.
 */
static u64 rmp_private_check(struct snp_model *m, u32 asid, u64 gpa, u64 pfn,
			     enum pg_level level)
{
	bool huge_npt = level == PG_LEVEL_2M;
	const struct snp_rmpentry *e;

	lockdep_assert_held(&m->rmp_lock);
	if (huge_npt) {
		pfn = ALIGN_DOWN(pfn, PTRS_2M);
		gpa = ALIGN_DOWN(gpa, SZ_2M);
	} else {
		gpa = PAGE_ALIGN_DOWN(gpa);
	}
	if (!rmp_covers(m, pfn, 1))
		return SNP_NPF_RMP;
	e = rmp_entry(m, pfn);
	if (!e_assigned(e) || e_asid(e) != asid || !asid)
		return SNP_NPF_RMP;
	if (e_gpa(e) != (gpa & RMP_GPA))
		return SNP_NPF_RMP;
	if (e_immutable(e))
		return SNP_NPF_RMP;
	/* 1 GiB NPT mappings of private memory are not modelled. */
	if (level > PG_LEVEL_2M || e_huge(e) != huge_npt)
		return SNP_NPF_RMP | SNP_NPF_SIZEM;
	return 0;
}

/**
 * snp_model_npt_check - may a nested page table entry map this page?
 * @m: the model
 * @asid: the guest's ASID
 * @gpa: the GPA the entry maps (aligned to its size)
 * @pfn: the host page it maps (aligned to its size)
 * @level: PG_LEVEL_4K or PG_LEVEL_2M
 * @private: the entry maps private (C=1) memory
 *
 * A private entry must agree with the RMP (assigned to @asid at @gpa,
 * mutable, same page size).  A shared entry must not map an assigned page:
 * the hardware faults only guest writes to one, the model refuses the entry.
 *
 * Return: 0 if the entry is fine, else the nested page fault's EXITINFO1 bits
 * (RMP, ENC for private memory, SIZEM on a page size mismatch) that a guest
 * access through it would report.
 */
u64 snp_model_npt_check(struct snp_model *m, u32 asid, u64 gpa, u64 pfn,
			enum pg_level level, bool private)
{
	unsigned long i, n = level == PG_LEVEL_2M ? PTRS_2M : 1;
	u64 bits = 0;

	if (!m)
		return private ? SNP_NPF_RMP | SNP_NPF_ENC : 0;
	spin_lock(&m->rmp_lock);
	if (private) {
		bits = rmp_private_check(m, asid, gpa, pfn, level);
		if (bits)
			bits |= SNP_NPF_ENC;
	} else {
		for (i = 0; i < n && !bits; i++) {
			if (rmp_covers(m, pfn + i, 1) && e_assigned(rmp_entry(m, pfn + i)))
				bits = SNP_NPF_RMP;
		}
	}
	spin_unlock(&m->rmp_lock);
	return bits;
}
EXPORT_SYMBOL_GPL(snp_model_npt_check);

/**
 * snp_model_host_write_check - the RMP check of a host write
 * @m: the model
 * @pfn: the first page of the host mapping the write goes through
 * @level: the size of that mapping
 *
 * A host write must hit a hypervisor-owned page; through a 2 MiB or 1 GiB
 * mapping every 4 KiB page under it must be unassigned.
 *
 * Return: 0, or the #PF error code bit the write raises (SNP_PF_RMP).
 */
u64 snp_model_host_write_check(struct snp_model *m, u64 pfn, enum pg_level level)
{
	unsigned long i, n = 1;
	u64 bits = 0;

	if (!m)
		return 0;
	if (level == PG_LEVEL_2M)
		n = PTRS_2M;
	else if (level == PG_LEVEL_1G)
		n = PTRS_2M * PTRS_2M;
	pfn = ALIGN_DOWN(pfn, n);
	spin_lock(&m->rmp_lock);
	for (i = 0; i < n && !bits; i++) {
		if (rmp_covers(m, pfn + i, 1) && e_assigned(rmp_entry(m, pfn + i)))
			bits = SNP_PF_RMP;
	}
	spin_unlock(&m->rmp_lock);
	return bits;
}
EXPORT_SYMBOL_GPL(snp_model_host_write_check);

/**
 * snp_model_guest_access - the RMP checks of one guest access
 * @m: the model
 * @asid: the guest's ASID
 * @vmpl: the VMPL the guest runs at
 * @gpa: the accessed GPA
 * @pfn: the host page the NPT maps @gpa to
 * @level: the NPT mapping's size
 * @access: SNP_ACCESS_* flags
 * @code: the fault's error code, if any
 *
 * Private (C=1) accesses, in the hardware's priority: the RMP entry must be
 * this guest's at this GPA, mutable and of the mapping's size (else nested
 * page fault with RMP/ENC/SIZEM); then Validated (else #VC 0x404); then the
 * VMPL's permission (else nested page fault with VMPL).  A shared (C=0) write
 * to an assigned page is a nested page fault.
 *
 * Return: what the access does.
 */
enum snp_access_result snp_model_guest_access(struct snp_model *m, u32 asid, u8 vmpl,
					      u64 gpa, u64 pfn, enum pg_level level,
					      unsigned int access, u64 *code)
{
	u64 pf = X86_PF_PROT;
	const struct snp_rmpentry *e;
	enum snp_access_result ret = SNP_ACCESS_OK;
	u8 need;

	*code = 0;
	if (!m || vmpl > 3) {
		*code = SNP_NPF_RMP;
		return SNP_ACCESS_NPF;
	}
	if (access & SNP_ACCESS_WRITE)
		pf |= X86_PF_WRITE;
	if (access & SNP_ACCESS_USER)
		pf |= X86_PF_USER;
	if (access & SNP_ACCESS_FETCH)
		pf |= X86_PF_INSTR;

	spin_lock(&m->rmp_lock);
	if (!(access & SNP_ACCESS_ENC)) {
		if ((access & SNP_ACCESS_WRITE) && rmp_covers(m, pfn, 1) &&
		    e_assigned(rmp_entry(m, pfn))) {
			*code = pf | SNP_NPF_RMP;
			ret = SNP_ACCESS_NPF;
		}
		goto out;
	}
	*code = rmp_private_check(m, asid, gpa, pfn, level);
	if (*code) {
		*code |= pf | SNP_NPF_ENC;
		ret = SNP_ACCESS_NPF;
		goto out;
	}
	e = rmp_entry(m, pfn);
	if (!e_validated(e)) {
		*code = SNP_VC_PAGE_NOT_VALIDATED;
		ret = SNP_ACCESS_VC;
		goto out;
	}
	if (access & SNP_ACCESS_FETCH)
		need = (access & SNP_ACCESS_USER) ? SNP_VMPL_PERM_EXEC_USER :
						    SNP_VMPL_PERM_EXEC_SUPER;
	else if (access & SNP_ACCESS_WRITE)
		need = SNP_VMPL_PERM_WRITE;
	else
		need = SNP_VMPL_PERM_READ;
	if ((e_perms(e, vmpl) & need) != need) {
		/* Assumption: reported with the RMP bit, as the other RMP faults. */
		*code = pf | SNP_NPF_RMP | SNP_NPF_ENC | SNP_NPF_VMPL;
		ret = SNP_ACCESS_NPF;
	}
out:
	spin_unlock(&m->rmp_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(snp_model_guest_access);

/* ---- Guest instructions ------------------------------------------------- */

/*
 * The RMP checks PVALIDATE and RMPADJUST make on their target: those of a
 * private access at the requested size, except that a 2 MiB request on
 * 4 KiB entries completes with FAIL_SIZEMISMATCH while a 4 KiB request on a
 * 2 MiB entry is a nested page fault with SIZEM (the host then PSMASHes).
 * Return true if the instruction may go on.
 */
static bool insn_rmp_check(struct snp_model *m, u32 asid, u64 gpa, u64 pfn, bool huge,
			   struct snp_insn_result *res)
{
	u64 bits;

	lockdep_assert_held(&m->rmp_lock);
	bits = rmp_private_check(m, asid, gpa, pfn, huge ? PG_LEVEL_2M : PG_LEVEL_4K);
	if (!bits)
		return true;
	if (huge && bits == (SNP_NPF_RMP | SNP_NPF_SIZEM)) {
		res->rax = SNP_RMP_FAIL_SIZEMISMATCH;
		return false;
	}
	res->outcome = SNP_INSN_NPF;
	res->npf_error = X86_PF_PROT | SNP_NPF_ENC | bits;
	return false;
}

static bool insn_operands_ok(u64 gpa, u64 pfn, u64 rcx, struct snp_insn_result *res)
{
	if (rcx > 1 || (rcx && (!IS_ALIGNED(gpa, SZ_2M) || !IS_ALIGNED(pfn, PTRS_2M)))) {
		res->rax = SNP_RMP_FAIL_INPUT;
		return false;
	}
	return true;
}

/**
 * snp_model_pvalidate - PVALIDATE, executed by a guest
 * @m: the model
 * @asid: the guest's ASID
 * @vmpl: the VMPL it runs at
 * @gpa: the GPA its RAX operand translates to
 * @pfn: the host page the NPT maps @gpa to
 * @rcx: page size (0: 4 KiB, 1: 2 MiB)
 * @rdx: 1 to validate, 0 to invalidate
 * @res: the outcome; RAX and CF when it completes
 *
 * Sets or clears Validated: RAX 0 and CF 0 when it changed, CF 1 when the page
 * already was in the requested state.  FAIL_INPUT for bad operands,
 * FAIL_SIZEMISMATCH for a 2 MiB request on 4 KiB entries; a 4 KiB request on
 * a 2 MiB entry and any RMP mismatch are nested page faults.  Outside VMPL0
 * it raises #GP (an assumption from the APM: only VMPL0 may validate).
 */
void snp_model_pvalidate(struct snp_model *m, u32 asid, u8 vmpl, u64 gpa, u64 pfn,
			 u64 rcx, u64 rdx, struct snp_insn_result *res)
{
	unsigned long i, n = rcx == 1 ? PTRS_2M : 1;
	bool validate = rdx & 1;
	struct snp_rmpentry *e;

	*res = (struct snp_insn_result){ .outcome = SNP_INSN_DONE };
	if (!m || vmpl != 0) {
		res->outcome = SNP_INSN_GP;
		return;
	}
	if (rdx > 1 || !insn_operands_ok(gpa, pfn, rcx, res)) {
		res->rax = SNP_RMP_FAIL_INPUT;
		return;
	}
	spin_lock(&m->rmp_lock);
	if (!insn_rmp_check(m, asid, gpa, pfn, rcx == 1, res))
		goto out;
	pfn = ALIGN_DOWN(pfn, n);
	if (e_validated(rmp_entry(m, pfn)) == validate) {
		res->cf = true;
		goto out;
	}
	for (i = 0; i < n; i++) {
		e = rmp_entry(m, pfn + i);
		if (validate)
			e->lo |= RMP_VALIDATED;
		else
			e->lo &= ~RMP_VALIDATED;
	}
out:
	spin_unlock(&m->rmp_lock);
}
EXPORT_SYMBOL_GPL(snp_model_pvalidate);

/**
 * snp_model_rmpadjust - RMPADJUST, executed by a guest
 * @m: the model
 * @asid: the guest's ASID
 * @vmpl: the VMPL it runs at
 * @gpa: the GPA its RAX operand translates to
 * @pfn: the host page the NPT maps @gpa to
 * @rcx: page size (0: 4 KiB, 1: 2 MiB)
 * @rdx: [7:0] target VMPL, [11:8] its permissions, [16] VMSA
 * @res: the outcome; RAX when it completes
 *
 * Sets the permissions of a numerically higher VMPL, never more than the
 * caller holds, and the VMSA bit, only from VMPL0.  FAIL_INPUT for reserved
 * bits, a target above 3 or a misaligned 2 MiB request; FAIL_PERMISSION for
 * the rules above; size and RMP checks as PVALIDATE's.
 */
void snp_model_rmpadjust(struct snp_model *m, u32 asid, u8 vmpl, u64 gpa, u64 pfn,
			 u64 rcx, u64 rdx, struct snp_insn_result *res)
{
	unsigned long i, n = rcx == 1 ? PTRS_2M : 1;
	u8 target = rdx & SNP_RMPADJUST_VMPL_MASK;
	u8 perms = (rdx >> SNP_RMPADJUST_PERMS_SHIFT) & SNP_VMPL_PERM_ALL;
	bool vmsa = rdx & SNP_RMPADJUST_VMSA;
	u64 valid_rdx = SNP_RMPADJUST_VMPL_MASK | SNP_RMPADJUST_VMSA |
			((u64)SNP_VMPL_PERM_ALL << SNP_RMPADJUST_PERMS_SHIFT);
	struct snp_rmpentry *e;

	*res = (struct snp_insn_result){ .outcome = SNP_INSN_DONE };
	if (!m || vmpl > 3) {
		res->outcome = SNP_INSN_GP;
		return;
	}
	if ((rdx & ~valid_rdx) || target > 3 || !insn_operands_ok(gpa, pfn, rcx, res)) {
		res->rax = SNP_RMP_FAIL_INPUT;
		return;
	}
	spin_lock(&m->rmp_lock);
	if (!insn_rmp_check(m, asid, gpa, pfn, rcx == 1, res))
		goto out;
	pfn = ALIGN_DOWN(pfn, n);
	e = rmp_entry(m, pfn);
	if (target <= vmpl || (perms & ~e_perms(e, vmpl)) || (vmsa && vmpl != 0)) {
		res->rax = SNP_RMP_FAIL_PERMISSION;
		goto out;
	}
	for (i = 0; i < n; i++) {
		e = rmp_entry(m, pfn + i);
		e_set_perms(e, target, perms);
		if (vmsa)
			e->lo |= RMP_VMSA;
		else
			e->lo &= ~RMP_VMSA;
	}
out:
	spin_unlock(&m->rmp_lock);
}
EXPORT_SYMBOL_GPL(snp_model_rmpadjust);

/* ---- Firmware commands ------------------------------------------------- */

/*
 * Handlers return 0, an SNP_FW_* status (> 0) or a negative errno when the
 * model itself failed (no memory), which is not a firmware status.
 */

static struct snp_model_guest *fw_guest(struct snp_model *m, u64 gctx_paddr)
{
	lockdep_assert_held(&m->fw_lock);
	if (offset_in_page(gctx_paddr))
		return NULL;
	return xa_load(&m->guests, PHYS_PFN(gctx_paddr));
}

static int fw_init(struct snp_model *m)
{
	struct crypto_shash *tfm;

	lockdep_assert_held(&m->fw_lock);
	if (m->initialized)
		return SNP_FW_INVALID_PLATFORM_STATE;
	if (!m->sha384) {
		tfm = crypto_alloc_shash("sha384", 0, 0);
		if (IS_ERR(tfm))
			return PTR_ERR(tfm);
		m->sha384 = tfm;
	}
	m->initialized = true;
	return 0;
}

static int fw_df_flush(struct snp_model *m)
{
	lockdep_assert_held(&m->fw_lock);
	/* The caller's WBINVD on every CPU is not checked. */
	bitmap_zero(m->asid_dirty, SEV_MODEL_MAX_ASID + 1);
	return 0;
}

/* A context page must be a firmware page: assigned to ASID 0, immutable, 4 KiB. */
static int fw_gctx_create(struct snp_model *m, struct snp_fw_gctx_create *d)
{
	u64 pfn = PHYS_PFN(d->gctx_paddr);
	const struct snp_rmpentry *e;
	struct snp_model_guest *g;
	bool ok;
	int err;

	lockdep_assert_held(&m->fw_lock);
	if (offset_in_page(d->gctx_paddr) || !rmp_covers(m, pfn, 1))
		return SNP_FW_INVALID_ADDRESS;
	if (xa_load(&m->guests, pfn))
		return SNP_FW_INVALID_PAGE_STATE;
	spin_lock(&m->rmp_lock);
	e = rmp_entry(m, pfn);
	ok = e_assigned(e) && !e_asid(e) && e_immutable(e) && !e_huge(e);
	spin_unlock(&m->rmp_lock);
	if (!ok)
		return SNP_FW_INVALID_PAGE_STATE;

	g = kzalloc(sizeof(*g), GFP_KERNEL_ACCOUNT);
	if (!g)
		return -ENOMEM;
	g->gctx_pfn = pfn;
	g->state = SNP_GSTATE_INIT;
	err = xa_err(xa_store(&m->guests, pfn, g, GFP_KERNEL_ACCOUNT));
	if (err) {
		kfree(g);
		return err;
	}
	return 0;
}

static int fw_activate(struct snp_model *m, struct snp_fw_activate *d)
{
	struct snp_model_guest *g = fw_guest(m, d->gctx_paddr);

	if (!g)
		return SNP_FW_INVALID_GUEST;
	if (!d->asid || d->asid > SNP_MODEL_MAX_ASID)
		return SNP_FW_INVALID_ASID;
	if (g->asid)
		return SNP_FW_INVALID_GUEST_STATE;
	if (m->asid_owner[d->asid] || m->sev_asid_owner[d->asid])
		return SNP_FW_ASID_OWNED;
	if (test_bit(d->asid, m->asid_dirty))
		return SNP_FW_DFFLUSH_REQUIRED;
	g->asid = d->asid;
	m->asid_owner[d->asid] = g;
	return 0;
}

static int fw_launch_start(struct snp_model *m, struct snp_fw_launch_start *d)
{
	struct snp_model_guest *g = fw_guest(m, d->gctx_paddr);

	if (!g)
		return SNP_FW_INVALID_GUEST;
	if (g->state != SNP_GSTATE_INIT)
		return SNP_FW_INVALID_GUEST_STATE;
	if (d->rsvd)
		return SNP_FW_INVALID_PARAM;
	/* Migration agents and IMI (import) launches are not modelled. */
	if (d->ma_en || d->imi_en || d->ma_gctx_paddr)
		return SNP_FW_UNSUPPORTED;
	if (!(d->policy & SNP_POLICY_RSVD_MBO) || (d->policy & SNP_POLICY_RSVD_MBZ))
		return SNP_FW_POLICY_FAILURE;
	g->policy = d->policy;
	memset(g->digest, 0, sizeof(g->digest));
	g->state = SNP_GSTATE_LAUNCH;
	return 0;
}

/* PAGE_INFO, the block each LAUNCH_UPDATE hashes into the launch digest. */
#define PAGE_INFO_SIZE		0x70
#define PAGE_INFO_CONTENTS	48
#define PAGE_INFO_LENGTH	96
#define PAGE_INFO_TYPE		98
#define PAGE_INFO_IMI		99
#define PAGE_INFO_VMPL3		100
#define PAGE_INFO_VMPL2		101
#define PAGE_INFO_VMPL1		102
#define PAGE_INFO_GPA		104

static int fw_measure(struct snp_model *m, struct snp_model_guest *g,
		      struct snp_fw_launch_update *d, u64 pfn, u64 gpa)
{
	u8 info[PAGE_INFO_SIZE] = {};
	struct page *page = pfn_to_page(pfn);
	void *va;
	int err = 0;

	lockdep_assert_held(&m->fw_lock);
	/* Private pages may be out of the direct map: map this one alone. */
	va = privmem_vmap(&page, 1);
	if (!va)
		return -ENOMEM;
	switch (d->page_type) {
	case SNP_PAGE_TYPE_NORMAL:
	case SNP_PAGE_TYPE_VMSA:
		err = crypto_shash_tfm_digest(m->sha384, va, PAGE_SIZE,
					      info + PAGE_INFO_CONTENTS);
		break;
	case SNP_PAGE_TYPE_ZERO:
	case SNP_PAGE_TYPE_SECRETS:
		/* The model fills no secrets (VMPCKs): the page reads as zeroes. */
		memset(va, 0, PAGE_SIZE);
		break;
	default:
		/* UNMEASURED; CPUID, whose table the model does not check. */
		break;
	}
	vunmap(va);
	if (err)
		return err;

	memcpy(info, g->digest, SNP_DIGEST_SIZE);
	put_unaligned_le16(PAGE_INFO_SIZE, info + PAGE_INFO_LENGTH);
	info[PAGE_INFO_TYPE] = d->page_type;
	info[PAGE_INFO_IMI] = d->imi_page;
	info[PAGE_INFO_VMPL3] = d->vmpl3_perms;
	info[PAGE_INFO_VMPL2] = d->vmpl2_perms;
	info[PAGE_INFO_VMPL1] = d->vmpl1_perms;
	put_unaligned_le64(gpa, info + PAGE_INFO_GPA);
	return crypto_shash_tfm_digest(m->sha384, info, sizeof(info), g->digest);
}

/*
 * The page must be Pre-Guest: assigned to the guest's ASID by the host with
 * Immutable set, not validated, 4 KiB.  It leaves as a validated, mutable
 * guest page (inferred, see the facts' open points) with the given VMPL
 * permissions.  Its GPA is the one in its RMP entry.
 */
static int fw_launch_update(struct snp_model *m, struct snp_fw_launch_update *d)
{
	struct snp_model_guest *g = fw_guest(m, d->gctx_paddr);
	u64 pfn = PHYS_PFN(d->address);
	struct snp_rmpentry *e;
	int ret = 0;
	u64 gpa;

	if (!g)
		return SNP_FW_INVALID_GUEST;
	if (g->state != SNP_GSTATE_LAUNCH)
		return SNP_FW_INVALID_GUEST_STATE;
	if (!g->asid)
		return SNP_FW_INACTIVE;
	if (d->rsvd || d->rsvd2 || d->rsvd3 || d->rsvd4 ||
	    d->page_type < SNP_PAGE_TYPE_NORMAL || d->page_type > SNP_PAGE_TYPE_CPUID)
		return SNP_FW_INVALID_PARAM;
	/* 2 MiB launch pages and IMI pages are not modelled. */
	if (d->page_size || d->imi_page)
		return SNP_FW_UNSUPPORTED;
	if (offset_in_page(d->address) || !rmp_covers(m, pfn, 1))
		return SNP_FW_INVALID_ADDRESS;

	spin_lock(&m->rmp_lock);
	e = rmp_entry(m, pfn);
	if (!e_assigned(e) || !e_immutable(e) || e_validated(e))
		ret = SNP_FW_INVALID_PAGE_STATE;
	else if (e_asid(e) != g->asid)
		ret = SNP_FW_INVALID_PAGE_OWNER;
	else if (e_huge(e))
		ret = SNP_FW_INVALID_PAGE_SIZE;
	gpa = e_gpa(e);
	spin_unlock(&m->rmp_lock);
	if (ret)
		return ret;

	ret = fw_measure(m, g, d, pfn, gpa);
	if (ret)
		return ret;

	spin_lock(&m->rmp_lock);
	e->lo &= ~RMP_IMMUTABLE;
	e->lo |= RMP_VALIDATED;
	if (d->page_type == SNP_PAGE_TYPE_VMSA)
		e->lo |= RMP_VMSA;
	e_set_perms(e, 1, d->vmpl1_perms);
	e_set_perms(e, 2, d->vmpl2_perms);
	e_set_perms(e, 3, d->vmpl3_perms);
	spin_unlock(&m->rmp_lock);
	return 0;
}

static int fw_launch_finish(struct snp_model *m, struct snp_fw_launch_finish *d)
{
	struct snp_model_guest *g = fw_guest(m, d->gctx_paddr);

	if (!g)
		return SNP_FW_INVALID_GUEST;
	if (g->state != SNP_GSTATE_LAUNCH)
		return SNP_FW_INVALID_GUEST_STATE;
	if (d->rsvd || memchr_inv(d->rsvd2, 0, sizeof(d->rsvd2)))
		return SNP_FW_INVALID_PARAM;
	/* ID blocks and their signatures are not modelled. */
	if (d->id_block_en || d->auth_key_en)
		return SNP_FW_UNSUPPORTED;
	memcpy(g->host_data, d->host_data, sizeof(g->host_data));
	g->state = SNP_GSTATE_RUNNING;
	return 0;
}

/*
 * The context page goes back to the Firmware state (the host reclaims it);
 * the ASID is free again after the next DF_FLUSH.  The guest's own pages
 * stay assigned: they are mutable, the host takes them back by RMPUPDATE.
 */
static int fw_decommission(struct snp_model *m, struct snp_fw_decommission *d)
{
	struct snp_model_guest *g = fw_guest(m, d->gctx_paddr);

	if (!g)
		return SNP_FW_INVALID_GUEST;
	if (g->asid) {
		m->asid_owner[g->asid] = NULL;
		set_bit(g->asid, m->asid_dirty);
	}
	xa_erase(&m->guests, g->gctx_pfn);
	kfree(g);
	return 0;
}

/*
 * Only immutable assigned pages that no guest context uses are reclaimed:
 * firmware pages (ASID 0) and Pre-Guest pages.  They become mutable and
 * unvalidated, still assigned: the host makes them its own by RMPUPDATE.
 */
static int fw_page_reclaim(struct snp_model *m, struct snp_fw_page_reclaim *d)
{
	bool huge = d->paddr & 1;
	u64 spa = d->paddr & ~1ULL, pfn = PHYS_PFN(spa);
	unsigned long i, n = huge ? PTRS_2M : 1;
	struct snp_rmpentry *e;
	int ret = 0;

	lockdep_assert_held(&m->fw_lock);
	if (offset_in_page(spa) || (huge && !IS_ALIGNED(spa, SZ_2M)) || !rmp_covers(m, pfn, n))
		return SNP_FW_INVALID_ADDRESS;
	if (xa_load(&m->guests, pfn))
		return SNP_FW_INVALID_PAGE_STATE;

	spin_lock(&m->rmp_lock);
	e = rmp_entry(m, pfn);
	if (!e_assigned(e) || !e_immutable(e)) {
		ret = SNP_FW_INVALID_PAGE_STATE;
		goto out;
	}
	if (e_huge(e) != huge) {
		ret = SNP_FW_INVALID_PAGE_SIZE;
		goto out;
	}
	for (i = 0; i < n; i++)
		rmp_entry(m, pfn + i)->lo &= ~(RMP_IMMUTABLE | RMP_VALIDATED);
out:
	spin_unlock(&m->rmp_lock);
	return ret;
}

/* ---- SEV and SEV-ES guests (the SEV firmware ABI) ----------------------- */

/*
 * A plain SEV or SEV-ES guest: a handle instead of a context page, the
 * states UNINIT -> LUPDATE -> LSECRET -> RUNNING, the launch digest (LD,
 * SHA-256 over every byte LAUNCH_UPDATE_DATA and LAUNCH_UPDATE_VMSA
 * measured, in order), and the transport integrity key (TIK) that
 * LAUNCH_MEASURE's HMAC uses.  Without a DH exchange (the model has none)
 * the firmware makes up the TIK itself.
 */
struct sev_model_guest {
	u32 handle;
	u8 state;
	u32 policy;
	u32 asid;			/* 0 unless ACTIVATEd */
	u8 tik[SEV_TIK_SIZE];
	u8 ld[SEV_LD_SIZE];		/* final at LAUNCH_MEASURE */
	struct shash_desc *ld_desc;	/* the digest being built, in LUPDATE */
};

static struct sev_model_guest *sev_guest(struct snp_model *m, u32 handle)
{
	lockdep_assert_held(&m->fw_lock);
	return handle ? xa_load(&m->sev_guests, handle) : NULL;
}

static void sev_guest_free(struct sev_model_guest *g)
{
	kfree_sensitive(g->ld_desc);
	kfree_sensitive(g);
}

static int sev_fw_init(struct snp_model *m)
{
	struct crypto_shash *tfm;

	lockdep_assert_held(&m->fw_lock);
	if (m->sev_initialized)
		return SNP_FW_INVALID_PLATFORM_STATE;
	if (!m->sha256) {
		tfm = crypto_alloc_shash("sha256", 0, 0);
		if (IS_ERR(tfm))
			return PTR_ERR(tfm);
		m->sha256 = tfm;
	}
	if (!m->hmac_sha256) {
		tfm = crypto_alloc_shash("hmac(sha256)", 0, 0);
		if (IS_ERR(tfm))
			return PTR_ERR(tfm);
		m->hmac_sha256 = tfm;
	}
	m->sev_initialized = true;
	return 0;
}

/*
 * A new guest in LUPDATE.  The policy's API version must not be newer
 * than the firmware's, and its reserved bits must be clear.  Key sharing
 * with another guest (a non-zero handle) and the DH exchange (certificate
 * and session blobs) are not modelled.
 */
static int sev_fw_launch_start(struct snp_model *m, struct sev_fw_launch_start *d)
{
	u32 major = FIELD_GET(SEV_POLICY_API_MAJOR, d->policy);
	u32 minor = FIELD_GET(SEV_POLICY_API_MINOR, d->policy);
	struct sev_model_guest *g;
	u32 handle;
	int err;

	lockdep_assert_held(&m->fw_lock);
	if (d->rsvd)
		return SNP_FW_INVALID_PARAM;
	if (d->handle)
		return sev_guest(m, d->handle) ? SNP_FW_UNSUPPORTED : SNP_FW_INVALID_GUEST;
	if (d->dh_cert_address || d->dh_cert_len || d->session_address || d->session_len)
		return SNP_FW_UNSUPPORTED;
	if ((d->policy & SEV_POLICY_RSVD) ||
	    major > SEV_MODEL_API_MAJOR ||
	    (major == SEV_MODEL_API_MAJOR && minor > SEV_MODEL_API_MINOR))
		return SNP_FW_POLICY_FAILURE;

	g = kzalloc(sizeof(*g), GFP_KERNEL_ACCOUNT);
	if (!g)
		return -ENOMEM;
	g->ld_desc = kzalloc(sizeof(*g->ld_desc) + crypto_shash_descsize(m->sha256),
			     GFP_KERNEL_ACCOUNT);
	if (!g->ld_desc) {
		err = -ENOMEM;
		goto err_free;
	}
	g->ld_desc->tfm = m->sha256;
	err = crypto_shash_init(g->ld_desc);
	if (err)
		goto err_free;
	get_random_bytes(g->tik, sizeof(g->tik));
	g->policy = d->policy;
	g->state = SEV_GSTATE_LUPDATE;
	err = xa_alloc(&m->sev_guests, &handle, g, xa_limit_32b, GFP_KERNEL_ACCOUNT);
	if (err)
		goto err_free;
	g->handle = handle;
	d->handle = handle;
	return 0;

err_free:
	sev_guest_free(g);
	return err;
}

/*
 * The ASID must be free (no SNP or SEV guest on it, flushed since its last
 * owner) and of the guest's kind: SEV-ES guests run only on the ASIDs
 * below the first SEV-only one, plain SEV guests only on those.
 */
static int sev_fw_activate(struct snp_model *m, struct sev_fw_activate *d)
{
	struct sev_model_guest *g = sev_guest(m, d->handle);
	bool es_asid = d->asid < SEV_MODEL_MIN_SEV_ASID;

	if (!g)
		return SNP_FW_INVALID_GUEST;
	if (!d->asid || d->asid > SEV_MODEL_MAX_ASID ||
	    es_asid != !!(g->policy & SEV_POLICY_ES))
		return SNP_FW_INVALID_ASID;
	if (g->asid)
		return SNP_FW_INVALID_GUEST_STATE;
	if (m->sev_asid_owner[d->asid] ||
	    (d->asid <= SNP_MODEL_MAX_ASID && m->asid_owner[d->asid]))
		return SNP_FW_ASID_OWNED;
	if (test_bit(d->asid, m->asid_dirty))
		return SNP_FW_DFFLUSH_REQUIRED;
	g->asid = d->asid;
	m->sev_asid_owner[d->asid] = g->handle;
	return 0;
}

/* The ASID is given up; it is reusable after the next DF_FLUSH. */
static int sev_fw_deactivate(struct snp_model *m, struct sev_fw_handle *d)
{
	struct sev_model_guest *g = sev_guest(m, d->handle);

	if (!g)
		return SNP_FW_INVALID_GUEST;
	if (!g->asid)
		return SNP_FW_INACTIVE;
	m->sev_asid_owner[g->asid] = 0;
	set_bit(g->asid, m->asid_dirty);
	g->asid = 0;
	return 0;
}

static int sev_fw_decommission(struct snp_model *m, struct sev_fw_handle *d)
{
	struct sev_model_guest *g = sev_guest(m, d->handle);

	if (!g)
		return SNP_FW_INVALID_GUEST;
	if (g->asid)
		return SEV_FW_ACTIVE;
	xa_erase(&m->sev_guests, g->handle);
	sev_guest_free(g);
	return 0;
}

static int sev_fw_guest_status(struct snp_model *m, struct sev_fw_guest_status *d)
{
	struct sev_model_guest *g = sev_guest(m, d->handle);

	if (!g)
		return SNP_FW_INVALID_GUEST;
	d->policy = g->policy;
	d->asid = g->asid;
	d->state = g->state;
	return 0;
}

/*
 * Hash [@paddr, @paddr + @len) of host RAM into the launch digest, page by
 * page.  The firmware writes the data back encrypted with the guest's key;
 * the model encrypts nothing, so the memory keeps the plaintext.  A page
 * assigned in the RMP is not the host's to hand in.
 */
static int sev_measure_phys(struct snp_model *m, struct sev_model_guest *g, u64 paddr,
			    u32 len)
{
	u64 pfn, end = paddr + len;
	struct snp_rmp_state st;
	int err = 0;

	for (pfn = PHYS_PFN(paddr); PFN_PHYS(pfn) < end; pfn++) {
		if (!pfn_valid(pfn))
			return SNP_FW_INVALID_ADDRESS;
		snp_model_rmpread(m, pfn, &st);
		if (st.assigned)
			return SNP_FW_INVALID_PAGE_STATE;
	}
	while (paddr < end && !err) {
		u32 off = offset_in_page(paddr);
		u32 n = min_t(u64, PAGE_SIZE - off, end - paddr);
		void *va = kmap_local_page(pfn_to_page(PHYS_PFN(paddr)));

		err = crypto_shash_update(g->ld_desc, va + off, n);
		kunmap_local(va);
		paddr += n;
	}
	return err;
}

/*
 * LAUNCH_UPDATE_DATA: 16-byte aligned address and length, in LUPDATE, of
 * an activated guest.  LAUNCH_UPDATE_VMSA: one 4 KiB page, of an SEV-ES
 * guest only.
 */
static int sev_fw_launch_update(struct snp_model *m, struct sev_fw_launch_data *d, bool vmsa)
{
	struct sev_model_guest *g = sev_guest(m, d->handle);

	if (!g)
		return SNP_FW_INVALID_GUEST;
	if (g->state != SEV_GSTATE_LUPDATE)
		return SNP_FW_INVALID_GUEST_STATE;
	if (!g->asid)
		return SNP_FW_INACTIVE;
	if (vmsa && !(g->policy & SEV_POLICY_ES))
		return SNP_FW_POLICY_FAILURE;
	if (d->rsvd)
		return SNP_FW_INVALID_PARAM;
	if (!IS_ALIGNED(d->address, vmsa ? PAGE_SIZE : 16))
		return SNP_FW_INVALID_ADDRESS;
	if (vmsa ? d->len != PAGE_SIZE : !d->len || !IS_ALIGNED(d->len, 16))
		return SEV_FW_INVALID_LEN;
	return sev_measure_phys(m, g, d->address, d->len);
}

/* Whether [@paddr, @paddr + @len) is RAM the firmware can write. */
static bool sev_phys_ok(u64 paddr, u32 len)
{
	u64 pfn;

	for (pfn = PHYS_PFN(paddr); PFN_PHYS(pfn) < paddr + len; pfn++)
		if (!pfn_valid(pfn))
			return false;
	return true;
}

/* Copy @len bytes to host RAM at @paddr (checked), as the firmware writes its output. */
static void sev_write_phys(u64 paddr, const void *buf, u32 len)
{
	u64 end = paddr + len;

	while (paddr < end) {
		u32 off = offset_in_page(paddr);
		u32 n = min_t(u64, PAGE_SIZE - off, end - paddr);
		void *va;

		va = kmap_local_page(pfn_to_page(PHYS_PFN(paddr)));
		memcpy(va + off, buf, n);
		kunmap_local(va);
		paddr += n;
		buf += n;
	}
}

/*
 * LAUNCH_MEASURE ends the launch digest and reports
 *   MEASURE = HMAC-SHA256(TIK; 0x04 || API_MAJOR || API_MINOR || BUILD ||
 *                              POLICY (4 bytes, LE) || LD || MNONCE)
 * followed by MNONCE, a fresh 16-byte nonce: what a guest owner who holds
 * the TIK checks.  A buffer shorter than that gets INVALID_LEN and the
 * length it needs, with the guest unchanged.  LUPDATE -> LSECRET.
 */
static int sev_fw_launch_measure(struct snp_model *m, struct sev_fw_launch_data *d)
{
	struct sev_model_guest *g = sev_guest(m, d->handle);
	u8 out[SEV_MEASURE_BLOB_SIZE], hdr[4 + 4];
	SHASH_DESC_ON_STACK(desc, m->hmac_sha256);
	int err;

	if (!g)
		return SNP_FW_INVALID_GUEST;
	if (g->state != SEV_GSTATE_LUPDATE)
		return SNP_FW_INVALID_GUEST_STATE;
	if (d->rsvd)
		return SNP_FW_INVALID_PARAM;
	if (d->len < SEV_MEASURE_BLOB_SIZE) {
		d->len = SEV_MEASURE_BLOB_SIZE;
		return SEV_FW_INVALID_LEN;
	}
	d->len = SEV_MEASURE_BLOB_SIZE;
	if (!sev_phys_ok(d->address, SEV_MEASURE_BLOB_SIZE))
		return SNP_FW_INVALID_ADDRESS;

	err = crypto_shash_final(g->ld_desc, g->ld);
	if (err)
		return err;
	get_random_bytes(out + SEV_MEASURE_SIZE, SEV_MNONCE_SIZE);
	hdr[0] = 0x04;
	hdr[1] = SEV_MODEL_API_MAJOR;
	hdr[2] = SEV_MODEL_API_MINOR;
	hdr[3] = SEV_MODEL_BUILD;
	put_unaligned_le32(g->policy, hdr + 4);

	desc->tfm = m->hmac_sha256;
	err = crypto_shash_setkey(m->hmac_sha256, g->tik, sizeof(g->tik)) ?:
	      crypto_shash_init(desc) ?:
	      crypto_shash_update(desc, hdr, sizeof(hdr)) ?:
	      crypto_shash_update(desc, g->ld, sizeof(g->ld)) ?:
	      crypto_shash_finup(desc, out + SEV_MEASURE_SIZE, SEV_MNONCE_SIZE, out);
	shash_desc_zero(desc);
	if (err)
		return err;
	sev_write_phys(d->address, out, sizeof(out));
	g->state = SEV_GSTATE_LSECRET;
	return 0;
}

/* From LUPDATE (no secret injected) or LSECRET to RUNNING. */
static int sev_fw_launch_finish(struct snp_model *m, struct sev_fw_handle *d)
{
	struct sev_model_guest *g = sev_guest(m, d->handle);

	if (!g)
		return SNP_FW_INVALID_GUEST;
	if (g->state != SEV_GSTATE_LUPDATE && g->state != SEV_GSTATE_LSECRET)
		return SNP_FW_INVALID_GUEST_STATE;
	g->state = SEV_GSTATE_RUNNING;
	return 0;
}

/* The SEV commands, under fw_lock; INVALID_PLATFORM_STATE before SEV INIT. */
static int sev_fw_cmd(struct snp_model *m, int cmd, void *data)
{
	lockdep_assert_held(&m->fw_lock);
	if (cmd == SEV_CMD_INIT)
		return sev_fw_init(m);
	if (!m->sev_initialized)
		return SNP_FW_INVALID_PLATFORM_STATE;
	switch (cmd) {
	case SEV_CMD_LAUNCH_START:
		return sev_fw_launch_start(m, data);
	case SEV_CMD_ACTIVATE:
		return sev_fw_activate(m, data);
	case SEV_CMD_DEACTIVATE:
		return sev_fw_deactivate(m, data);
	case SEV_CMD_DECOMMISSION:
		return sev_fw_decommission(m, data);
	case SEV_CMD_GUEST_STATUS:
		return sev_fw_guest_status(m, data);
	case SEV_CMD_LAUNCH_UPDATE_DATA:
		return sev_fw_launch_update(m, data, false);
	case SEV_CMD_LAUNCH_UPDATE_VMSA:
		return sev_fw_launch_update(m, data, true);
	case SEV_CMD_LAUNCH_MEASURE:
		return sev_fw_launch_measure(m, data);
	case SEV_CMD_LAUNCH_FINISH:
		return sev_fw_launch_finish(m, data);
	default:
		return SNP_FW_INVALID_COMMAND;
	}
}

/* The SEV commands the model implements; others are the SNP dispatcher's. */
static bool sev_fw_cmd_id(int cmd)
{
	switch (cmd) {
	case SEV_CMD_INIT:
	case SEV_CMD_DECOMMISSION:
	case SEV_CMD_ACTIVATE:
	case SEV_CMD_DEACTIVATE:
	case SEV_CMD_GUEST_STATUS:
	case SEV_CMD_LAUNCH_START:
	case SEV_CMD_LAUNCH_UPDATE_DATA:
	case SEV_CMD_LAUNCH_UPDATE_VMSA:
	case SEV_CMD_LAUNCH_MEASURE:
	case SEV_CMD_LAUNCH_FINISH:
		return true;
	default:
		return false;
	}
}

/**
 * sev_model_guest_keys - an SEV guest's TIK and launch digest
 * @m: the model
 * @handle: the guest's handle
 * @tik: SEV_TIK_SIZE bytes
 * @ld: SEV_LD_SIZE bytes, final once LAUNCH_MEASURE has run (else zeroes)
 *
 * What a guest owner would hold (the TIK, from its DH exchange) and what
 * it computes itself (the LD), for tests of LAUNCH_MEASURE.
 *
 * Return: 0, or -ENOENT if there is no such guest.
 */
int sev_model_guest_keys(struct snp_model *m, u32 handle, u8 *tik, u8 *ld)
{
	struct sev_model_guest *g;
	int ret = -ENOENT;

	if (!m)
		return -ENODEV;
	mutex_lock(&m->fw_lock);
	g = sev_guest(m, handle);
	if (g) {
		memcpy(tik, g->tik, SEV_TIK_SIZE);
		memcpy(ld, g->ld, SEV_LD_SIZE);
		ret = 0;
	}
	mutex_unlock(&m->fw_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(sev_model_guest_keys);

/**
 * snp_model_fw_cmd - issue an SNP firmware command to the model
 * @m: the model
 * @cmd: SNP_CMD_*, or SEV_CMD_* for plain SEV and SEV-ES guests
 * @data: the command buffer (struct snp_fw_*, sev_fw_*), NULL for the INITs
 *	and DF_FLUSH
 * @fw_err: the firmware status, SNP_FW_SUCCESS or an error
 *
 * Commands run one at a time.  Every command but SNP_INIT needs the platform
 * initialised (else INVALID_PLATFORM_STATE), the SEV commands by SEV INIT;
 * unknown commands are INVALID_COMMAND.
 *
 * Return: 0, -EIO with *@fw_err set when the firmware refused the command, or
 * another negative errno when the model could not run it.
 */
int snp_model_fw_cmd(struct snp_model *m, int cmd, void *data, int *fw_err)
{
	int ret;

	if (!m || !fw_err)
		return -EINVAL;
	*fw_err = SNP_FW_SUCCESS;
	if (!data && cmd != SNP_CMD_INIT && cmd != SNP_CMD_DF_FLUSH && cmd != SEV_CMD_INIT)
		return -EINVAL;

	mutex_lock(&m->fw_lock);
	if (sev_fw_cmd_id(cmd)) {
		ret = sev_fw_cmd(m, cmd, data);
		goto out;
	}
	if (cmd != SNP_CMD_INIT && !m->initialized) {
		ret = SNP_FW_INVALID_PLATFORM_STATE;
		goto out;
	}
	switch (cmd) {
	case SNP_CMD_INIT:
		ret = fw_init(m);
		break;
	case SNP_CMD_DF_FLUSH:
		ret = fw_df_flush(m);
		break;
	case SNP_CMD_GCTX_CREATE:
		ret = fw_gctx_create(m, data);
		break;
	case SNP_CMD_ACTIVATE:
		ret = fw_activate(m, data);
		break;
	case SNP_CMD_LAUNCH_START:
		ret = fw_launch_start(m, data);
		break;
	case SNP_CMD_LAUNCH_UPDATE:
		ret = fw_launch_update(m, data);
		break;
	case SNP_CMD_LAUNCH_FINISH:
		ret = fw_launch_finish(m, data);
		break;
	case SNP_CMD_DECOMMISSION:
		ret = fw_decommission(m, data);
		break;
	case SNP_CMD_PAGE_RECLAIM:
		ret = fw_page_reclaim(m, data);
		break;
	default:
		ret = SNP_FW_INVALID_COMMAND;
		break;
	}
out:
	mutex_unlock(&m->fw_lock);
	if (ret > 0) {
		*fw_err = ret;
		return -EIO;
	}
	return ret;
}
EXPORT_SYMBOL_GPL(snp_model_fw_cmd);

/**
 * snp_model_guest_digest - a guest's launch digest
 * @m: the model
 * @gctx_paddr: the guest's context page
 * @digest: SNP_DIGEST_SIZE bytes; final once LAUNCH_FINISH has run
 *
 * Return: 0, or -ENOENT if there is no such guest.
 */
int snp_model_guest_digest(struct snp_model *m, u64 gctx_paddr, u8 *digest)
{
	struct snp_model_guest *g;
	int ret = -ENOENT;

	if (!m)
		return -ENODEV;
	mutex_lock(&m->fw_lock);
	g = fw_guest(m, gctx_paddr);
	if (g) {
		memcpy(digest, g->digest, SNP_DIGEST_SIZE);
		ret = 0;
	}
	mutex_unlock(&m->fw_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(snp_model_guest_digest);

/* ---- Instances ---------------------------------------------------------- */

/**
 * snp_model_create - a model whose RMP covers [start_pfn, start_pfn + nr_pfns)
 * @start_pfn: first page covered, 2 MiB aligned (0 for a machine's RMP)
 * @nr_pfns: pages covered, rounded up to 2 MiB
 *
 * The table costs 16 bytes per 4 KiB page plus the 16 KiB bookkeeping area
 * the hardware puts in front of it.  Pages outside read as hypervisor-owned.
 *
 * Return: the model, or NULL.
 */
struct snp_model *snp_model_create(unsigned long start_pfn, unsigned long nr_pfns)
{
	struct snp_model *m;

	if (!IS_ALIGNED(start_pfn, PTRS_2M) || !nr_pfns)
		return NULL;
	nr_pfns = ALIGN(nr_pfns, PTRS_2M);
	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return NULL;
	m->table = vzalloc(RMP_BOOKKEEPING + nr_pfns * sizeof(struct snp_rmpentry));
	if (!m->table) {
		kfree(m);
		return NULL;
	}
	m->rmp = m->table + RMP_BOOKKEEPING;
	m->start_pfn = start_pfn;
	m->nr_pfns = nr_pfns;
	spin_lock_init(&m->rmp_lock);
	mutex_init(&m->fw_lock);
	xa_init(&m->guests);
	xa_init_flags(&m->sev_guests, XA_FLAGS_ALLOC1);
	return m;
}
EXPORT_SYMBOL_GPL(snp_model_create);

/**
 * snp_model_destroy - free a model made by snp_model_create()
 * @m: the model; its guest contexts go with it
 */
void snp_model_destroy(struct snp_model *m)
{
	struct sev_model_guest *sg;
	struct snp_model_guest *g;
	unsigned long idx;

	if (!m)
		return;
	if (WARN_ON_ONCE(m == global_model))
		return;
	xa_for_each(&m->guests, idx, g)
		kfree(g);
	xa_destroy(&m->guests);
	xa_for_each(&m->sev_guests, idx, sg)
		sev_guest_free(sg);
	xa_destroy(&m->sev_guests);
	crypto_free_shash(m->hmac_sha256);
	crypto_free_shash(m->sha256);
	crypto_free_shash(m->sha384);
	vfree(m->table);
	kfree(m);
}
EXPORT_SYMBOL_GPL(snp_model_destroy);

/**
 * snp_model_rmp_bytes - the size of a model's RMP
 * @m: the model
 *
 * Return: bytes, the 16 KiB bookkeeping area included.
 */
size_t snp_model_rmp_bytes(struct snp_model *m)
{
	return m ? RMP_BOOKKEEPING + m->nr_pfns * sizeof(struct snp_rmpentry) : 0;
}
EXPORT_SYMBOL_GPL(snp_model_rmp_bytes);

/**
 * snp_model_global - the machine's model, whose RMP covers all RAM
 *
 * Return: the model, or NULL if it could not be set up.
 */
struct snp_model *snp_model_global(void)
{
	return global_model;
}
EXPORT_SYMBOL_GPL(snp_model_global);

/* ---- debugfs: what tests read back (the model's, not the ABI's) --------- */

static const char * const snp_gstate_names[] = {
	[SNP_GSTATE_INIT]	= "init",
	[SNP_GSTATE_LAUNCH]	= "launch",
	[SNP_GSTATE_RUNNING]	= "running",
};

/*
 * One line per guest context: its page, ASID, state, policy and launch
 * digest.  Real firmware reports the digest only inside a signed
 * attestation report; the model's tests read it here instead.
 */
static int snp_model_guests_show(struct seq_file *sf, void *unused)
{
	struct snp_model *m = sf->private;
	struct snp_model_guest *g;
	unsigned long idx;

	mutex_lock(&m->fw_lock);
	xa_for_each(&m->guests, idx, g)
		seq_printf(sf, "gctx %llx asid %u state %s policy %llx digest %*phN\n",
			   g->gctx_pfn, g->asid, snp_gstate_names[g->state],
			   g->policy, SNP_DIGEST_SIZE, g->digest);
	mutex_unlock(&m->fw_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(snp_model_guests);

/*
 * The SEV API version LAUNCH_MEASURE puts into its HMAC, then one line per
 * plain SEV or SEV-ES guest: handle, state, policy, ASID and TIK, which a
 * guest owner has from its DH exchange with real firmware (the model has
 * none): tests need it to check LAUNCH_MEASURE.
 */
static int snp_model_sev_guests_show(struct seq_file *sf, void *unused)
{
	struct snp_model *m = sf->private;
	struct sev_model_guest *g;
	unsigned long idx;

	seq_printf(sf, "api %u %u build %u\n", SEV_MODEL_API_MAJOR, SEV_MODEL_API_MINOR,
		   SEV_MODEL_BUILD);
	mutex_lock(&m->fw_lock);
	xa_for_each(&m->sev_guests, idx, g)
		seq_printf(sf, "handle %u state %u policy %x asid %u tik %*phN\n",
			   g->handle, g->state, g->policy, g->asid, SEV_TIK_SIZE, g->tik);
	mutex_unlock(&m->fw_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(snp_model_sev_guests);

struct snp_rmp_count {
	unsigned long assigned;
	unsigned long validated;
	unsigned long immutable;
	unsigned long huge;
};

/*
 * The assigned RMP entries, counted per ASID (0: firmware pages): how a
 * test sees that a guest's pages went back to the hypervisor.  The walk
 * drops the lock every 2 MiB; the counts are exact while nothing else
 * changes the RMP.
 */
static int snp_model_rmp_show(struct seq_file *sf, void *unused)
{
	struct snp_model *m = sf->private;
	struct snp_rmp_count *c;
	unsigned long pfn, asid;

	c = kvcalloc(RMP_ASID_MAX + 1, sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	for (pfn = 0; pfn < m->nr_pfns; pfn++) {
		const struct snp_rmpentry *e;

		if (!(pfn % PTRS_2M)) {
			if (pfn)
				spin_unlock(&m->rmp_lock);
			cond_resched();
			spin_lock(&m->rmp_lock);
		}
		e = &m->rmp[pfn];
		if (!e_assigned(e))
			continue;
		asid = e_asid(e);
		c[asid].assigned++;
		c[asid].validated += e_validated(e);
		c[asid].immutable += e_immutable(e);
		c[asid].huge += e_huge(e);
	}
	if (m->nr_pfns)
		spin_unlock(&m->rmp_lock);

	for (asid = 0; asid <= RMP_ASID_MAX; asid++)
		if (c[asid].assigned)
			seq_printf(sf, "asid %lu assigned %lu validated %lu immutable %lu huge %lu\n",
				   asid, c[asid].assigned, c[asid].validated,
				   c[asid].immutable, c[asid].huge);
	kvfree(c);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(snp_model_rmp);

static void __init snp_model_debugfs_init(struct snp_model *m)
{
	struct dentry *dir = debugfs_create_dir("snp_model", NULL);

	debugfs_create_file("guests", 0400, dir, m, &snp_model_guests_fops);
	debugfs_create_file("rmp", 0400, dir, m, &snp_model_rmp_fops);
	debugfs_create_file("sev_guests", 0400, dir, m, &snp_model_sev_guests_fops);
}

static int __init snp_model_init(void)
{
	struct snp_model *m;

	/* From PFN 0 to the end of RAM, as the hardware's RMP. */
	m = snp_model_create(0, max_pfn);
	if (!m) {
		pr_err("no memory for the RMP of %lu pages\n", max_pfn);
		return -ENOMEM;
	}
	global_model = m;
	snp_model_debugfs_init(m);
	pr_notice("SEV-SNP firmware MODEL for tests, not AMD firmware: RMP of %lu pages, %zu KiB\n",
		  m->nr_pfns, snp_model_rmp_bytes(m) / SZ_1K);
	return 0;
}
subsys_initcall(snp_model_init);

/*
 * /dev/sev, as the PSP driver serves it on an SNP host.  Upstream's KVM
 * issues a guest's firmware commands only for a VMM that shows an open
 * /dev/sev (kvm_sev_cmd.sev_fd), the right to use the platform.  The
 * model's node answers no platform commands of its own: an ioctl is
 * ENOTTY.
 */
static const struct file_operations snp_model_sev_fops = {
	.owner	= THIS_MODULE,
	.open	= nonseekable_open,
	.llseek	= no_llseek,
};

static struct miscdevice snp_model_sev_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "sev",
	.fops	= &snp_model_sev_fops,
	.mode	= 0600,
};

/**
 * snp_model_file_is_sev - whether @file is an open /dev/sev of the model
 * @file: the file behind a VMM's kvm_sev_cmd.sev_fd
 *
 * Return: true for the model's /dev/sev.
 */
bool snp_model_file_is_sev(struct file *file)
{
	return file && file->f_op == &snp_model_sev_fops;
}
EXPORT_SYMBOL_GPL(snp_model_file_is_sev);

/* After misc_init(), a subsys_initcall too but of a later link unit. */
static int __init snp_model_sev_dev_init(void)
{
	int r;

	if (!global_model)
		return 0;
	r = misc_register(&snp_model_sev_dev);
	if (r)
		pr_warn("cannot register /dev/sev: %d\n", r);
	return r;
}
device_initcall(snp_model_sev_dev_init);
