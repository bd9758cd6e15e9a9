// SPDX-License-Identifier: GPL-2.0-only
/*
 * SEV-SNP launch through upstream's ABI, on the SNP firmware model:
 * KVM_X86_SNP_VM is reported and created, KVM_SEV_INIT2 and
 * KVM_SEV_SNP_LAUNCH_START/UPDATE/FINISH give upstream's errno for every
 * bad input (table-driven), a launch's digest is what user space computes
 * from the pages it loaded (the SHA-384 chain over PAGE_INFO of the SNP
 * firmware ABI), and the RMP is checked after launch, punch hole and
 * teardown: every page the guest got is hypervisor-owned again before it
 * is freed.
 *
 * Real firmware reports the launch digest only in a signed attestation
 * report; the model shows it, and the RMP counts, in debugfs
 * (/sys/kernel/debug/snp_model/), which this test reads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "privmem_launch.h"
#include "privmem_sha384.h"
#include "privmem_util.h"
#include "privmem_snp.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define SNP_POLICY_SMT		BIT_ULL(16)
#define SNP_POLICY_RSVD_MBO	BIT_ULL(17)
#define SNP_POLICY_SINGLE_SOCKET BIT_ULL(20)
#define TEST_POLICY		(SNP_POLICY_RSVD_MBO | SNP_POLICY_SMT)

/* SNP firmware status codes the tests expect in kvm_sev_cmd.error. */
#define SNP_FW_UNSUPPORTED	0x15

/* kvm_sev_cmd.error before the call: the SNP backend always writes it. */
#define ERROR_UNTOUCHED		0xdeadbeef

#define MODEL_GUESTS	"/sys/kernel/debug/snp_model/guests"
#define MODEL_RMP	"/sys/kernel/debug/snp_model/rmp"

#define DIGEST_SIZE	SHA384_DIGEST_SIZE

/* ---- The launch digest (SNP firmware ABI, PAGE_INFO) --------------------- */

#define PAGE_INFO_SIZE	0x70

static void digest_extend(uint8_t digest[DIGEST_SIZE], const void *page,
			  uint8_t type, uint64_t gpa)
{
	uint8_t info[PAGE_INFO_SIZE] = {};
	int i;

	memcpy(info, digest, DIGEST_SIZE);
	if (type == KVM_SEV_SNP_PAGE_TYPE_NORMAL)
		sha384(page, PAGE_SIZE, info + 48);
	info[96] = PAGE_INFO_SIZE;
	info[97] = 0;
	info[98] = type;
	/* imi_page, VMPL3/2/1 permissions and reserved: all zero. */
	for (i = 0; i < 8; i++)
		info[104 + i] = gpa >> (8 * i);
	sha384(info, sizeof(info), digest);
}

/* ---- The model's debugfs files ------------------------------------------- */

struct model_guest {
	uint64_t gctx;
	unsigned int asid;
	char state[16];
	uint64_t policy;
	uint8_t digest[DIGEST_SIZE];
};

/* The guests the model knows; returns how many, at most @max. */
static int model_guests(struct model_guest *g, int max)
{
	char line[512], hex[2 * DIGEST_SIZE + 1];
	FILE *f = fopen(MODEL_GUESTS, "r");
	int n = 0, i;

	TEST_ASSERT(f, "open %s: %s", MODEL_GUESTS, strerror(errno));
	while (n < max && fgets(line, sizeof(line), f)) {
		TEST_ASSERT(sscanf(line, "gctx %lx asid %u state %15s policy %lx digest %96s",
				   &g[n].gctx, &g[n].asid, g[n].state, &g[n].policy,
				   hex) == 5, "bad line in %s: %s", MODEL_GUESTS, line);
		for (i = 0; i < DIGEST_SIZE; i++)
			TEST_ASSERT(sscanf(hex + 2 * i, "%2hhx", &g[n].digest[i]) == 1,
				    "bad digest in %s", line);
		n++;
	}
	fclose(f);
	return n;
}

/* The one guest context that is in @after and not in @before. */
static struct model_guest new_guest(struct model_guest *before, int nb,
				    struct model_guest *after, int na)
{
	struct model_guest found = {};
	int i, j, n = 0;

	for (i = 0; i < na; i++) {
		for (j = 0; j < nb && before[j].gctx != after[i].gctx; j++)
			;
		if (j == nb) {
			found = after[i];
			n++;
		}
	}
	TEST_ASSERT(n == 1, "expected one new guest context, found %d", n);
	return found;
}

struct rmp_count {
	unsigned long assigned, validated, immutable, huge;
};

/* The RMP entries assigned to @asid (0: firmware pages). */
static struct rmp_count model_rmp(unsigned int asid)
{
	struct rmp_count c = {}, t;
	char line[256];
	unsigned int a;
	FILE *f = fopen(MODEL_RMP, "r");

	TEST_ASSERT(f, "open %s: %s", MODEL_RMP, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		TEST_ASSERT(sscanf(line,
				   "asid %u assigned %lu validated %lu immutable %lu huge %lu",
				   &a, &t.assigned, &t.validated, &t.immutable,
				   &t.huge) == 5, "bad line in %s: %s", MODEL_RMP, line);
		if (a == asid)
			c = t;
	}
	fclose(f);
	return c;
}

/* ---- VMs and commands ---------------------------------------------------- */

static void guest_code(void)
{
	GUEST_DONE();
}

/* /dev/sev, opened once; what the next command passes as sev_fd. */
static int sev_fd = -1, cmd_sev_fd = -1;

static int __snp_cmd(struct kvm_vm *vm, uint32_t id, void *data, uint32_t *fw_error)
{
	return __vm_sev_cmd(vm, id, data, cmd_sev_fd, ERROR_UNTOUCHED, fw_error);
}

static void snp_cmd(struct kvm_vm *vm, uint32_t id, void *data)
{
	uint32_t fw_error;
	int r = __snp_cmd(vm, id, data, &fw_error);

	TEST_ASSERT(!r && !fw_error, "SEV command %u: %d (%s), firmware error %#x",
		    id, r, strerror(errno), fw_error);
}

static void snp_init2(struct kvm_vm *vm)
{
	struct kvm_sev_init init = {};

	snp_cmd(vm, KVM_SEV_INIT2, &init);
}

static void snp_launch_start(struct kvm_vm *vm)
{
	struct kvm_sev_snp_launch_start start = { .policy = TEST_POLICY };

	snp_cmd(vm, KVM_SEV_SNP_LAUNCH_START, &start);
}

static void snp_launch_update(struct kvm_vm *vm, uint64_t gpa, void *src,
			      uint64_t len, uint8_t type)
{
	struct kvm_sev_snp_launch_update update = {
		.gfn_start = gpa >> PAGE_SHIFT,
		.uaddr = (uintptr_t)src,
		.len = len,
		.type = type,
	};

	snp_cmd(vm, KVM_SEV_SNP_LAUNCH_UPDATE, &update);
	TEST_ASSERT(!update.len, "LAUNCH_UPDATE left %llu bytes", update.len);
}

static void snp_launch_finish(struct kvm_vm *vm)
{
	struct kvm_sev_snp_launch_finish finish = {};

	snp_cmd(vm, KVM_SEV_SNP_LAUNCH_FINISH, &finish);
}

/* ---- The errno table ----------------------------------------------------- */

enum snp_stage { STAGE_NEW, STAGE_INIT, STAGE_START, STAGE_FINISH };

union snp_params {
	struct kvm_sev_init init;
	struct kvm_sev_snp_launch_start start;
	struct kvm_sev_snp_launch_update update;
	struct kvm_sev_snp_launch_finish finish;
};

struct errno_case {
	const char *name;
	unsigned long vm_type;
	enum snp_stage stage;
	uint32_t id;
	/* One field of the valid default parameters set to a bad value... */
	size_t off;
	size_t size;
	uint64_t val;
	/* ...or the parameters or the VM changed by a function. */
	void (*prep)(struct test_vm *t, union snp_params *p);
	int err;
	uint32_t fw_error;
};

#define INIT_SET(field, v)	SET(struct kvm_sev_init, field, v)
#define START_SET(field, v)	SET(struct kvm_sev_snp_launch_start, field, v)
#define UPDATE_SET(field, v)	SET(struct kvm_sev_snp_launch_update, field, v)
#define FINISH_SET(field, v)	SET(struct kvm_sev_snp_launch_finish, field, v)

#define SNP_VM		KVM_X86_SNP_VM
#define INIT2		KVM_SEV_INIT2
#define START		KVM_SEV_SNP_LAUNCH_START
#define UPDATE		KVM_SEV_SNP_LAUNCH_UPDATE
#define FINISH		KVM_SEV_SNP_LAUNCH_FINISH
#define TEST_GFN	(TEST_GPA >> PAGE_SHIFT)

static uint8_t *src_page;

