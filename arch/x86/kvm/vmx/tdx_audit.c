// SPDX-License-Identifier: GPL-2.0-only
/*
 * The invariant audit of TD guests and the attack knob, in debugfs
 * (kvm_tdx/): what tests read after every step to see that the TDX backend
 * (tdx.c) keeps KVM's private mappings and the TDX-module model in
 * agreement, and what they write to make the host attempt what the module
 * must refuse.
 *
 * The Secure EPT is the truth: every present private NPT entry of a TD must
 * be derived from a MAPPED S-EPT leaf (same GPA, same page, at least as
 * large) of a page the PAMT says the TD owns; and no page a TD owns may be
 * reachable through the host's direct map.
 *
 * Locking: tdx_vms_lock, then a TD's kvm_tdx.lock (tdx_audit_td_get()),
 * then its mmu_lock (the walk), then the model's lock.  A VM leaves the
 * list in its vm_destroy, before its TD is torn down, so a TD found under
 * tdx_vms_lock keeps its struct kvm and its TDR.
 */
#define pr_fmt(fmt) "kvm-tdx: " fmt

#include <linux/debugfs.h>
#include <linux/kvm_host.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <asm/tdx_model.h>

#include "../mmu.h"
#include "tdx.h"

static LIST_HEAD(tdx_vms);
static DEFINE_MUTEX(tdx_vms_lock);
static struct dentry *tdx_debugfs_dir;
/* The status the model returned to the knob's last attack. */
static u64 tdx_attack_status;
/* A TD page the knob put into the direct map ("map_direct"), or 0. */
static u64 tdx_attack_mapped_pfn;

void tdx_audit_vm_add(struct tdx_audit_node *node, struct kvm *kvm)
{
	node->kvm = kvm;
	mutex_lock(&tdx_vms_lock);
	list_add_tail(&node->link, &tdx_vms);
	mutex_unlock(&tdx_vms_lock);
}

void tdx_audit_vm_del(struct tdx_audit_node *node)
{
	mutex_lock(&tdx_vms_lock);
	list_del(&node->link);
	mutex_unlock(&tdx_vms_lock);
}

/* ---- The audit ---------------------------------------------------------- */

struct tdx_audit {
	struct seq_file *sf;
	struct tdx_audit_td td;
	unsigned long checked;
	unsigned long violations;
};

/* At most this many violations are shown one by one, per TD. */
#define TDX_AUDIT_SHOW		8

/*
 * Is the 4 KiB page @pfn at @gpa, inside a private NPT leaf of @level,
 * what the S-EPT maps there for a guest access, and the TD's in the PAMT?
 */
static bool tdx_audit_page(struct tdx_audit *a, gpa_t gpa, kvm_pfn_t pfn, int level)
{
	struct tdx_model *m = tdx_model_global();
	u64 sept_pfn, owner, bepoch;
	int sept_level, state, pt, pamt_level;

	if (tdx_model_sept_lookup(m, a->td.tdr_pa, gpa, &sept_pfn, &sept_level, &state) ||
	    state != TDXM_SEPT_MAPPED || sept_pfn != pfn ||
	    /* TDXM_LEVEL_4K is 0, PG_LEVEL_4K is 1. */
	    sept_level + 1 < level)
		return false;
	if (tdx_model_pamt_read(m, pfn, &pt, &owner, &bepoch, &pamt_level))
		return false;
	return pt == TDXM_PT_REG && owner == a->td.tdr_pa;
}