static void default_params(uint32_t id, union snp_params *p)
{
	memset(p, 0, sizeof(*p));
	switch (id) {
	case KVM_SEV_SNP_LAUNCH_START:
		p->start.policy = TEST_POLICY;
		break;
	case KVM_SEV_SNP_LAUNCH_UPDATE:
		p->update.gfn_start = TEST_GFN;
		p->update.uaddr = (uintptr_t)src_page;
		p->update.len = PAGE_SIZE;
		p->update.type = KVM_SEV_SNP_PAGE_TYPE_NORMAL;
		break;
	}
}

static void prep_vcpu(struct test_vm *t, union snp_params *p)
{
	vm_vcpu_add(t->vm, 0, guest_code);
}

static void prep_unaligned_src(struct test_vm *t, union snp_params *p)
{
	p->update.uaddr += 16;
}

static void prep_unreadable_src(struct test_vm *t, union snp_params *p)
{
	p->update.uaddr = (uintptr_t)unreadable_page();
}

static void prep_shared(struct test_vm *t, union snp_params *p)
{
	vm_mem_set_shared(t->vm, TEST_GPA, PAGE_SIZE);
}

static void prep_launched(struct test_vm *t, union snp_params *p)
{
	snp_launch_update(t->vm, TEST_GPA, src_page, PAGE_SIZE, KVM_SEV_SNP_PAGE_TYPE_NORMAL);
}

static void prep_sev_fd_closed(struct test_vm *t, union snp_params *p)
{
	cmd_sev_fd = -1;
}

static void prep_sev_fd_vm(struct test_vm *t, union snp_params *p)
{
	cmd_sev_fd = t->vm->fd;
}

static const struct errno_case errno_cases[] = {
	/* KVM_SEV_INIT2 */
	{ "INIT2 flags bit 0", SNP_VM, STAGE_NEW, INIT2, INIT_SET(flags, 1), .err = EINVAL },
	{ "INIT2 flags bit 31", SNP_VM, STAGE_NEW, INIT2,
	  INIT_SET(flags, 1u << 31), .err = EINVAL },
	{ "INIT2 vmsa_features SNP_ACTIVE", SNP_VM, STAGE_NEW, INIT2,
	  INIT_SET(vmsa_features, 1), .err = EINVAL },
	{ "INIT2 vmsa_features DEBUG_SWAP", SNP_VM, STAGE_NEW, INIT2,
	  INIT_SET(vmsa_features, 1 << 5), .err = EINVAL },
	{ "INIT2 vmsa_features bit 63", SNP_VM, STAGE_NEW, INIT2,
	  INIT_SET(vmsa_features, 1ull << 63), .err = EINVAL },
	{ "INIT2 ghcb_version 3", SNP_VM, STAGE_NEW, INIT2,
	  INIT_SET(ghcb_version, 3), .err = EINVAL },
	{ "INIT2 after a vCPU", SNP_VM, STAGE_NEW, INIT2, .prep = prep_vcpu, .err = EINVAL },
	{ "INIT2 twice", SNP_VM, STAGE_INIT, INIT2, .err = EPERM },
	{ "INIT2 on a default VM", KVM_X86_DEFAULT_VM, STAGE_NEW, INIT2, .err = EINVAL },
	{ "INIT2 on a SW-protected VM", KVM_X86_SW_PROTECTED_VM, STAGE_NEW, INIT2, .err = EINVAL },
	{ "legacy SEV_INIT on an SNP VM", SNP_VM, STAGE_NEW, KVM_SEV_INIT, .err = EINVAL },
	{ "SEV LAUNCH_START before INIT2", SNP_VM, STAGE_NEW, KVM_SEV_LAUNCH_START, .err = ENOTTY },
	{ "SEV LAUNCH_START after INIT2", SNP_VM, STAGE_INIT, KVM_SEV_LAUNCH_START, .err = EPERM },
	{ "unknown command 99 after INIT2", SNP_VM, STAGE_INIT, 99, .err = EPERM },
	{ "unknown command 103", SNP_VM, STAGE_INIT, 103, .err = EINVAL },
	/* KVM_SEV_SNP_LAUNCH_START */
	{ "LAUNCH_START before INIT2", SNP_VM, STAGE_NEW, START, .err = ENOTTY },
	{ "LAUNCH_START flags", SNP_VM, STAGE_INIT, START, START_SET(flags, 1), .err = EINVAL },
	{ "LAUNCH_START policy without MBO bit 17", SNP_VM, STAGE_INIT, START,
	  START_SET(policy, SNP_POLICY_SMT), .err = EINVAL },
	{ "LAUNCH_START policy bit 21", SNP_VM, STAGE_INIT, START,
	  START_SET(policy, TEST_POLICY | 1ull << 21), .err = EINVAL },
	{ "LAUNCH_START policy bit 63", SNP_VM, STAGE_INIT, START,
	  START_SET(policy, TEST_POLICY | 1ull << 63), .err = EINVAL },
	{ "LAUNCH_START policy SINGLE_SOCKET", SNP_VM, STAGE_INIT, START,
	  START_SET(policy, TEST_POLICY | SNP_POLICY_SINGLE_SOCKET), .err = EINVAL },
	{ "LAUNCH_START twice", SNP_VM, STAGE_START, START, .err = EINVAL },
	{ "LAUNCH_START after FINISH", SNP_VM, STAGE_FINISH, START, .err = EINVAL },
	{ "LAUNCH_START on a default VM", KVM_X86_DEFAULT_VM, STAGE_NEW, START, .err = ENOTTY },
	{ "LAUNCH_START sev_fd not open", SNP_VM, STAGE_INIT, START, .prep = prep_sev_fd_closed,
	  .err = EBADF },
	{ "LAUNCH_START sev_fd not /dev/sev", SNP_VM, STAGE_INIT, START, .prep = prep_sev_fd_vm,
	  .err = EBADF },
	/* KVM_SEV_SNP_LAUNCH_UPDATE */
	{ "LAUNCH_UPDATE before INIT2", SNP_VM, STAGE_NEW, UPDATE, .err = EINVAL },
	{ "LAUNCH_UPDATE before LAUNCH_START", SNP_VM, STAGE_INIT, UPDATE, .err = EINVAL },
	{ "LAUNCH_UPDATE after FINISH", SNP_VM, STAGE_FINISH, UPDATE, .err = EINVAL },
	{ "LAUNCH_UPDATE len 0", SNP_VM, STAGE_START, UPDATE, UPDATE_SET(len, 0), .err = EINVAL },
	{ "LAUNCH_UPDATE len 4095", SNP_VM, STAGE_START, UPDATE,
	  UPDATE_SET(len, PAGE_SIZE - 1), .err = EINVAL },
	{ "LAUNCH_UPDATE len 4112", SNP_VM, STAGE_START, UPDATE,
	  UPDATE_SET(len, PAGE_SIZE + 16), .err = EINVAL },
	{ "LAUNCH_UPDATE unaligned uaddr", SNP_VM, STAGE_START, UPDATE,
	  .prep = prep_unaligned_src, .err = EINVAL },
	{ "LAUNCH_UPDATE flags", SNP_VM, STAGE_START, UPDATE, UPDATE_SET(flags, 1), .err = EINVAL },
	{ "LAUNCH_UPDATE type 0", SNP_VM, STAGE_START, UPDATE, UPDATE_SET(type, 0), .err = EINVAL },
	{ "LAUNCH_UPDATE type 2 (VMSA)", SNP_VM, STAGE_START, UPDATE,
	  UPDATE_SET(type, 2), .err = EINVAL },
	{ "LAUNCH_UPDATE type 7", SNP_VM, STAGE_START, UPDATE, UPDATE_SET(type, 7), .err = EINVAL },
	{ "LAUNCH_UPDATE type 255", SNP_VM, STAGE_START, UPDATE,
	  UPDATE_SET(type, 255), .err = EINVAL },
	{ "LAUNCH_UPDATE outside every slot", SNP_VM, STAGE_START, UPDATE,
	  UPDATE_SET(gfn_start, 0x300000000ull >> PAGE_SHIFT), .err = EINVAL },
	{ "LAUNCH_UPDATE slot without guest_memfd", SNP_VM, STAGE_START, UPDATE,
	  UPDATE_SET(gfn_start, PLAIN_GPA >> PAGE_SHIFT), .err = EINVAL },
	{ "LAUNCH_UPDATE shared GFN", SNP_VM, STAGE_START, UPDATE, .prep = prep_shared,
	  .err = EINVAL },
	{ "LAUNCH_UPDATE repeated", SNP_VM, STAGE_START, UPDATE, .prep = prep_launched,
	  .err = EEXIST },
	{ "LAUNCH_UPDATE unreadable source", SNP_VM, STAGE_START, UPDATE,
	  .prep = prep_unreadable_src, .err = EFAULT },
	{ "LAUNCH_UPDATE on a default VM", KVM_X86_DEFAULT_VM, STAGE_NEW, UPDATE, .err = ENOTTY },
	/* KVM_SEV_SNP_LAUNCH_FINISH */
	{ "LAUNCH_FINISH before INIT2", SNP_VM, STAGE_NEW, FINISH, .err = ENOTTY },
	{ "LAUNCH_FINISH before LAUNCH_START", SNP_VM, STAGE_INIT, FINISH, .err = EINVAL },
	{ "LAUNCH_FINISH flags", SNP_VM, STAGE_START, FINISH, FINISH_SET(flags, 1), .err = EINVAL },
	{ "LAUNCH_FINISH twice", SNP_VM, STAGE_FINISH, FINISH, .err = EINVAL },
	{ "LAUNCH_FINISH ID block (firmware: UNSUPPORTED)", SNP_VM, STAGE_START, FINISH,
	  FINISH_SET(id_block_en, 1), .err = EIO, .fw_error = SNP_FW_UNSUPPORTED },
	{ "LAUNCH_FINISH on a SW-protected VM", KVM_X86_SW_PROTECTED_VM, STAGE_NEW, FINISH,
	  .err = ENOTTY },
};

static void run_errno_case(const struct errno_case *c)
{
	uint32_t fw_error, expected;
	union snp_params p;
	struct test_vm t;
	int r;

	test_vm_create(&t, c->vm_type);
	if (c->stage >= STAGE_INIT)
		snp_init2(t.vm);
	if (c->stage >= STAGE_START)
		snp_launch_start(t.vm);
	if (c->stage >= STAGE_FINISH)
		snp_launch_finish(t.vm);
	default_params(c->id, &p);
	if (c->size)
		memcpy((uint8_t *)&p + c->off, &c->val, c->size);
	if (c->prep)
		c->prep(&t, &p);

	r = __snp_cmd(t.vm, c->id, &p, &fw_error);
	cmd_sev_fd = sev_fd;
	TEST_ASSERT(r == -1 && errno == c->err,
		    "%s: got %d (%s), expected %s", c->name, r, strerror(errno),
		    strerror(c->err));
	/*
	 * The firmware's status, or 0 where KVM refused by itself; other VM
	 * types fail before the command is read (no SEV here) and leave it.
	 */
	expected = c->vm_type == SNP_VM ? c->fw_error : ERROR_UNTOUCHED;
	TEST_ASSERT(fw_error == expected, "%s: firmware error %#x, expected %#x",
		    c->name, fw_error, expected);
	test_vm_free(&t);
	ksft_test_result_pass("%s: %s\n", c->name, strerror(c->err));
}

/* ---- Behaviours ---------------------------------------------------------- */

static void test_vm_types(void)
{
	struct kvm_vm *vm;
	int types = kvm_check_cap(KVM_CAP_VM_TYPES);

	TEST_ASSERT(types & (1 << KVM_X86_SNP_VM),
		    "KVM_CAP_VM_TYPES %#x lacks KVM_X86_SNP_VM", types);
	TEST_ASSERT(types & (1 << KVM_X86_SW_PROTECTED_VM) &&
		    types & (1 << KVM_X86_DEFAULT_VM),
		    "KVM_CAP_VM_TYPES %#x lost types 0 or 1", types);
	vm = __vm_create_type(VM_MODE_DEFAULT, KVM_X86_SNP_VM, 1, 0);
	/* A NULL argument asks whether the commands exist. */
	TEST_ASSERT(!ioctl(vm->fd, KVM_MEMORY_ENCRYPT_OP, NULL),
		    "KVM_MEMORY_ENCRYPT_OP(NULL) on an SNP VM: %s", strerror(errno));
	kvm_vm_free(vm);
	ksft_test_result_pass("KVM_X86_SNP_VM is reported and created\n");
}

/*
 * Load a page of each type, in two calls for the normal pages, and compare
 * the model's digest with the one computed here.
 */
static void test_launch_digest(void)
{
	struct model_guest before[64], after[64], g;
	uint8_t digest[DIGEST_SIZE] = {};
	uint8_t *src = source_pages(8, 0x5a);
	static const struct {
		int page;
		uint8_t type;
	} pages[] = {
		{ 0, KVM_SEV_SNP_PAGE_TYPE_NORMAL },
		{ 1, KVM_SEV_SNP_PAGE_TYPE_NORMAL },
		{ 2, KVM_SEV_SNP_PAGE_TYPE_NORMAL },
		{ 3, KVM_SEV_SNP_PAGE_TYPE_ZERO },
		{ 4, KVM_SEV_SNP_PAGE_TYPE_UNMEASURED },
		{ 5, KVM_SEV_SNP_PAGE_TYPE_SECRETS },
		{ 6, KVM_SEV_SNP_PAGE_TYPE_CPUID },
		{ 7, KVM_SEV_SNP_PAGE_TYPE_NORMAL },
	};
	struct test_vm t;
	int nb, na, i;

	test_vm_create(&t, KVM_X86_SNP_VM);
	snp_init2(t.vm);
	nb = model_guests(before, 64);
	snp_launch_start(t.vm);
	na = model_guests(after, 64);
	g = new_guest(before, nb, after, na);
	TEST_ASSERT(!strcmp(g.state, "launch") && g.policy == TEST_POLICY,
		    "after LAUNCH_START: state %s policy %lx", g.state, g.policy);

	/* Pages 0-2 in one call, which must take them all. */
	snp_launch_update(t.vm, TEST_GPA, src, 3 * PAGE_SIZE, KVM_SEV_SNP_PAGE_TYPE_NORMAL);
	for (i = 3; i < 8; i++)
		snp_launch_update(t.vm, TEST_GPA + i * PAGE_SIZE, src + i * PAGE_SIZE,
				  PAGE_SIZE, pages[i].type);
	for (i = 0; i < 8; i++)
		digest_extend(digest, src + pages[i].page * PAGE_SIZE, pages[i].type,
			      TEST_GPA + pages[i].page * PAGE_SIZE);
	snp_launch_finish(t.vm);

	na = model_guests(after, 64);
	g = new_guest(before, nb, after, na);
	TEST_ASSERT(!strcmp(g.state, "running"), "after LAUNCH_FINISH: state %s", g.state);
	TEST_ASSERT(!memcmp(g.digest, digest, DIGEST_SIZE),
		    "the model's launch digest differs from the one computed here");
	test_vm_free(&t);
	munmap(src, 8 * PAGE_SIZE);
	ksft_test_result_pass("launch digest of 8 pages of every type recomputed\n");
}

/* A range that runs past its slot is done up to the slot's end. */
static void test_launch_update_short(void)
{
	struct kvm_sev_snp_launch_update update = {
		.gfn_start = (TEST_GPA >> PAGE_SHIFT) + TEST_NPAGES - 2,
		.len = 5 * PAGE_SIZE,
		.type = KVM_SEV_SNP_PAGE_TYPE_NORMAL,
	};
	uint8_t *src = source_pages(5, 1);
	struct test_vm t;

	update.uaddr = (uintptr_t)src;
	test_vm_create(&t, KVM_X86_SNP_VM);
	snp_init2(t.vm);
	snp_launch_start(t.vm);
	snp_cmd(t.vm, KVM_SEV_SNP_LAUNCH_UPDATE, &update);
	TEST_ASSERT(update.gfn_start == (TEST_GPA >> PAGE_SHIFT) + TEST_NPAGES &&
		    update.len == 3 * PAGE_SIZE &&
		    update.uaddr == (uintptr_t)src + 2 * PAGE_SIZE,
		    "short LAUNCH_UPDATE: gfn %llx len %llu uaddr %llx",
		    update.gfn_start, update.len, update.uaddr);
	/* Where it stopped there is no slot. */
	TEST_ASSERT(__snp_cmd(t.vm, KVM_SEV_SNP_LAUNCH_UPDATE, &update, NULL) == -1 &&
		    errno == EINVAL, "LAUNCH_UPDATE past the slot: %s", strerror(errno));
	test_vm_free(&t);
	munmap(src, 5 * PAGE_SIZE);
	ksft_test_result_pass("LAUNCH_UPDATE stops at the slot's end and says where\n");
}

/*
 * The RMP through a VM's life: launched pages are the guest's (validated,
 * mutable), the context page the firmware's; a punched page, then all of
 * them when guest_memfd is closed, are the hypervisor's again before they
 * are freed, and the context page when the VM goes.  @close_vm_first
 * drops the VM fd before the guest_memfd, which keeps the VM alive.
 */