static void tdx_audit_leaf(struct kvm *kvm, gfn_t gfn, kvm_pfn_t pfn, int level, void *data)
{
	struct tdx_audit *a = data;
	unsigned long i, n = KVM_PAGES_PER_HPAGE(level);
	u64 sept_pfn = 0;
	int sept_level = -1, state = -1;

	a->checked++;
	for (i = 0; i < n; i++)
		if (!tdx_audit_page(a, gfn_to_gpa(gfn + i), pfn + i, level))
			break;
	if (i == n)
		return;
	if (a->violations++ >= TDX_AUDIT_SHOW)
		return;
	tdx_model_sept_lookup(tdx_model_global(), a->td.tdr_pa, gfn_to_gpa(gfn + i),
			      &sept_pfn, &sept_level, &state);
	seq_printf(a->sf,
		   "violation hkid %d gfn %llx pfn %llx level %d sept pfn %llx level %d state %#x\n",
		   a->td.hkid, gfn + i, pfn + i, level, sept_pfn, sept_level, state);
}

/*
 * For every TD: each present private NPT entry checked against the S-EPT
 * and the PAMT (tdx_audit_page()); then, over all TDs, the private pages
 * the direct map still reaches (0 unless private memory keeps them there:
 * privmem.direct_map=1), and the pages the model saw taken again without a
 * write-back of the old TD's key (the module would not refuse that).
 * Exact while the TDs it walks do not change.
 */
static int tdx_audit_show(struct seq_file *sf, void *unused)
{
	unsigned long checked = 0, violations = 0, pages, in_direct_map;
	struct tdx_audit_node *node;

	mutex_lock(&tdx_vms_lock);
	list_for_each_entry(node, &tdx_vms, link) {
		struct tdx_audit a = { .sf = sf };

		if (tdx_audit_td_get(node->kvm, &a.td))
			continue;
		kvm_tdp_mmu_walk_private_leaves(node->kvm, tdx_audit_leaf, &a);
		seq_printf(sf, "vm hkid %d tdr %llx checked %lu violations %lu\n",
			   a.td.hkid, a.td.tdr_pa, a.checked, a.violations);
		checked += a.checked;
		violations += a.violations;
	}
	mutex_unlock(&tdx_vms_lock);

	tdx_model_count_guest_pages(tdx_model_global(), &pages, &in_direct_map);
	seq_printf(sf, "checked %lu\nviolations %lu\nguest_pages %lu\nin_direct_map %lu\nunflushed_reuses %lu\n",
		   checked, violations, pages, in_direct_map,
		   tdx_model_unflushed_reuses(tdx_model_global()));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tdx_audit);

/* ---- The attack knob ---------------------------------------------------- */

enum tdx_attack_op {
	TDX_ATTACK_AUG,			/* a TD's page AUGed again */
	TDX_ATTACK_ADD,			/* a TD's page PAGE.ADDed again */
	TDX_ATTACK_AUG_FREE,		/* a free page AUGed at a used GPA */
	TDX_ATTACK_REMOVE,		/* REMOVE without BLOCK */
	TDX_ATTACK_REMOVE_UNTRACKED,	/* REMOVE after BLOCK, without TRACK */
	TDX_ATTACK_RECLAIM,		/* RECLAIM of a live TD's page */
	TDX_ATTACK_TRACK_BUSY,		/* TRACK while a vCPU holds the epoch */
	/* Breaking the invariants, for the audit to see: */
	TDX_ATTACK_BLOCK,		/* BLOCK without zapping KVM's entry */
	TDX_ATTACK_UNBLOCK,		/* TRACK and UNBLOCK: as it was */
	TDX_ATTACK_MAP_DIRECT,		/* a TD page into the direct map */
	TDX_ATTACK_UNMAP_DIRECT,	/* out of it again */
};

struct tdx_attack {
	enum tdx_attack_op op;
	int hkid, to_hkid;
	gpa_t gpa, to_gpa;
};

/* The TD with @hkid on the list, under tdx_vms_lock. */
static int tdx_attack_find(int hkid, struct tdx_audit_td *td)
{
	struct tdx_audit_node *node;

	lockdep_assert_held(&tdx_vms_lock);
	list_for_each_entry(node, &tdx_vms, link)
		if (!tdx_audit_td_get(node->kvm, td) && td->hkid == hkid)
			return 0;
	return -ESRCH;
}