static void test_rmp_lifecycle(bool close_vm_first)
{
	struct model_guest before[64], after[64], g;
	unsigned long fw_base = model_rmp(0).assigned;
	uint8_t *src = source_pages(TEST_NPAGES, 3);
	struct rmp_count c;
	struct test_vm t;
	int nb, na;

	test_vm_create(&t, KVM_X86_SNP_VM);
	snp_init2(t.vm);
	nb = model_guests(before, 64);
	snp_launch_start(t.vm);
	na = model_guests(after, 64);
	g = new_guest(before, nb, after, na);
	TEST_ASSERT(model_rmp(0).assigned == fw_base + 1,
		    "the guest context is not one firmware page");
	TEST_ASSERT(!model_rmp(g.asid).assigned, "ASID %u owns pages before launch", g.asid);

	snp_launch_update(t.vm, TEST_GPA, src, TEST_SIZE, KVM_SEV_SNP_PAGE_TYPE_NORMAL);
	snp_launch_finish(t.vm);
	c = model_rmp(g.asid);
	TEST_ASSERT(c.assigned == TEST_NPAGES && c.validated == TEST_NPAGES &&
		    !c.immutable && !c.huge,
		    "after launch: assigned %lu validated %lu immutable %lu huge %lu",
		    c.assigned, c.validated, c.immutable, c.huge);

	TEST_ASSERT(!fallocate(t.gmem_fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			       PAGE_SIZE, PAGE_SIZE), "punch: %s", strerror(errno));
	c = model_rmp(g.asid);
	TEST_ASSERT(c.assigned == TEST_NPAGES - 1,
		    "after a punch: %lu pages assigned", c.assigned);

	if (close_vm_first) {
		kvm_vm_free(t.vm);
		/* The guest_memfd keeps the VM: its pages stay the guest's. */
		TEST_ASSERT(model_rmp(g.asid).assigned == TEST_NPAGES - 1,
			    "pages left the guest while guest_memfd is open");
		close(t.gmem_fd);
	} else {
		close(t.gmem_fd);
		TEST_ASSERT(!model_rmp(g.asid).assigned,
			    "closing guest_memfd left %lu pages assigned",
			    model_rmp(g.asid).assigned);
		TEST_ASSERT(model_rmp(0).assigned == fw_base + 1,
			    "the context page went before the VM");
		kvm_vm_free(t.vm);
	}
	TEST_ASSERT(!model_rmp(g.asid).assigned, "pages assigned after teardown");
	TEST_ASSERT(model_rmp(0).assigned == fw_base,
		    "firmware pages %lu after teardown, %lu before",
		    model_rmp(0).assigned, fw_base);
	na = model_guests(after, 64);
	TEST_ASSERT(na == nb, "the guest context outlived the VM");
	munmap(src, TEST_SIZE);
	ksft_test_result_pass("RMP after launch, punch, close (%s first): %s\n",
			      close_vm_first ? "VM" : "guest_memfd",
			      "nothing assigned is freed");
}

/* A failed LAUNCH_UPDATE leaves its page hypervisor-owned. */
static void test_failed_update_rmp(void)
{
	struct model_guest before[64], after[64], g;
	struct kvm_sev_snp_launch_update update = {
		.gfn_start = TEST_GPA >> PAGE_SHIFT,
		.len = PAGE_SIZE,
		.type = KVM_SEV_SNP_PAGE_TYPE_NORMAL,
	};
	void *none = mmap(NULL, PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct test_vm t;
	int nb, na;

	update.uaddr = (uintptr_t)none;
	test_vm_create(&t, KVM_X86_SNP_VM);
	snp_init2(t.vm);
	nb = model_guests(before, 64);
	snp_launch_start(t.vm);
	na = model_guests(after, 64);
	g = new_guest(before, nb, after, na);
	TEST_ASSERT(__snp_cmd(t.vm, KVM_SEV_SNP_LAUNCH_UPDATE, &update, NULL) == -1 &&
		    errno == EFAULT, "LAUNCH_UPDATE from PROT_NONE: %s", strerror(errno));
	TEST_ASSERT(!model_rmp(g.asid).assigned, "a failed LAUNCH_UPDATE assigned a page");
	/* The same page can be launched afterwards. */
	update.uaddr = (uintptr_t)source_pages(1, 9);
	snp_cmd(t.vm, KVM_SEV_SNP_LAUNCH_UPDATE, &update);
	TEST_ASSERT(model_rmp(g.asid).assigned == 1, "retried LAUNCH_UPDATE");
	test_vm_free(&t);
	ksft_test_result_pass("a failed LAUNCH_UPDATE assigns nothing\n");
}

/* ---- A running guest: private faults, conversions, protected state ----- */

/*
 * The guest validates (if guest_validate: the pages are private) and
 * writes each page of [guest_gpa, + guest_npages pages), and syncs with
 * the sum of what the pages held before.  Whole 2 MiB-aligned 2 MiB
 * ranges are validated at once where the RMP takes it (a 2 MiB page), as
 * a guest does, else page by page.
 */
static uint64_t guest_gpa, guest_npages, guest_validate = 1;

#define PAGES_2M			512

static void guest_validate_range(uint64_t gpa, uint64_t npages)
{
	uint64_t i = 0;
	uint8_t cf;

	while (i < npages) {
		uint64_t va = gpa + i * PAGE_SIZE;

		/* Refused (4 KiB RMP pages): one page at a time. */
		if (!(va % (PAGES_2M * PAGE_SIZE)) && npages - i >= PAGES_2M &&
		    !snp_pvalidate(va, 1, 1, &cf)) {
			i += PAGES_2M;
			continue;
		}
		snp_pvalidate(va, 0, 1, &cf);
		i++;
	}
}

static void guest_touch(void)
{
	uint64_t i, sum;

	for (;;) {
		uint64_t gpa = READ_ONCE(guest_gpa), npages = READ_ONCE(guest_npages);

		if (READ_ONCE(guest_validate))
			guest_validate_range(gpa, npages);
		for (i = 0, sum = 0; i < npages; i++) {
			sum += READ_ONCE(*(uint64_t *)(gpa + i * PAGE_SIZE));
			WRITE_ONCE(*(uint64_t *)(gpa + i * PAGE_SIZE), i);
		}
		GUEST_SYNC(sum);
	}
}

static struct kvm_vcpu *touch_vcpu(struct test_vm *t, uint64_t npages)
{
	struct kvm_vcpu *vcpu = vm_vcpu_add(t->vm, 0, guest_touch);

	virt_map(t->vm, TEST_GPA, TEST_GPA, npages);
	return vcpu;
}

/* The guest's run over the pages; the sum of what they held before. */
static uint64_t __touch(struct kvm_vm *vm, struct kvm_vcpu *vcpu, uint64_t gpa,
			uint64_t npages, bool validate)
{
	struct ucall uc;

	guest_gpa = gpa;
	guest_npages = npages;
	guest_validate = validate;
	sync_global_to_guest(vm, guest_gpa);
	sync_global_to_guest(vm, guest_npages);
	sync_global_to_guest(vm, guest_validate);
	vcpu_run(vcpu);
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO, "exit %s",
		    exit_reason_str(vcpu->run->exit_reason));
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC, "no sync from the guest");
	snp_audit_assert("a guest's run");
	return uc.args[1];
}

static void touch(struct kvm_vm *vm, struct kvm_vcpu *vcpu, uint64_t gpa,
		  uint64_t npages)
{
	__touch(vm, vcpu, gpa, npages, true);
}

/* INIT2 and LAUNCH_START (before any vCPU); the guest's ASID. */
static unsigned int launch_asid(struct test_vm *t)
{
	struct model_guest before[64], after[64];
	int nb, na;

	snp_init2(t->vm);
	nb = model_guests(before, 64);
	snp_launch_start(t->vm);
	na = model_guests(after, 64);
	return new_guest(before, nb, after, na).asid;
}

/*
 * Pages a private fault finds become the guest's in the RMP (validated
 * by the guest, which PVALIDATEs before it touches them), pages punched
 * out of guest_memfd the hypervisor's again, and a punched page faulted
 * in again is the guest's.
 */
static void test_private_faults_rmp(void)
{
	struct kvm_vcpu *vcpu;
	struct rmp_count c;
	struct test_vm t;
	unsigned int asid;

	test_vm_create(&t, KVM_X86_SNP_VM);
	asid = launch_asid(&t);
	vcpu = touch_vcpu(&t, TEST_NPAGES);

	touch(t.vm, vcpu, TEST_GPA, TEST_NPAGES);
	c = model_rmp(asid);
	TEST_ASSERT(c.assigned == TEST_NPAGES && c.validated == TEST_NPAGES && !c.immutable,
		    "after faults: assigned %lu validated %lu immutable %lu",
		    c.assigned, c.validated, c.immutable);

	/* Shared, then punched: the pages go back before they are freed. */
	vm_mem_set_shared(t.vm, TEST_GPA, 4 * PAGE_SIZE);
	TEST_ASSERT(model_rmp(asid).assigned == TEST_NPAGES,
		    "a conversion without punch freed pages");
	TEST_ASSERT(!fallocate(t.gmem_fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			       0, 4 * PAGE_SIZE), "punch: %s", strerror(errno));
	TEST_ASSERT(model_rmp(asid).assigned == TEST_NPAGES - 4,
		    "after the punch: %lu assigned", model_rmp(asid).assigned);

	/* Private again: new pages, the guest's at their GPAs. */
	vm_mem_set_private(t.vm, TEST_GPA, 4 * PAGE_SIZE);
	touch(t.vm, vcpu, TEST_GPA, TEST_NPAGES);
	TEST_ASSERT(model_rmp(asid).assigned == TEST_NPAGES,
		    "after faulting in again: %lu assigned", model_rmp(asid).assigned);

	test_vm_free(&t);
	TEST_ASSERT(!model_rmp(asid).assigned, "pages assigned after teardown");
	ksft_test_result_pass("private faults assign pages, punch and close give them back\n");
}

/* A private page with no ASID to go to (before INIT2) exits to user space. */
static void test_fault_before_init(void)
{
	struct kvm_vcpu *vcpu;
	struct test_vm t;
	int r;

	test_vm_create(&t, KVM_X86_SNP_VM);
	vcpu = touch_vcpu(&t, TEST_NPAGES);
	guest_gpa = TEST_GPA + 3 * PAGE_SIZE;
	guest_npages = 1;
	sync_global_to_guest(t.vm, guest_gpa);
	sync_global_to_guest(t.vm, guest_npages);
	r = __vcpu_run(vcpu);
	TEST_ASSERT(r == -1 && errno == EFAULT &&
		    vcpu->run->exit_reason == KVM_EXIT_MEMORY_FAULT &&
		    vcpu->run->memory_fault.gpa == TEST_GPA + 3 * PAGE_SIZE &&
		    (vcpu->run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_PRIVATE),
		    "private fault before INIT2: r %d errno %d exit %s gpa %llx",
		    r, errno, exit_reason_str(vcpu->run->exit_reason),
		    vcpu->run->memory_fault.gpa);
	test_vm_free(&t);
	ksft_test_result_pass("a private page with no ASID exits with KVM_EXIT_MEMORY_FAULT\n");
}

/*
 * A 2 MiB folio wholly private becomes one 2 MiB RMP page; once part of it
 * is shared, the rest is mapped with 4 KiB entries, which the RMP check
 * refuses until the 2 MiB page is PSMASHed.  Needs 2 MiB guest_memfd
 * folios (kernels without BASE_SMALL).
 */
static void test_huge_psmash(void)
{
	const uint64_t npages = 1024, size = npages * PAGE_SIZE;
	struct kvm_vcpu *vcpu;
	struct rmp_count c;
	struct test_vm t;
	unsigned int asid;

	t.vm = __vm_create_type(VM_MODE_DEFAULT, KVM_X86_SNP_VM, 1, 0);
	vm_userspace_mem_region_add(t.vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, npages, 0);
	t.gmem_fd = vm_create_guest_memfd(t.vm, size, 0);
	vm_mem_region_bind_guest_memfd(t.vm, TEST_SLOT, t.gmem_fd, 0);
	vm_mem_set_private(t.vm, TEST_GPA, size);
	asid = launch_asid(&t);
	vcpu = touch_vcpu(&t, npages);

	touch(t.vm, vcpu, TEST_GPA, 512);
	c = model_rmp(asid);
	if (c.huge != 512) {
		test_vm_free(&t);
		ksft_test_result_skip("no 2 MiB guest_memfd folios in this kernel (%lu huge)\n",
				      c.huge);
		return;
	}
	TEST_ASSERT(c.assigned == 512, "2 MiB page: %lu assigned", c.assigned);

	vm_mem_set_shared(t.vm, TEST_GPA + 5 * PAGE_SIZE, PAGE_SIZE);
	touch(t.vm, vcpu, TEST_GPA, 5);
	c = model_rmp(asid);
	TEST_ASSERT(!c.huge && c.assigned == 512,
		    "after a 4 KiB mapping in it: assigned %lu huge %lu",
		    c.assigned, c.huge);
	test_vm_free(&t);
	TEST_ASSERT(!model_rmp(asid).assigned, "pages assigned after teardown");
	ksft_test_result_pass("a 2 MiB RMP page is PSMASHed for a 4 KiB mapping\n");
}

/*
 * In-place conversion (a guest_memfd the VMM maps): a page made shared is
 * the hypervisor's again before the host can reach it, holds nothing of
 * what the guest wrote while it was private (the hardware would show the
 * host ciphertext), and the guest keeps using it as shared memory.
 */
static void test_in_place_shared(void)
{
	struct kvm_vcpu *vcpu;
	struct test_vm t;
	unsigned int asid;
	uint64_t *view;
	int i;

	t.vm = __vm_create_type(VM_MODE_DEFAULT, KVM_X86_SNP_VM, 1, 0);
	vm_userspace_mem_region_add(t.vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, TEST_NPAGES, 0);
	t.gmem_fd = vm_create_guest_memfd(t.vm, TEST_SIZE, GUEST_MEMFD_FLAG_MMAP);
	vm_mem_region_bind_guest_memfd(t.vm, TEST_SLOT, t.gmem_fd, 0);
	vm_mem_set_private(t.vm, TEST_GPA, TEST_SIZE);
	asid = launch_asid(&t);
	vcpu = touch_vcpu(&t, TEST_NPAGES);

	touch(t.vm, vcpu, TEST_GPA, TEST_NPAGES);
	TEST_ASSERT(model_rmp(asid).assigned == TEST_NPAGES, "after faults: %lu assigned",
		    model_rmp(asid).assigned);
	vm_mem_set_shared(t.vm, TEST_GPA, 4 * PAGE_SIZE);
	TEST_ASSERT(model_rmp(asid).assigned == TEST_NPAGES - 4,
		    "shared in place: %lu assigned", model_rmp(asid).assigned);
	view = mmap(NULL, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, t.gmem_fd, 0);
	TEST_ASSERT(view != MAP_FAILED, "mmap of the shared pages: %s", strerror(errno));
	for (i = 0; i < 4; i++)
		TEST_ASSERT(!view[PAGE_SIZE / 8 * i],
			    "page %d shows %lx the guest wrote while private", i,
			    view[PAGE_SIZE / 8 * i]);
	/* The guest writes the shared pages again: nothing is assigned for it. */
	TEST_ASSERT(!__touch(t.vm, vcpu, TEST_GPA, 4, false),
		    "the guest found its private data in its shared pages");
	TEST_ASSERT(view[PAGE_SIZE / 8 * 3] == 3, "page 3 reads %lx, the guest wrote 3",
		    view[PAGE_SIZE / 8 * 3]);
	TEST_ASSERT(model_rmp(asid).assigned == TEST_NPAGES - 4,
		    "shared accesses assigned pages: %lu", model_rmp(asid).assigned);
	munmap(view, 4 * PAGE_SIZE);
	test_vm_free(&t);
	TEST_ASSERT(!model_rmp(asid).assigned, "pages assigned after teardown");
	ksft_test_result_pass("in-place conversion gives pages back, cleared, before the host maps them\n");
}

/* The vCPU ioctls that touch register state, and what they get after FINISH. */
static const struct {
	const char *name;
	unsigned long ioctl;
} state_ioctls[] = {
	{ "KVM_GET_REGS", KVM_GET_REGS },
	{ "KVM_SET_REGS", KVM_SET_REGS },
	{ "KVM_GET_SREGS", KVM_GET_SREGS },
	{ "KVM_SET_SREGS", KVM_SET_SREGS },
	{ "KVM_GET_SREGS2", KVM_GET_SREGS2 },
	{ "KVM_SET_SREGS2", KVM_SET_SREGS2 },
	{ "KVM_GET_FPU", KVM_GET_FPU },
	{ "KVM_SET_FPU", KVM_SET_FPU },
	{ "KVM_GET_DEBUGREGS", KVM_GET_DEBUGREGS },
	{ "KVM_SET_DEBUGREGS", KVM_SET_DEBUGREGS },
	{ "KVM_GET_XSAVE", KVM_GET_XSAVE },
	{ "KVM_SET_XSAVE", KVM_SET_XSAVE },
	{ "KVM_GET_XCRS", KVM_GET_XCRS },
	{ "KVM_SET_XCRS", KVM_SET_XCRS },
};

/*
 * Before LAUNCH_FINISH the state ioctls work (each GET's result is SET
 * back); after it every one fails with EINVAL, and the guest still runs.
 */
static void test_protected_state(void)
{
	static uint8_t buf[ARRAY_SIZE(state_ioctls)][16384];
	struct kvm_vcpu *vcpu;
	struct test_vm t;
	int i;

	test_vm_create(&t, KVM_X86_SNP_VM);
	launch_asid(&t);
	vcpu = touch_vcpu(&t, TEST_NPAGES);
	touch(t.vm, vcpu, TEST_GPA, 1);
	for (i = 0; i < ARRAY_SIZE(state_ioctls); i++) {
		/* SETs write what the GET before them read. */
		uint8_t *b = buf[i & ~1];

		TEST_ASSERT(!ioctl(vcpu->fd, state_ioctls[i].ioctl, b),
			    "%s before LAUNCH_FINISH: %s", state_ioctls[i].name,
			    strerror(errno));
	}
	snp_launch_finish(t.vm);
	for (i = 0; i < ARRAY_SIZE(state_ioctls); i++) {
		TEST_ASSERT(ioctl(vcpu->fd, state_ioctls[i].ioctl, buf[i & ~1]) == -1 &&
			    errno == EINVAL, "%s after LAUNCH_FINISH: %s",
			    state_ioctls[i].name, strerror(errno));
	}
	/*
	 * The guest's next sync: it runs, only its registers are hidden (so
	 * no vcpu_run(), which reads them to look for guest exceptions).
	 */
	TEST_ASSERT(!__vcpu_run(vcpu) && vcpu->run->exit_reason == KVM_EXIT_IO,
		    "KVM_RUN after LAUNCH_FINISH: %s, exit %s", strerror(errno),
		    exit_reason_str(vcpu->run->exit_reason));
	test_vm_free(&t);
	ksft_test_result_pass("%zu register state ioctls: EINVAL after LAUNCH_FINISH\n",
			      ARRAY_SIZE(state_ioctls));
}