static u64 tdx_attack_call(u64 leaf, u64 rcx, u64 rdx, u64 r8, u64 r9)
{
	struct tdxm_args a = { .rcx = rcx, .rdx = rdx, .r8 = r8, .r9 = r9 };

	return tdx_model_seamcall(tdx_model_global(), leaf, &a);
}

/* TRACK and UNBLOCK: a blocked entry of the victim is as it was. */
static u64 tdx_attack_unblock(const struct tdx_audit_td *td, gpa_t gpa)
{
	u64 err;

	err = tdx_attack_call(TDXM_TDH_MEM_TRACK, td->tdr_pa, 0, 0, 0);
	if (!err)
		err = tdx_attack_call(TDXM_TDH_MEM_RANGE_UNBLOCK, gpa | TDXM_LEVEL_4K,
				      td->tdr_pa, 0, 0);
	if (err)
		pr_warn("attack: cannot unblock gpa %#llx again: %#llx\n", gpa, err);
	return err;
}

/*
 * BLOCK, then REMOVE without TRACK: the module refuses the REMOVE, and the
 * victim gets its page back as it was.
 */
static u64 tdx_attack_remove_untracked(const struct tdx_audit_td *td, gpa_t gpa)
{
	u64 info = gpa | TDXM_LEVEL_4K, err;

	err = tdx_attack_call(TDXM_TDH_MEM_RANGE_BLOCK, info, td->tdr_pa, 0, 0);
	if (err)
		return err;
	err = tdx_attack_call(TDXM_TDH_MEM_PAGE_REMOVE, info, td->tdr_pa, 0, 0);
	if (err)
		tdx_attack_unblock(td, gpa);
	return err;
}

/*
 * The victim's page back into the direct map, as a host that forgot to
 * take it out would leave it; once at a time, and only a page that was
 * out (-EEXIST otherwise: private memory may keep its pages mapped).
 */
static int tdx_attack_map_direct(u64 pfn, bool map)
{
	lockdep_assert_held(&tdx_vms_lock);
	if (!map) {
		if (tdx_attack_mapped_pfn != pfn)
			return -ENOENT;
		tdx_model_unmap_page(pfn);
		tdx_attack_mapped_pfn = 0;
		return 0;
	}
	if (tdx_attack_mapped_pfn)
		return -EBUSY;
	if (!tdx_model_map_page(pfn))
		return -EEXIST;
	tdx_attack_mapped_pfn = pfn;
	return 0;
}

/*
 * vCPU 0 enters (as if it were running the guest), TRACK moves the TD to
 * the next epoch, and a second TRACK finds the vCPU still in the previous
 * one: the module refuses it until the vCPU leaves.
 */
static u64 tdx_attack_track_busy(const struct tdx_audit_td *td)
{
	struct tdx_model *m = tdx_model_global();
	u64 err;

	err = tdx_model_vp_enter(m, td->tdvpr_pa);
	if (err)
		return err;
	err = tdx_attack_call(TDXM_TDH_MEM_TRACK, td->tdr_pa, 0, 0, 0);
	if (!err)
		err = tdx_attack_call(TDXM_TDH_MEM_TRACK, td->tdr_pa, 0, 0, 0);
	tdx_model_vp_exit(m, td->tdvpr_pa);
	return err;
}