/* ---- The guest's SNP instructions and the GHCB MSR protocol ------------ */

#define MSR_GHCB		0xc0010130
#define GHCB_SEV_INFO_REQ	0x002
#define GHCB_SEV_INFO_RESP	0x001
#define GHCB_PSC_REQ		0x014
#define GHCB_PSC_RESP		0x015
#define GHCB_PSC_SHARED		(2ull << 52)
#define GHCB_TERM_REQ		0x100
/* Termination: reason set 1, reason code 0x42. */
#define GHCB_TERM_VALUE		(GHCB_TERM_REQ | 1ull << 12 | 0x42ull << 16)
#define PVALIDATE_FAIL_INPUT	1

enum { ST_VALIDATE = 1, ST_AGAIN, ST_SIZE, ST_UNTOUCHED, ST_INFO, ST_PSC, ST_SHARED_WRITE, ST_UD };

static uint64_t guest_ud_count;

static void guest_ud_handler(struct ex_regs *regs)
{
	guest_ud_count++;
	regs->rip += 2;		/* UD2 */
}

/* REP VMMCALL. */
static void vmgexit(void)
{
	asm volatile(".byte 0xf3, 0x0f, 0x01, 0xd9" ::: "memory");
}

static uint64_t ghcb_call(uint64_t val)
{
	wrmsr(MSR_GHCB, val);
	vmgexit();
	return rdmsr(MSR_GHCB);
}

static void guest_protocol(void)
{
	const uint64_t page = TEST_GPA;
	uint8_t cf;
	uint64_t r;

	/* Untouched: PVALIDATE faults the page in (assigned, not validated). */
	r = snp_pvalidate(page, 0, 1, &cf);
	GUEST_SYNC_ARGS(ST_VALIDATE, r, cf, 0, 0);
	r = snp_pvalidate(page, 0, 1, &cf);
	GUEST_SYNC_ARGS(ST_AGAIN, r, cf, 0, 0);
	/* A 2 MiB request for an address that is not 2 MiB aligned. */
	r = snp_pvalidate(page + 3 * PAGE_SIZE, 1, 1, &cf);
	GUEST_SYNC_ARGS(ST_SIZE, r, cf, 0, 0);
	r = snp_pvalidate(page + 2 * PAGE_SIZE, 0, 1, &cf);
	GUEST_SYNC_ARGS(ST_UNTOUCHED, r, cf, 0, 0);
	GUEST_SYNC_ARGS(ST_INFO, ghcb_call(GHCB_SEV_INFO_REQ), 0, 0, 0);
	r = ghcb_call((page + PAGE_SIZE) | GHCB_PSC_SHARED | GHCB_PSC_REQ);
	GUEST_SYNC_ARGS(ST_PSC, r, 0, 0, 0);
	WRITE_ONCE(*(uint64_t *)(page + PAGE_SIZE), 0x5a5a);
	GUEST_SYNC_ARGS(ST_SHARED_WRITE, 0, 0, 0, 0);
	asm volatile("ud2");
	GUEST_SYNC_ARGS(ST_UD, READ_ONCE(guest_ud_count), 0, 0, 0);
	ghcb_call(GHCB_TERM_VALUE);
	GUEST_ASSERT(0);
}

/* Run the guest to its next GUEST_SYNC_ARGS(), which must be @stage's. */
static void run_to_stage(struct kvm_vcpu *vcpu, uint64_t stage, struct ucall *uc)
{
	vcpu_run(vcpu);
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO, "stage %lu: exit %s", stage,
		    exit_reason_str(vcpu->run->exit_reason));
	if (get_ucall(vcpu, uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(*uc);
	TEST_ASSERT(uc->args[1] == stage, "stage %lu: got stage %lu", stage, uc->args[1]);
}

static void expect_sync(struct kvm_vcpu *vcpu, uint64_t stage, uint64_t a1, uint64_t a2)
{
	struct ucall uc;

	run_to_stage(vcpu, stage, &uc);
	TEST_ASSERT(uc.args[2] == a1 && uc.args[3] == a2,
		    "stage %lu: got stage %lu with %lx, %lx; want %lx, %lx", stage,
		    uc.args[1], uc.args[2], uc.args[3], a1, a2);
}

/*
 * A guest validates its pages (PVALIDATE: RAX and CF as the hardware
 * sets them, the page faulted in where it was untouched), asks for SEV
 * information and a page-state change (a KVM_HC_MAP_GPA_RANGE exit) over
 * the GHCB MSR protocol, still gets #UD for UD2, and terminates
 * (KVM_EXIT_SYSTEM_EVENT, SEV_TERM, the GHCB value).
 */
static void test_guest_protocol(void)
{
	const uint64_t info = (2ull << 48) | (1ull << 32) | (47ull << 24) | GHCB_SEV_INFO_RESP;
	struct kvm_vcpu *vcpu;
	struct kvm_run *run;
	struct test_vm t;
	unsigned int asid;

	test_vm_create(&t, KVM_X86_SNP_VM);
	vm_enable_cap(t.vm, KVM_CAP_EXIT_HYPERCALL, 1 << KVM_HC_MAP_GPA_RANGE);
	asid = launch_asid(&t);
	vcpu = vm_vcpu_add(t.vm, 0, guest_protocol);
	virt_map(t.vm, TEST_GPA, TEST_GPA, TEST_NPAGES);
	vm_init_descriptor_tables(t.vm);
	vcpu_init_descriptor_tables(vcpu);
	vm_install_exception_handler(t.vm, UD_VECTOR, guest_ud_handler);
	run = vcpu->run;

	expect_sync(vcpu, ST_VALIDATE, 0, 0);
	TEST_ASSERT(model_rmp(asid).validated == 1, "validated %lu after PVALIDATE",
		    model_rmp(asid).validated);
	expect_sync(vcpu, ST_AGAIN, 0, 1);
	expect_sync(vcpu, ST_SIZE, PVALIDATE_FAIL_INPUT, 0);
	expect_sync(vcpu, ST_UNTOUCHED, 0, 0);
	TEST_ASSERT(model_rmp(asid).validated == 2 && model_rmp(asid).assigned == 2,
		    "after validating an untouched page: assigned %lu validated %lu",
		    model_rmp(asid).assigned, model_rmp(asid).validated);
	expect_sync(vcpu, ST_INFO, info, 0);

	/* The page-state change reaches user space as KVM_HC_MAP_GPA_RANGE. */
	vcpu_run(vcpu);
	TEST_ASSERT(run->exit_reason == KVM_EXIT_HYPERCALL &&
		    run->hypercall.nr == KVM_HC_MAP_GPA_RANGE &&
		    run->hypercall.args[0] == TEST_GPA + PAGE_SIZE &&
		    run->hypercall.args[1] == 1 &&
		    run->hypercall.args[2] == (KVM_MAP_GPA_RANGE_DECRYPTED |
					       KVM_MAP_GPA_RANGE_PAGE_SZ_4K),
		    "PSC: exit %s nr %llu args %llx %llx %llx",
		    exit_reason_str(run->exit_reason), run->hypercall.nr,
		    run->hypercall.args[0], run->hypercall.args[1], run->hypercall.args[2]);
	vm_mem_set_shared(t.vm, TEST_GPA + PAGE_SIZE, PAGE_SIZE);
	run->hypercall.ret = 0;
	expect_sync(vcpu, ST_PSC, GHCB_PSC_RESP, 0);
	expect_sync(vcpu, ST_SHARED_WRITE, 0, 0);
	TEST_ASSERT(*(uint64_t *)addr_gpa2hva(t.vm, TEST_GPA + PAGE_SIZE) == 0x5a5a,
		    "the host does not see the guest's write to its shared page");
	expect_sync(vcpu, ST_UD, 1, 0);

	vcpu_run(vcpu);
	TEST_ASSERT(run->exit_reason == KVM_EXIT_SYSTEM_EVENT &&
		    run->system_event.type == KVM_SYSTEM_EVENT_SEV_TERM &&
		    run->system_event.ndata == 1 &&
		    run->system_event.data[0] == GHCB_TERM_VALUE,
		    "termination: exit %s type %u ndata %u data %llx",
		    exit_reason_str(run->exit_reason), run->system_event.type,
		    run->system_event.ndata, run->system_event.data[0]);
	test_vm_free(&t);
	TEST_ASSERT(!model_rmp(asid).assigned, "pages assigned after teardown");
	ksft_test_result_pass("guest PVALIDATE, GHCB MSR info/PSC/termination, UD2 still #UD\n");
}

/* ---- Discovery, as upstream's clients do it ---------------------------- */

#define MSR_SEV_STATUS		0xc0010131
#define SEV_STATUS_SNP		0x7	/* SEV, SEV-ES and SNP enabled */

static void guest_sev_status(void)
{
	GUEST_SYNC(rdmsr(MSR_SEV_STATUS));
	GUEST_DONE();
}

/*
 * The KVM_X86_GRP_SEV attributes of /dev/kvm (KVM_HAS_DEVICE_ATTR,
 * KVM_GET_DEVICE_ATTR with upstream's numbers: no VMSA features with the
 * model, the SNP policy bits LAUNCH_START takes), ENXIO for others, and
 * the SEV status MSR an SNP guest reads.
 */
static void test_discovery(void)
{
	static const struct {
		uint32_t group;
		uint64_t attr;
		int err;
	} attrs[] = {
		{ KVM_X86_GRP_SEV, KVM_X86_SEV_VMSA_FEATURES, 0 },
		{ KVM_X86_GRP_SEV, KVM_X86_SNP_POLICY_BITS, 0 },
		{ KVM_X86_GRP_SEV, 2, ENXIO },
		{ KVM_X86_GRP_SEV + 1, 0, ENXIO },
	};
	int kvm_fd = open_kvm_dev_path_or_exit();
	uint64_t val, status;
	struct kvm_vcpu *vcpu;
	struct test_vm t;
	struct ucall uc;
	int i, r;

	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		r = __kvm_has_device_attr(kvm_fd, attrs[i].group, attrs[i].attr);
		TEST_ASSERT(attrs[i].err ? r == -1 && errno == attrs[i].err : !r,
			    "KVM_HAS_DEVICE_ATTR %u/%lu: %d (%s), want %d", attrs[i].group,
			    attrs[i].attr, r, strerror(errno), attrs[i].err);
		r = __kvm_device_attr_get(kvm_fd, attrs[i].group, attrs[i].attr, &val);
		TEST_ASSERT(attrs[i].err ? r == -1 && errno == attrs[i].err : !r,
			    "KVM_GET_DEVICE_ATTR %u/%lu: %d (%s), want %d", attrs[i].group,
			    attrs[i].attr, r, strerror(errno), attrs[i].err);
	}
	kvm_device_attr_get(kvm_fd, KVM_X86_GRP_SEV, KVM_X86_SEV_VMSA_FEATURES, &val);
	TEST_ASSERT(!val, "VMSA features %#lx with the model", val);
	kvm_device_attr_get(kvm_fd, KVM_X86_GRP_SEV, KVM_X86_SNP_POLICY_BITS, &val);
	TEST_ASSERT((val & TEST_POLICY) == TEST_POLICY && !(val & SNP_POLICY_SINGLE_SOCKET) &&
		    !(val & ~((1ull << 20) - 1)), "SNP policy bits %#lx", val);
	close(kvm_fd);

	test_vm_create(&t, KVM_X86_SNP_VM);
	snp_init2(t.vm);
	vcpu = vm_vcpu_add(t.vm, 0, guest_sev_status);
	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC, "no sync from the guest: exit %s",
		    exit_reason_str(vcpu->run->exit_reason));
	status = uc.args[1];
	TEST_ASSERT(status == SEV_STATUS_SNP, "SEV_STATUS %#lx, want %#x", status,
		    SEV_STATUS_SNP);
	test_vm_free(&t);
	ksft_test_result_pass("KVM_X86_GRP_SEV attributes, SEV_STATUS in the guest\n");
}