static int tdx_attack_run(const struct tdx_attack *at, u64 *status)
{
	struct tdx_model *m = tdx_model_global();
	struct tdx_audit_td td, to;
	struct page *page = NULL;
	int level, state, r;
	u64 pfn = 0;

	if (at->op == TDX_ATTACK_ADD || at->op == TDX_ATTACK_AUG_FREE) {
		/* PAGE.ADD's source, or the free page AUGed: a zeroed host page. */
		page = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!page)
			return -ENOMEM;
	}

	mutex_lock(&tdx_vms_lock);
	r = tdx_attack_find(at->hkid, &td);
	if (r)
		goto out;
	if (at->op == TDX_ATTACK_AUG || at->op == TDX_ATTACK_ADD) {
		r = tdx_attack_find(at->to_hkid, &to);
		if (r)
			goto out;
	}
	if (at->op == TDX_ATTACK_TRACK_BUSY && !td.tdvpr_pa) {
		r = -ENOENT;
		goto out;
	}
	/* The victim's page at @gpa, as the S-EPT maps it. */
	if (at->op != TDX_ATTACK_TRACK_BUSY &&
	    tdx_model_sept_lookup(m, td.tdr_pa, at->gpa, &pfn, &level, &state)) {
		r = -ENOENT;
		goto out;
	}

	switch (at->op) {
	case TDX_ATTACK_AUG:
		*status = tdx_attack_call(TDXM_TDH_MEM_PAGE_AUG, at->to_gpa | TDXM_LEVEL_4K,
					  to.tdr_pa, PFN_PHYS(pfn), 0);
		break;
	case TDX_ATTACK_ADD:
		*status = tdx_attack_call(TDXM_TDH_MEM_PAGE_ADD, at->to_gpa, to.tdr_pa,
					  PFN_PHYS(pfn), page_to_phys(page));
		break;
	case TDX_ATTACK_AUG_FREE:
		*status = tdx_attack_call(TDXM_TDH_MEM_PAGE_AUG, at->gpa | TDXM_LEVEL_4K,
					  td.tdr_pa, page_to_phys(page), 0);
		/* Should the TD have taken it, it must never be freed. */
		if (!TDXM_IS_ERROR(*status)) {
			pr_warn("attack: the model took a page AUGed at a used GPA, leaking it\n");
			page = NULL;
		}
		break;
	case TDX_ATTACK_REMOVE:
		*status = tdx_attack_call(TDXM_TDH_MEM_PAGE_REMOVE, at->gpa | TDXM_LEVEL_4K,
					  td.tdr_pa, 0, 0);
		break;
	case TDX_ATTACK_REMOVE_UNTRACKED:
		*status = tdx_attack_remove_untracked(&td, at->gpa);
		break;
	case TDX_ATTACK_RECLAIM:
		*status = tdx_attack_call(TDXM_TDH_PHYMEM_PAGE_RECLAIM, PFN_PHYS(pfn), 0, 0, 0);
		break;
	case TDX_ATTACK_TRACK_BUSY:
		*status = tdx_attack_track_busy(&td);
		break;
	case TDX_ATTACK_BLOCK:
		*status = tdx_attack_call(TDXM_TDH_MEM_RANGE_BLOCK, at->gpa | TDXM_LEVEL_4K,
					  td.tdr_pa, 0, 0);
		break;
	case TDX_ATTACK_UNBLOCK:
		*status = tdx_attack_unblock(&td, at->gpa);
		break;
	case TDX_ATTACK_MAP_DIRECT:
	case TDX_ATTACK_UNMAP_DIRECT:
		r = tdx_attack_map_direct(pfn, at->op == TDX_ATTACK_MAP_DIRECT);
		break;
	}
out:
	mutex_unlock(&tdx_vms_lock);
	if (page)
		__free_page(page);
	return r;
}