/* CPUID 0x8000001F: EAX feature bits, EBX C-bit and reduction, ECX/EDX ASIDs */
#define CPUID_MEM_ENCRYPT	0x8000001f
#define MEM_ENCRYPT_SEV		BIT(1)
#define MEM_ENCRYPT_SEV_ES	BIT(3)
#define MEM_ENCRYPT_SNP		BIT(4)
#define MEM_ENCRYPT_CBIT(ebx)	((ebx) & 0x3f)
#define MEM_ENCRYPT_REDUCE(ebx)	(((ebx) >> 6) & 0x3f)
#define SNP_CBIT		47	/* as on AMD's EPYC parts */

static void guest_cpuid(void)
{
	uint32_t max, eax, ebx, ecx, edx;

	cpuid(0x80000000, &max, &ebx, &ecx, &edx);
	cpuid(CPUID_MEM_ENCRYPT, &eax, &ebx, &ecx, &edx);
	GUEST_SYNC_ARGS(max, eax, ebx, ecx, edx);
	GUEST_DONE();
}

static void check_mem_encrypt(const char *who, uint32_t max, uint32_t eax,
			      uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	uint32_t want = MEM_ENCRYPT_SEV | MEM_ENCRYPT_SEV_ES | MEM_ENCRYPT_SNP;

	TEST_ASSERT(max >= CPUID_MEM_ENCRYPT, "%s: max extended leaf %#x", who, max);
	TEST_ASSERT((eax & want) == want, "%s: 0x8000001F EAX %#x lacks %#x", who, eax, want);
	TEST_ASSERT(MEM_ENCRYPT_CBIT(ebx) == SNP_CBIT && !MEM_ENCRYPT_REDUCE(ebx),
		    "%s: 0x8000001F EBX %#x: C-bit %u, reduction %u", who, ebx,
		    MEM_ENCRYPT_CBIT(ebx), MEM_ENCRYPT_REDUCE(ebx));
	/* SEV-ES/SNP ASIDs 1..EDX-1, then SEV-only ones up to ECX. */
	TEST_ASSERT(edx > 1 && edx <= ecx, "%s: 0x8000001F ECX %u EDX %u", who, ecx, edx);
}

/*
 * CPUID 0x8000001F as upstream's clients read it: KVM_GET_SUPPORTED_CPUID
 * reports SEV, SEV-ES and SNP, the C-bit and no address reduction, and an
 * SNP guest given the supported list through KVM_SET_CPUID2 reads the same.
 */
static void test_cpuid(void)
{
	const struct kvm_cpuid_entry2 *e = kvm_get_supported_cpuid_entry(CPUID_MEM_ENCRYPT);
	struct kvm_vcpu *vcpu;
	struct test_vm t;
	struct ucall uc;

	check_mem_encrypt("KVM_GET_SUPPORTED_CPUID", kvm_get_supported_cpuid_entry(0x80000000)->eax,
			  e->eax, e->ebx, e->ecx, e->edx);

	test_vm_create(&t, KVM_X86_SNP_VM);
	snp_init2(t.vm);
	vcpu = vm_vcpu_add(t.vm, 0, guest_cpuid);
	vcpu_set_cpuid(vcpu);
	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT(uc.cmd == UCALL_SYNC, "no sync from the guest: exit %s",
		    exit_reason_str(vcpu->run->exit_reason));
	check_mem_encrypt("guest", uc.args[1], uc.args[2], uc.args[3], uc.args[4], uc.args[5]);
	test_vm_free(&t);
	ksft_test_result_pass("CPUID 0x8000001F: SEV, SEV-ES, SNP, C-bit %d, host and guest\n",
			      SNP_CBIT);
}

/*
 * /dev/sev is there, and kvm_sev_cmd.sev_fd is checked as upstream does:
 * LAUNCH_START keeps its /dev/sev, the launch commands after it use that
 * one and ignore their own, and fail with EBADF once it is closed.
 */
static void test_sev_fd(void)
{
	union snp_params p;
	struct test_vm t;
	struct stat st;
	int fd, r;

	TEST_ASSERT(!fstat(sev_fd, &st) && S_ISCHR(st.st_mode), "/dev/sev is no char device");
	r = ioctl(sev_fd, _IOWR('S', 0x0, uint64_t), 0);
	TEST_ASSERT(r == -1 && errno == ENOTTY, "/dev/sev ioctl: %d (%s)", r, strerror(errno));

	fd = open("/dev/sev", O_RDWR);
	TEST_ASSERT(fd >= 0, "second open of /dev/sev: %s", strerror(errno));
	test_vm_create(&t, KVM_X86_SNP_VM);
	snp_init2(t.vm);
	cmd_sev_fd = fd;
	snp_launch_start(t.vm);
	cmd_sev_fd = -1;
	snp_launch_update(t.vm, TEST_GPA, src_page, PAGE_SIZE, KVM_SEV_SNP_PAGE_TYPE_NORMAL);
	close(fd);

	default_params(UPDATE, &p);
	p.update.gfn_start++;
	r = __snp_cmd(t.vm, UPDATE, &p, NULL);
	TEST_ASSERT(r == -1 && errno == EBADF, "LAUNCH_UPDATE, /dev/sev closed: %d (%s)",
		    r, strerror(errno));
	default_params(FINISH, &p);
	r = __snp_cmd(t.vm, FINISH, &p, NULL);
	TEST_ASSERT(r == -1 && errno == EBADF, "LAUNCH_FINISH, /dev/sev closed: %d (%s)",
		    r, strerror(errno));
	cmd_sev_fd = sev_fd;
	test_vm_free(&t);
	ksft_test_result_pass("/dev/sev: sev_fd kept from LAUNCH_START, EBADF once closed\n");
}

/* ---- #VC on an access to a page the guest has not validated ------------ */

#define VC_VECTOR		29
#define VC_DATA			0x5eedull

static uint64_t vc_count, vc_error, vc_page;