/*
 * What a buggy or hostile host kernel could ask of the module about a
 * running TD's memory; TDs are named by HKID, GPAs in hex:
 *   "aug HKID GPA TO_HKID TO_GPA"   AUG the page at GPA to TO_GPA
 *   "add HKID GPA TO_HKID TO_GPA"   PAGE.ADD it there
 *   "aug_free HKID GPA"             AUG a free page at GPA
 *   "remove HKID GPA"               REMOVE without BLOCK
 *   "remove_untracked HKID GPA"     BLOCK, REMOVE without TRACK
 *   "reclaim HKID GPA"              RECLAIM the page at GPA
 *   "track_busy HKID"               TRACK twice while vCPU 0 is in
 * and, to break the invariants the audit checks:
 *   "block HKID GPA"                BLOCK, leaving KVM's NPT entry
 *   "unblock HKID GPA"              TRACK and UNBLOCK
 *   "map_direct HKID GPA"           the page into the direct map
 *   "unmap_direct HKID GPA"         out of it again
 * Reading the file gives the model's status for the last one.  The write
 * fails with ESRCH for an unknown HKID, ENOENT if nothing is mapped at GPA
 * (for track_busy: if the TD has no vCPU; for unmap_direct: if map_direct
 * did not map that page), EBUSY if
 * map_direct mapped another page already, EEXIST if the page is in the
 * direct map already.
 */
static int tdx_attack_parse(const char *buf, struct tdx_attack *at)
{
	static const struct {
		const char *name;
		enum tdx_attack_op op;
	} ops[] = {
		{ "aug", TDX_ATTACK_AUG },
		{ "add", TDX_ATTACK_ADD },
		{ "aug_free", TDX_ATTACK_AUG_FREE },
		{ "remove", TDX_ATTACK_REMOVE },
		{ "remove_untracked", TDX_ATTACK_REMOVE_UNTRACKED },
		{ "reclaim", TDX_ATTACK_RECLAIM },
		{ "track_busy", TDX_ATTACK_TRACK_BUSY },
		{ "block", TDX_ATTACK_BLOCK },
		{ "unblock", TDX_ATTACK_UNBLOCK },
		{ "map_direct", TDX_ATTACK_MAP_DIRECT },
		{ "unmap_direct", TDX_ATTACK_UNMAP_DIRECT },
	};
	char name[20];
	int n, i;

	n = sscanf(buf, "%19s %d %llx %d %llx", name, &at->hkid, &at->gpa, &at->to_hkid,
		   &at->to_gpa);
	for (i = 0; i < ARRAY_SIZE(ops); i++)
		if (n >= 2 && !strcmp(name, ops[i].name))
			break;
	if (i == ARRAY_SIZE(ops))
		return -EINVAL;
	at->op = ops[i].op;
	if ((at->op == TDX_ATTACK_AUG || at->op == TDX_ATTACK_ADD) &&
	    (n != 5 || !PAGE_ALIGNED(at->to_gpa)))
		return -EINVAL;
	if (at->op != TDX_ATTACK_TRACK_BUSY && (n < 3 || !PAGE_ALIGNED(at->gpa)))
		return -EINVAL;
	return 0;
}

static ssize_t tdx_attack_write(struct file *file, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	struct tdx_attack at = {};
	char buf[128];
	u64 status = 0;
	int r;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	r = tdx_attack_parse(buf, &at);
	if (r)
		return r;
	r = tdx_attack_run(&at, &status);
	if (r)
		return r;
	WRITE_ONCE(tdx_attack_status, status);
	return count;
}

static ssize_t tdx_attack_read(struct file *file, char __user *ubuf, size_t count,
			       loff_t *ppos)
{
	char buf[32];
	int n;

	n = scnprintf(buf, sizeof(buf), "%#llx\n", READ_ONCE(tdx_attack_status));
	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

static const struct file_operations tdx_attack_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= tdx_attack_read,
	.write	= tdx_attack_write,
	.llseek	= default_llseek,
};

void tdx_audit_debugfs_init(void)
{
	tdx_debugfs_dir = debugfs_create_dir("kvm_tdx", NULL);
	debugfs_create_file("audit", 0400, tdx_debugfs_dir, NULL, &tdx_audit_fops);
	debugfs_create_file("attack", 0600, tdx_debugfs_dir, NULL, &tdx_attack_fops);
}

void tdx_audit_debugfs_exit(void)
{
	debugfs_remove_recursive(tdx_debugfs_dir);
	tdx_debugfs_dir = NULL;
}