/* What a guest's #VC handler does for 0x404: validate the page, retry. */
static void guest_vc_handler(struct ex_regs *regs)
{
	uint8_t cf;

	vc_count++;
	vc_error = regs->error_code;
	snp_pvalidate(vc_page, 0, 1, &cf);
}

static void guest_vc(void)
{
	uint64_t val;
	uint8_t cf;

	vc_page = TEST_GPA;
	/* Assigned by the fault, not validated: #VC, validated, retried. */
	WRITE_ONCE(*(uint64_t *)TEST_GPA, VC_DATA);
	GUEST_SYNC_ARGS(1, READ_ONCE(vc_count), READ_ONCE(vc_error), 0, 0);
	/* Rescinded: the next access raises #VC again, the data is kept. */
	GUEST_ASSERT(!snp_pvalidate(TEST_GPA, 0, 0, &cf) && !cf);
	val = READ_ONCE(*(uint64_t *)TEST_GPA);
	GUEST_SYNC_ARGS(2, READ_ONCE(vc_count), READ_ONCE(vc_error), val, 0);
	/* Validated pages take no #VC. */
	WRITE_ONCE(*(uint64_t *)TEST_GPA, val + 1);
	GUEST_SYNC_ARGS(3, READ_ONCE(vc_count), READ_ONCE(vc_error), 0, 0);
	GUEST_DONE();
}

/*
 * The guest's handler ran @count times in all, and read @data.  KVM must
 * have injected a #VC for each (more is fine: QEMU's TCG seems to drop an
 * event whose delivery takes a nested page fault instead of reporting it
 * in EXITINTINFO, so the access faults and KVM injects it again), some
 * if @grows, none otherwise.  The error code the handler finds is logged,
 * not checked: QEMU's TCG pushes error codes only for the vectors of its
 * own table, so the frame holds the selftests' stub's 0 for vector 29; the
 * model's 0x404 is checked by KUnit.
 */
static void expect_vc_stage(struct kvm_vcpu *vcpu, unsigned int asid, uint64_t stage,
			    uint64_t count, uint64_t data, bool grows, unsigned long *injected)
{
	unsigned long before = *injected;
	struct ucall uc;

	run_to_stage(vcpu, stage, &uc);
	*injected = snp_audit_vc(asid);
	TEST_ASSERT(uc.args[2] == count && uc.args[4] == data,
		    "stage %lu: %lu #VC in the guest, data %#lx; want %lu, %#lx",
		    stage, uc.args[2], uc.args[4], count, data);
	TEST_ASSERT(*injected >= count && (grows ? *injected > before : *injected == before),
		    "stage %lu: %lu #VC injected before, %lu now", stage, before, *injected);
	ksft_print_msg("stage %lu: %lu #VC injected, the handler's error code %#lx\n",
		       stage, *injected, uc.args[3]);
	snp_audit_assert("a #VC");
}

/*
 * A private access to a page that is the guest's in the RMP but not
 * validated raises #VC in the guest (its handler validates and the
 * access is retried), again after the guest rescinds
 * the page, and never for a validated page.
 */
static void test_vc_unvalidated(void)
{
	unsigned long injected = 0;
	struct kvm_vcpu *vcpu;
	struct test_vm t;
	unsigned int asid;

	test_vm_create(&t, KVM_X86_SNP_VM);
	asid = launch_asid(&t);
	vcpu = vm_vcpu_add(t.vm, 0, guest_vc);
	virt_map(t.vm, TEST_GPA, TEST_GPA, TEST_NPAGES);
	vm_init_descriptor_tables(t.vm);
	vcpu_init_descriptor_tables(vcpu);
	vm_install_exception_handler(t.vm, VC_VECTOR, guest_vc_handler);

	expect_vc_stage(vcpu, asid, 1, 1, 0, true, &injected);
	expect_vc_stage(vcpu, asid, 2, 2, VC_DATA, true, &injected);
	TEST_ASSERT(model_rmp(asid).validated == 1, "validated %lu after the #VC handler",
		    model_rmp(asid).validated);
	expect_vc_stage(vcpu, asid, 3, 2, 0, false, &injected);
	test_vm_free(&t);
	TEST_ASSERT(!model_rmp(asid).assigned, "pages assigned after teardown");
	ksft_test_result_pass("#VC on unvalidated private pages, again after a rescind, %s\n",
			      "none once validated");
}

/* ---- The attack matrix: what the model stops --------------------------- */

/*
 * One page at two GPAs of a guest or in two guests: the host re-assigns
 * a page the victim has mapped (RMPUPDATE does not refuse it).  The audit
 * finds the victim's NPT entry stale; once the next access goes through
 * the RMP check, as every access does on the hardware, the victim faults
 * (KVM_EXIT_MEMORY_FAULT at its GPA), and neither the page's new GPA in
 * the victim nor the other guest sees the victim's data.
 */
static void test_attack_reassign(bool other_guest)
{
	const uint64_t victim_gpa = TEST_GPA + PAGE_SIZE, alias_gpa = TEST_GPA + 8 * PAGE_SIZE;
	struct kvm_vcpu *vcpu, *vcpu2 = NULL;
	unsigned int asid, asid2;
	struct test_vm t, t2;
	struct snp_audit a;
	int r;

	test_vm_create(&t, KVM_X86_SNP_VM);
	asid = launch_asid(&t);
	vcpu = touch_vcpu(&t, TEST_NPAGES);
	touch(t.vm, vcpu, TEST_GPA, 2);		/* page 1 holds 1 */
	asid2 = asid;
	if (other_guest) {
		test_vm_create(&t2, KVM_X86_SNP_VM);
		asid2 = launch_asid(&t2);
		vcpu2 = touch_vcpu(&t2, TEST_NPAGES);
	}

	TEST_ASSERT(!snp_attack("reassign %u %lx %u %lx", asid, victim_gpa, asid2,
				other_guest ? victim_gpa : alias_gpa),
		    "reassign: %s", strerror(errno));
	a = snp_audit_read();
	TEST_ASSERT(a.violations == 1, "the stale NPT entry: %lu violations", a.violations);
	TEST_ASSERT(!snp_attack("flush %u %lx", asid, victim_gpa), "flush");
	snp_audit_assert("the RMP check of the victim's next access");

	/* The page's new owner finds its own (zeroed) pages there. */
	if (other_guest)
		TEST_ASSERT(!__touch(t2.vm, vcpu2, TEST_GPA, 2, true),
			    "the other guest read the victim's data");
	else
		TEST_ASSERT(!__touch(t.vm, vcpu, alias_gpa, 1, true),
			    "the victim's data showed at the alias GPA");

	guest_gpa = victim_gpa;
	guest_npages = 1;
	sync_global_to_guest(t.vm, guest_gpa);
	sync_global_to_guest(t.vm, guest_npages);
	r = __vcpu_run(vcpu);
	TEST_ASSERT(r == -1 && errno == EFAULT &&
		    vcpu->run->exit_reason == KVM_EXIT_MEMORY_FAULT &&
		    vcpu->run->memory_fault.gpa == victim_gpa,
		    "the victim's access: r %d errno %d exit %s gpa %llx", r, errno,
		    exit_reason_str(vcpu->run->exit_reason), vcpu->run->memory_fault.gpa);
	snp_audit_assert("the victim's fault");

	if (other_guest)
		test_vm_free(&t2);
	test_vm_free(&t);
	TEST_ASSERT(!model_rmp(asid).assigned && !model_rmp(asid2).assigned,
		    "pages assigned after teardown");
	ksft_test_result_pass("page re-assigned %s: stale entry audited, victim faults, %s\n",
			      other_guest ? "to another guest" : "at another GPA",
			      "no data crosses");
}

int main(int argc, char *argv[])
{
	int i;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & (1 << KVM_X86_SNP_VM));
	TEST_REQUIRE(!access(MODEL_GUESTS, R_OK));
	sha384_init_constants();
	src_page = source_pages(1, 0x11);
	/* The model serves /dev/sev whenever it runs SNP guests. */
	sev_fd = open("/dev/sev", O_RDWR);
	TEST_ASSERT(sev_fd >= 0, "open /dev/sev: %s", strerror(errno));
	cmd_sev_fd = sev_fd;

	ksft_print_header();
	TEST_REQUIRE(!access(SNP_AUDIT, R_OK));
	ksft_set_plan(20 + ARRAY_SIZE(errno_cases));
	sha384_selftest();
	test_vm_types();
	test_launch_digest();
	test_launch_update_short();
	test_rmp_lifecycle(false);
	test_rmp_lifecycle(true);
	test_failed_update_rmp();
	test_private_faults_rmp();
	test_fault_before_init();
	test_huge_psmash();
	test_in_place_shared();
	test_protected_state();
	test_guest_protocol();
	test_vc_unvalidated();
	test_discovery();
	test_cpuid();
	test_sev_fd();
	test_attack_reassign(false);
	test_attack_reassign(true);
	for (i = 0; i < ARRAY_SIZE(errno_cases); i++)
		run_errno_case(&errno_cases[i]);
	ksft_test_result_pass("%zu bad inputs refused with upstream's errnos\n",
			      ARRAY_SIZE(errno_cases));
	ksft_finished();
}
