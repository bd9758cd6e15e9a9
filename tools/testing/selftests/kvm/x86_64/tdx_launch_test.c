// SPDX-License-Identifier: GPL-2.0-only
/*
 * TD launch through upstream's ABI, on the TDX-module model:
 * KVM_X86_TDX_VM is reported and created; KVM_TDX_CAPABILITIES,
 * KVM_TDX_INIT_VM, KVM_TDX_INIT_VCPU, KVM_TDX_INIT_MEM_REGION,
 * KVM_TDX_FINALIZE_VM and KVM_TDX_GET_CPUID give upstream's errno for every
 * bad input (table-driven); the MRTD of a launch is what user space
 * computes from the pages it loaded (SHA-384 over the module's 128-byte
 * blocks); register state is the TD's after finalize; and every page the
 * TD had is back in the host's hands (PAMT NDA, written back) after a
 * punch and after teardown, with the HKID free again.
 *
 * The module reports the MRTD only inside a TD report; the model shows it,
 * and its PAMT counts, in debugfs (/sys/kernel/debug/tdx_model/), which
 * this test reads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <linux/sizes.h>

#include "privmem_launch.h"
#include "privmem_sha384.h"
#include "privmem_tdx.h"
#include "privmem_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

/* GPAW 48: the shared bit. */
#define TDX_SHARED_BIT		BIT_ULL(47)
#define TDX_ATTR_DEBUG		BIT_ULL(0)
#define TDX_ATTR_SEPT_VE_DISABLE BIT_ULL(28)
#define TDX_XFAM_FP_SSE		0x3ull

/* TDX module status codes the tests expect in kvm_tdx_cmd.hw_error. */
#define TDX_NO_VCPUS		0xC000060900000000ull

#define MODEL_TDS	"/sys/kernel/debug/tdx_model/tds"
#define MODEL_PAMT	"/sys/kernel/debug/tdx_model/pamt"

#define MRTD_SIZE	SHA384_DIGEST_SIZE
#define MRTD_BLOCK	128
#define EXTEND_CHUNK	256
/* The model's operation states, as its debugfs shows them. */
#define TD_OP_RUNNABLE	2

/* ---- The MRTD, as the module computes it -------------------------------- */

struct mrtd_log {
	uint8_t *buf;
	size_t len, size;
};

/* One 128-byte block: the leaf's name zero-padded to 16 bytes, the GPA. */
static void mrtd_block(struct mrtd_log *log, const char *what, uint64_t gpa)
{
	uint8_t *b;
	int i;

	if (log->len + MRTD_BLOCK > log->size) {
		log->size = 2 * log->size + MRTD_BLOCK;
		log->buf = realloc(log->buf, log->size);
		TEST_ASSERT(log->buf, "realloc");
	}
	b = log->buf + log->len;
	memset(b, 0, MRTD_BLOCK);
	strncpy((char *)b, what, 16);
	for (i = 0; i < 8; i++)
		b[16 + i] = gpa >> (8 * i);
	log->len += MRTD_BLOCK;
}

/* PAGE.ADD of @page at @gpa, and its sixteen MR.EXTENDs if @measured. */
static void mrtd_add_page(struct mrtd_log *log, const uint8_t *page, uint64_t gpa,
			  bool measured)
{
	int i;

	mrtd_block(log, "MEM.PAGE.ADD", gpa);
	for (i = 0; measured && i < PAGE_SIZE; i += EXTEND_CHUNK) {
		mrtd_block(log, "MR.EXTEND", gpa + i);
		/* The chunk, as two more blocks. */
		mrtd_block(log, "", 0);
		mrtd_block(log, "", 0);
		memcpy(log->buf + log->len - 2 * MRTD_BLOCK, page + i, EXTEND_CHUNK);
	}
}

/* ---- The model's debugfs files ------------------------------------------- */

struct model_td {
	uint64_t tdr;
	unsigned int hkid, lifecycle, op, vcpus;
	unsigned long pages;
	uint8_t mrtd[MRTD_SIZE];
};

/* The TDs that hold an HKID; returns how many, at most @max. */
static int model_tds(struct model_td *td, int max)
{
	char line[512], hex[2 * MRTD_SIZE + 1];
	FILE *f = fopen(MODEL_TDS, "r");
	int n = 0, i;

	TEST_ASSERT(f, "open %s: %s", MODEL_TDS, strerror(errno));
	while (n < max && fgets(line, sizeof(line), f)) {
		TEST_ASSERT(sscanf(line,
				   "tdr %lx hkid %u lifecycle %u op %u vcpus %u pages %lu mrtd %96s",
				   &td[n].tdr, &td[n].hkid, &td[n].lifecycle, &td[n].op,
				   &td[n].vcpus, &td[n].pages, hex) == 7,
			    "bad line in %s: %s", MODEL_TDS, line);
		for (i = 0; i < MRTD_SIZE; i++)
			TEST_ASSERT(sscanf(hex + 2 * i, "%2hhx", &td[n].mrtd[i]) == 1,
				    "bad MRTD in %s", line);
		n++;
	}
	fclose(f);
	return n;
}

/* The one TD in @after that is not in @before. */
static struct model_td new_td(struct model_td *before, int nb, struct model_td *after, int na)
{
	struct model_td found = {};
	int i, j, n = 0;

	for (i = 0; i < na; i++) {
		for (j = 0; j < nb && before[j].tdr != after[i].tdr; j++)
			;
		if (j == nb) {
			found = after[i];
			n++;
		}
	}
	TEST_ASSERT(n == 1, "expected one new TD, found %d", n);
	return found;
}

static bool model_has_td(uint64_t tdr)
{
	struct model_td td[64];
	int n = model_tds(td, 64), i;

	for (i = 0; i < n; i++)
		if (td[i].tdr == tdr)
			return true;
	return false;
}

struct pamt_count {
	unsigned long reg, tdr, tdcx, tdvpr, ept, unflushed;
};

/* The PAMT's 4 KiB pages by type, and those left by a TD unflushed. */
static struct pamt_count model_pamt(void)
{
	struct pamt_count c = {};
	char name[16];
	unsigned long v;
	FILE *f = fopen(MODEL_PAMT, "r");

	TEST_ASSERT(f, "open %s: %s", MODEL_PAMT, strerror(errno));
	while (fscanf(f, "%15s %lu", name, &v) == 2) {
		if (!strcmp(name, "reg"))
			c.reg = v;
		else if (!strcmp(name, "tdr"))
			c.tdr = v;
		else if (!strcmp(name, "tdcx"))
			c.tdcx = v;
		else if (!strcmp(name, "tdvpr"))
			c.tdvpr = v;
		else if (!strcmp(name, "ept"))
			c.ept = v;
		else if (!strcmp(name, "unflushed"))
			c.unflushed = v;
	}
	fclose(f);
	return c;
}

static void assert_pamt_equal(struct pamt_count a, struct pamt_count b, const char *when)
{
	TEST_ASSERT(!memcmp(&a, &b, sizeof(a)),
		    "%s: PAMT reg/tdr/tdcx/tdvpr/ept/unflushed %lu %lu %lu %lu %lu %lu, expected %lu %lu %lu %lu %lu %lu",
		    when, a.reg, a.tdr, a.tdcx,
		    a.tdvpr, a.ept, a.unflushed, b.reg, b.tdr, b.tdcx, b.tdvpr, b.ept,
		    b.unflushed);
}

/* ---- VMs and commands ---------------------------------------------------- */

static void guest_code(void)
{
	GUEST_DONE();
}

static int __tdx_cmd(int fd, uint32_t id, uint32_t flags, uint64_t data, uint64_t *hw_error)
{
	struct kvm_tdx_cmd cmd = {
		.id = id,
		.flags = flags,
		.data = data,
		.hw_error = hw_error ? *hw_error : 0,
	};
	int r;

	r = ioctl(fd, KVM_MEMORY_ENCRYPT_OP, &cmd);
	if (hw_error)
		*hw_error = cmd.hw_error;
	return r;
}

static void tdx_cmd(int fd, uint32_t id, uint32_t flags, void *data)
{
	uint64_t hw_error = 0;
	int r = __tdx_cmd(fd, id, flags, (uintptr_t)data, &hw_error);

	TEST_ASSERT(!r && !hw_error, "TDX command %u: %d (%s), module status %#lx",
		    id, r, strerror(errno), hw_error);
}

static void tdx_init_vm(struct kvm_vm *vm)
{
	struct kvm_tdx_init_vm *init = calloc(1, sizeof(*init));

	TEST_ASSERT(init, "calloc");
	init->xfam = TDX_XFAM_FP_SSE;
	init->attributes = TDX_ATTR_SEPT_VE_DISABLE;
	tdx_cmd(vm->fd, KVM_TDX_INIT_VM, 0, init);
	free(init);
}

static void tdx_init_vcpu(struct test_vm *t)
{
	t->vcpu = vm_vcpu_add(t->vm, 0, guest_code);
	TEST_ASSERT(!__tdx_cmd(t->vcpu->fd, KVM_TDX_INIT_VCPU, 0, 0, NULL),
		    "KVM_TDX_INIT_VCPU: %s", strerror(errno));
}

static void tdx_init_mem_region(struct test_vm *t, uint64_t gpa, void *src,
				uint64_t npages, bool measure)
{
	struct kvm_tdx_init_mem_region region = {
		.source_addr = (uintptr_t)src,
		.gpa = gpa,
		.nr_pages = npages,
	};

	tdx_cmd(t->vcpu->fd, KVM_TDX_INIT_MEM_REGION,
		measure ? KVM_TDX_MEASURE_MEMORY_REGION : 0, &region);
	TEST_ASSERT(!region.nr_pages && region.gpa == gpa + npages * PAGE_SIZE,
		    "INIT_MEM_REGION left %llu pages at %llx", region.nr_pages, region.gpa);
}

static void tdx_finalize(struct kvm_vm *vm)
{
	tdx_cmd(vm->fd, KVM_TDX_FINALIZE_VM, 0, NULL);
}

/* ---- The errno table ----------------------------------------------------- */

enum tdx_stage { STAGE_NEW, STAGE_VCPU_FIRST, STAGE_INIT, STAGE_VCPU, STAGE_FINAL };

/* Where a command's struct lives; cmd.data points here unless a case says. */
static uint64_t params[1024] __aligned(PAGE_SIZE);
static uint8_t *src_page;

struct errno_case {
	const char *name;
	unsigned long vm_type;
	enum tdx_stage stage;
	bool vcpu;		/* a vCPU ioctl */
	uint32_t id;
	uint32_t flags;
	uint64_t hw_error_in;
	/* One field of the valid default parameters set to a bad value... */
	size_t off;
	size_t size;
	uint64_t val;
	/* ...or the parameters or the VM changed by a function. */
	void (*prep)(struct test_vm *t, uint64_t *data, uint32_t *flags);
	int err;
	uint64_t hw_error;
};

#define CAPS_SET(field, v)	SET(struct kvm_tdx_capabilities, field, v)
#define INIT_SET(field, v)	SET(struct kvm_tdx_init_vm, field, v)
#define REGION_SET(field, v)	SET(struct kvm_tdx_init_mem_region, field, v)
#define CPUID_SET(field, v)	SET(struct kvm_cpuid2, field, v)

#define TDX_VM		KVM_X86_TDX_VM
#define CAPS		KVM_TDX_CAPABILITIES
#define INIT_VM		KVM_TDX_INIT_VM
#define INIT_VCPU	KVM_TDX_INIT_VCPU
#define MEM_REGION	KVM_TDX_INIT_MEM_REGION
#define FINALIZE	KVM_TDX_FINALIZE_VM
#define GET_CPUID	KVM_TDX_GET_CPUID
#define MEASURE		KVM_TDX_MEASURE_MEMORY_REGION

static uint64_t default_params(uint32_t id, uint32_t *flags)
{
	struct kvm_tdx_init_mem_region *region = (void *)params;
	struct kvm_tdx_capabilities *caps = (void *)params;
	struct kvm_tdx_init_vm *init = (void *)params;
	struct kvm_cpuid2 *cpuid = (void *)params;

	memset(params, 0, sizeof(params));
	*flags = 0;
	switch (id) {
	case KVM_TDX_CAPABILITIES:
		caps->cpuid.nent = 4;
		break;
	case KVM_TDX_INIT_VM:
		init->xfam = TDX_XFAM_FP_SSE;
		break;
	case KVM_TDX_INIT_VCPU:
	case KVM_TDX_FINALIZE_VM:
		return 0;
	case KVM_TDX_INIT_MEM_REGION:
		region->source_addr = (uintptr_t)src_page;
		region->gpa = TEST_GPA;
		region->nr_pages = 1;
		*flags = MEASURE;
		break;
	case KVM_TDX_GET_CPUID:
		cpuid->nent = 4;
		break;
	}
	return (uintptr_t)params;
}

/* One CPUID entry in INIT_VM: the configurable leaf, and a bad value. */
static void prep_cpuid_entry(uint32_t function, uint32_t eax, uint32_t ebx)
{
	struct kvm_tdx_init_vm *init = (void *)params;

	init->cpuid.nent = 1;
	init->cpuid.entries[0].function = function;
	init->cpuid.entries[0].eax = eax;
	init->cpuid.entries[0].ebx = ebx;
}

static void prep_cpuid_leaf1(struct test_vm *t, uint64_t *data, uint32_t *flags)
{
	prep_cpuid_entry(1, 0, 0);
}

static void prep_cpuid_ebx(struct test_vm *t, uint64_t *data, uint32_t *flags)
{
	prep_cpuid_entry(0x80000008, 0x30, 1);
}

static void prep_cpuid_gpaw(struct test_vm *t, uint64_t *data, uint32_t *flags)
{
	prep_cpuid_entry(0x80000008, 0x30 << 16, 0);
}

static void prep_cpuid_flags(struct test_vm *t, uint64_t *data, uint32_t *flags)
{
	struct kvm_tdx_init_vm *init = (void *)params;

	prep_cpuid_entry(0x80000008, 0x30, 0);
	init->cpuid.entries[0].flags = 1;
}

static void prep_vcpu(struct test_vm *t, uint64_t *data, uint32_t *flags)
{
	vm_vcpu_add(t->vm, 1, guest_code);
}

static void prep_bad_pointer(struct test_vm *t, uint64_t *data, uint32_t *flags)
{
	*data = (uintptr_t)unreadable_page();
}

static void prep_unreadable_src(struct test_vm *t, uint64_t *data, uint32_t *flags)
{
	struct kvm_tdx_init_mem_region *region = (void *)params;

	region->source_addr = (uintptr_t)unreadable_page();
}

static void prep_cross_shared_bit(struct test_vm *t, uint64_t *data, uint32_t *flags)
{
	struct kvm_tdx_init_mem_region *region = (void *)params;

	region->gpa = TDX_SHARED_BIT - PAGE_SIZE;
	region->nr_pages = 2;
}

static void prep_shared(struct test_vm *t, uint64_t *data, uint32_t *flags)
{
	vm_mem_set_shared(t->vm, TEST_GPA, PAGE_SIZE);
}

static void prep_added(struct test_vm *t, uint64_t *data, uint32_t *flags)
{
	tdx_init_mem_region(t, TEST_GPA, src_page, 1, true);
}

static void prep_vcpu_no_init(struct test_vm *t, uint64_t *data, uint32_t *flags)
{
	t->vcpu = vm_vcpu_add(t->vm, 0, guest_code);
}

static const struct errno_case errno_cases[] = {
	/* Any command */
	{ "hw_error set on input", TDX_VM, STAGE_NEW, false, CAPS, .hw_error_in = 1,
	  .err = EINVAL, .hw_error = 1 },
	{ "hw_error set on input, vCPU", TDX_VM, STAGE_VCPU, true, GET_CPUID, .hw_error_in = 1,
	  .err = EINVAL, .hw_error = 1 },
	{ "unknown VM command 6", TDX_VM, STAGE_INIT, false, 6, .err = EINVAL },
	{ "INIT_VCPU on the VM", TDX_VM, STAGE_INIT, false, INIT_VCPU, .err = EINVAL },
	{ "GET_CPUID on the VM", TDX_VM, STAGE_VCPU, false, GET_CPUID, .err = EINVAL },
	{ "FINALIZE on a vCPU", TDX_VM, STAGE_VCPU, true, FINALIZE, .err = EINVAL },
	{ "unknown vCPU command 6", TDX_VM, STAGE_VCPU, true, 6, .err = EINVAL },
	{ "CAPABILITIES on a default VM", KVM_X86_DEFAULT_VM, STAGE_NEW, false, CAPS,
	  .err = ENOTTY },
	/*
	 * This host is AMD's: another VM's KVM_MEMORY_ENCRYPT_OP is an SEV
	 * command, and CAPABILITIES shares its number (0) with KVM_SEV_INIT,
	 * which upstream refuses on a type 1 VM with EINVAL.
	 */
	{ "CAPABILITIES on a SW-protected VM", KVM_X86_SW_PROTECTED_VM, STAGE_NEW, false, CAPS,
	  .err = EINVAL },
	{ "INIT_VCPU on a default VM's vCPU", KVM_X86_DEFAULT_VM, STAGE_VCPU_FIRST, true,
	  INIT_VCPU, .err = ENOTTY },
	/* KVM_TDX_CAPABILITIES */
	{ "CAPABILITIES flags", TDX_VM, STAGE_NEW, false, CAPS, .flags = 1, .err = EINVAL },
	{ "CAPABILITIES cpuid.nent 0", TDX_VM, STAGE_NEW, false, CAPS, CAPS_SET(cpuid.nent, 0),
	  .err = E2BIG },
	{ "CAPABILITIES bad pointer", TDX_VM, STAGE_NEW, false, CAPS, .prep = prep_bad_pointer,
	  .err = EFAULT },
	/* KVM_TDX_INIT_VM */
	{ "INIT_VM flags", TDX_VM, STAGE_NEW, false, INIT_VM, .flags = 1, .err = EINVAL },
	{ "INIT_VM twice", TDX_VM, STAGE_INIT, false, INIT_VM, .err = EINVAL },
	{ "INIT_VM after a vCPU", TDX_VM, STAGE_NEW, false, INIT_VM, .prep = prep_vcpu,
	  .err = EINVAL },
	{ "INIT_VM after FINALIZE", TDX_VM, STAGE_FINAL, false, INIT_VM, .err = EINVAL },
	{ "INIT_VM attributes bit 0 (DEBUG)", TDX_VM, STAGE_NEW, false, INIT_VM,
	  INIT_SET(attributes, TDX_ATTR_DEBUG), .err = EINVAL },
	{ "INIT_VM attributes bit 63", TDX_VM, STAGE_NEW, false, INIT_VM,
	  INIT_SET(attributes, 1ull << 63), .err = EINVAL },
	{ "INIT_VM xfam 0", TDX_VM, STAGE_NEW, false, INIT_VM, INIT_SET(xfam, 0), .err = EINVAL },
	{ "INIT_VM xfam without SSE", TDX_VM, STAGE_NEW, false, INIT_VM, INIT_SET(xfam, 1),
	  .err = EINVAL },
	{ "INIT_VM xfam AVX", TDX_VM, STAGE_NEW, false, INIT_VM, INIT_SET(xfam, 0x7),
	  .err = EINVAL },
	{ "INIT_VM reserved[0]", TDX_VM, STAGE_NEW, false, INIT_VM, INIT_SET(reserved[0], 1),
	  .err = EINVAL },
	{ "INIT_VM reserved[11]", TDX_VM, STAGE_NEW, false, INIT_VM,
	  INIT_SET(reserved[11], 1ull << 63), .err = EINVAL },
	{ "INIT_VM cpuid.padding", TDX_VM, STAGE_NEW, false, INIT_VM,
	  INIT_SET(cpuid.padding, 1), .err = EINVAL },
	{ "INIT_VM cpuid.nent 257", TDX_VM, STAGE_NEW, false, INIT_VM,
	  INIT_SET(cpuid.nent, 257), .err = E2BIG },
	{ "INIT_VM CPUID leaf 1 not configurable", TDX_VM, STAGE_NEW, false, INIT_VM,
	  .prep = prep_cpuid_leaf1, .err = EINVAL },
	{ "INIT_VM CPUID 0x80000008 EBX not configurable", TDX_VM, STAGE_NEW, false, INIT_VM,
	  .prep = prep_cpuid_ebx, .err = EINVAL },
	{ "INIT_VM CPUID 0x80000008 GuestPhysAddrSize", TDX_VM, STAGE_NEW, false, INIT_VM,
	  .prep = prep_cpuid_gpaw, .err = EINVAL },
	{ "INIT_VM CPUID entry flags", TDX_VM, STAGE_NEW, false, INIT_VM,
	  .prep = prep_cpuid_flags, .err = EINVAL },
	{ "INIT_VM bad pointer", TDX_VM, STAGE_NEW, false, INIT_VM, .prep = prep_bad_pointer,
	  .err = EFAULT },
	{ "INIT_VM on a default VM", KVM_X86_DEFAULT_VM, STAGE_NEW, false, INIT_VM,
	  .err = ENOTTY },
	/* KVM_TDX_INIT_VCPU */
	{ "INIT_VCPU before INIT_VM", TDX_VM, STAGE_VCPU_FIRST, true, INIT_VCPU, .err = EINVAL },
	{ "INIT_VCPU flags", TDX_VM, STAGE_INIT, true, INIT_VCPU, .flags = 1,
	  .prep = prep_vcpu_no_init, .err = EINVAL },
	{ "INIT_VCPU twice", TDX_VM, STAGE_VCPU, true, INIT_VCPU, .err = EINVAL },
	{ "INIT_VCPU after FINALIZE", TDX_VM, STAGE_FINAL, true, INIT_VCPU, .err = EINVAL },
	/* KVM_TDX_INIT_MEM_REGION */
	{ "INIT_MEM_REGION before INIT_VCPU", TDX_VM, STAGE_INIT, true, MEM_REGION,
	  .prep = prep_vcpu_no_init, .err = EINVAL },
	{ "INIT_MEM_REGION after FINALIZE", TDX_VM, STAGE_FINAL, true, MEM_REGION,
	  .err = EINVAL },
	{ "INIT_MEM_REGION flags bit 1", TDX_VM, STAGE_VCPU, true, MEM_REGION,
	  .flags = MEASURE | 2, .err = EINVAL },
	{ "INIT_MEM_REGION flags bit 31", TDX_VM, STAGE_VCPU, true, MEM_REGION,
	  .flags = 1u << 31, .err = EINVAL },
	{ "INIT_MEM_REGION nr_pages 0", TDX_VM, STAGE_VCPU, true, MEM_REGION,
	  REGION_SET(nr_pages, 0), .err = EINVAL },
	{ "INIT_MEM_REGION unaligned gpa", TDX_VM, STAGE_VCPU, true, MEM_REGION,
	  REGION_SET(gpa, TEST_GPA + 16), .err = EINVAL },
	{ "INIT_MEM_REGION unaligned source", TDX_VM, STAGE_VCPU, true, MEM_REGION,
	  REGION_SET(source_addr, 0x10010), .err = EINVAL },
	{ "INIT_MEM_REGION shared-bit gpa", TDX_VM, STAGE_VCPU, true, MEM_REGION,
	  REGION_SET(gpa, TEST_GPA | TDX_SHARED_BIT), .err = EINVAL },
	{ "INIT_MEM_REGION range crossing the shared bit", TDX_VM, STAGE_VCPU, true,
	  MEM_REGION, .prep = prep_cross_shared_bit, .err = EINVAL },
	{ "INIT_MEM_REGION nr_pages wrapping", TDX_VM, STAGE_VCPU, true, MEM_REGION,
	  REGION_SET(nr_pages, 1ull << 52), .err = EINVAL },
	{ "INIT_MEM_REGION outside every slot", TDX_VM, STAGE_VCPU, true, MEM_REGION,
	  REGION_SET(gpa, 0x300000000ull), .err = EINVAL },
	{ "INIT_MEM_REGION slot without guest_memfd", TDX_VM, STAGE_VCPU, true, MEM_REGION,
	  REGION_SET(gpa, PLAIN_GPA), .err = EINVAL },
	{ "INIT_MEM_REGION shared GFN", TDX_VM, STAGE_VCPU, true, MEM_REGION,
	  .prep = prep_shared, .err = EINVAL },
	{ "INIT_MEM_REGION repeated", TDX_VM, STAGE_VCPU, true, MEM_REGION, .prep = prep_added,
	  .err = EEXIST },
	{ "INIT_MEM_REGION unreadable source", TDX_VM, STAGE_VCPU, true, MEM_REGION,
	  .prep = prep_unreadable_src, .err = EFAULT },
	{ "INIT_MEM_REGION bad pointer", TDX_VM, STAGE_VCPU, true, MEM_REGION,
	  .prep = prep_bad_pointer, .err = EFAULT },
	/* KVM_TDX_FINALIZE_VM */
	{ "FINALIZE before INIT_VM", TDX_VM, STAGE_NEW, false, FINALIZE, .err = EINVAL },
	{ "FINALIZE without a vCPU", TDX_VM, STAGE_INIT, false, FINALIZE, .err = EIO,
	  .hw_error = TDX_NO_VCPUS },
	{ "FINALIZE flags", TDX_VM, STAGE_VCPU, false, FINALIZE, .flags = 1, .err = EINVAL },
	{ "FINALIZE data", TDX_VM, STAGE_VCPU, false, FINALIZE, .prep = prep_bad_pointer,
	  .err = EINVAL },
	{ "FINALIZE twice", TDX_VM, STAGE_FINAL, false, FINALIZE, .err = EINVAL },
	/* KVM_TDX_GET_CPUID */
	{ "GET_CPUID before INIT_VCPU", TDX_VM, STAGE_INIT, true, GET_CPUID,
	  .prep = prep_vcpu_no_init, .err = EINVAL },
	{ "GET_CPUID flags", TDX_VM, STAGE_VCPU, true, GET_CPUID, .flags = 1, .err = EINVAL },
	{ "GET_CPUID nent 0", TDX_VM, STAGE_VCPU, true, GET_CPUID, CPUID_SET(nent, 0),
	  .err = E2BIG },
	{ "GET_CPUID bad pointer", TDX_VM, STAGE_VCPU, true, GET_CPUID,
	  .prep = prep_bad_pointer, .err = EFAULT },
	{ "GET_CPUID after FINALIZE", TDX_VM, STAGE_FINAL, true, GET_CPUID, .err = EINVAL },
};

static bool run_errno_case(const struct errno_case *c)
{
	uint64_t data, hw_error = c->hw_error_in;
	struct test_vm t;
	uint32_t flags;
	int r, fd;

	test_vm_create(&t, c->vm_type);
	if (c->stage == STAGE_VCPU_FIRST)
		t.vcpu = vm_vcpu_add(t.vm, 0, guest_code);
	if (c->stage >= STAGE_INIT)
		tdx_init_vm(t.vm);
	if (c->stage >= STAGE_VCPU)
		tdx_init_vcpu(&t);
	if (c->stage >= STAGE_FINAL)
		tdx_finalize(t.vm);
	data = default_params(c->id, &flags);
	if (c->size)
		memcpy((uint8_t *)params + c->off, &c->val, c->size);
	if (c->flags)
		flags = c->flags;
	if (c->prep)
		c->prep(&t, &data, &flags);

	fd = c->vcpu ? t.vcpu->fd : t.vm->fd;
	r = __tdx_cmd(fd, c->id, flags, data, &hw_error);
	TEST_ASSERT(r == -1 && errno == c->err, "%s: got %d (%s), expected %s",
		    c->name, r, strerror(errno), strerror(c->err));
	/* The module's status where it refused, else what went in. */
	TEST_ASSERT(hw_error == (c->hw_error ?: c->hw_error_in),
		    "%s: hw_error %#lx, expected %#lx", c->name, hw_error,
		    c->hw_error ?: c->hw_error_in);
	test_vm_free(&t);
	ksft_test_result_pass("%s: %s\n", c->name, strerror(c->err));
	return true;
}

/* ---- Behaviours ---------------------------------------------------------- */

static void test_vm_types(void)
{
	struct kvm_vm *vm;
	int types = kvm_check_cap(KVM_CAP_VM_TYPES);

	TEST_ASSERT(types & (1 << KVM_X86_TDX_VM),
		    "KVM_CAP_VM_TYPES %#x lacks KVM_X86_TDX_VM", types);
	TEST_ASSERT(types & (1 << KVM_X86_SW_PROTECTED_VM) &&
		    types & (1 << KVM_X86_DEFAULT_VM),
		    "KVM_CAP_VM_TYPES %#x lost types 0 or 1", types);
	vm = __vm_create_type(VM_MODE_DEFAULT, KVM_X86_TDX_VM, 1, 0);
	/* A NULL argument asks whether the commands exist. */
	TEST_ASSERT(!ioctl(vm->fd, KVM_MEMORY_ENCRYPT_OP, NULL),
		    "KVM_MEMORY_ENCRYPT_OP(NULL) on a TD: %s", strerror(errno));
	kvm_vm_free(vm);
	ksft_test_result_pass("KVM_X86_TDX_VM is reported and created\n");
}

static void test_capabilities(void)
{
	struct kvm_tdx_capabilities *caps = (void *)params;
	struct kvm_vm *vm = __vm_create_type(VM_MODE_DEFAULT, KVM_X86_TDX_VM, 1, 0);
	int i;

	memset(params, 0xff, sizeof(params));
	caps->cpuid.nent = 4;
	tdx_cmd(vm->fd, KVM_TDX_CAPABILITIES, 0, caps);
	TEST_ASSERT(caps->supported_attrs == TDX_ATTR_SEPT_VE_DISABLE &&
		    caps->supported_xfam == TDX_XFAM_FP_SSE,
		    "attributes %#llx xfam %#llx", caps->supported_attrs, caps->supported_xfam);
	TEST_ASSERT(caps->cpuid.nent == 1 && caps->cpuid.entries[0].function == 0x80000008 &&
		    caps->cpuid.entries[0].eax == 0xff && !caps->cpuid.entries[0].ebx,
		    "configurable CPUID: %u entries, first %#x eax %#x", caps->cpuid.nent,
		    caps->cpuid.entries[0].function, caps->cpuid.entries[0].eax);
	for (i = 0; i < ARRAY_SIZE(caps->reserved); i++)
		TEST_ASSERT(!caps->reserved[i], "reserved[%d] not cleared", i);
	TEST_ASSERT(!caps->kernel_tdvmcallinfo_1_r11 && !caps->user_tdvmcallinfo_1_r11,
		    "TDVMCALL information not cleared");
	kvm_vm_free(vm);
	ksft_test_result_pass("KVM_TDX_CAPABILITIES: attributes, XFAM and CPUID masks\n");
}

/*
 * Measured and unmeasured pages in three calls; the model's MRTD after
 * FINALIZE is the SHA-384 of the blocks computed here.
 */
static void test_mrtd(void)
{
	struct model_td before[64], after[64], td;
	struct mrtd_log log = {};
	uint8_t *src = source_pages(6, 0x3c), mrtd[MRTD_SIZE];
	struct test_vm t;
	int nb, na, i;

	test_vm_create(&t, KVM_X86_TDX_VM);
	nb = model_tds(before, 64);
	tdx_init_vm(t.vm);
	na = model_tds(after, 64);
	td = new_td(before, nb, after, na);
	TEST_ASSERT(td.op == 1 && !td.vcpus, "after INIT_VM: op %u vcpus %u", td.op, td.vcpus);
	tdx_init_vcpu(&t);

	tdx_init_mem_region(&t, TEST_GPA, src, 3, true);
	tdx_init_mem_region(&t, TEST_GPA + 5 * PAGE_SIZE, src + 3 * PAGE_SIZE, 2, false);
	tdx_init_mem_region(&t, TEST_GPA + 8 * PAGE_SIZE, src + 5 * PAGE_SIZE, 1, true);
	for (i = 0; i < 3; i++)
		mrtd_add_page(&log, src + i * PAGE_SIZE, TEST_GPA + i * PAGE_SIZE, true);
	for (i = 0; i < 2; i++)
		mrtd_add_page(&log, src + (3 + i) * PAGE_SIZE, TEST_GPA + (5 + i) * PAGE_SIZE,
			      false);
	mrtd_add_page(&log, src + 5 * PAGE_SIZE, TEST_GPA + 8 * PAGE_SIZE, true);
	sha384(log.buf, log.len, mrtd);
	tdx_finalize(t.vm);

	na = model_tds(after, 64);
	td = new_td(before, nb, after, na);
	TEST_ASSERT(td.op == TD_OP_RUNNABLE && td.vcpus == 1,
		    "after FINALIZE: op %u vcpus %u", td.op, td.vcpus);
	TEST_ASSERT(!memcmp(td.mrtd, mrtd, MRTD_SIZE), "the model's MRTD differs");
	test_vm_free(&t);
	free(log.buf);
	munmap(src, 6 * PAGE_SIZE);
	ksft_test_result_pass("the MRTD is the one computed from the pages loaded\n");
}

/* A region that fails part way says where the next call has to go on. */
static void test_region_progress(void)
{
	struct kvm_tdx_init_mem_region region = {
		.source_addr = (uintptr_t)src_page,
		.gpa = TEST_GPA,
		.nr_pages = 3,
	};
	uint64_t hw_error = 0;
	struct test_vm t;
	int r;

	/* The source page three times over: pages 0 and 1 go in, 2 is shared. */
	region.source_addr = (uintptr_t)source_pages(3, 1);
	test_vm_create(&t, KVM_X86_TDX_VM);
	tdx_init_vm(t.vm);
	tdx_init_vcpu(&t);
	vm_mem_set_shared(t.vm, TEST_GPA + 2 * PAGE_SIZE, PAGE_SIZE);
	r = __tdx_cmd(t.vcpu->fd, KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&region, &hw_error);
	TEST_ASSERT(r == -1 && errno == EINVAL && !hw_error, "partial region: %d (%s)", r,
		    strerror(errno));
	TEST_ASSERT(region.gpa == TEST_GPA + 2 * PAGE_SIZE && region.nr_pages == 1,
		    "region after the failure: gpa %llx, %llu pages", region.gpa,
		    region.nr_pages);
	test_vm_free(&t);
	ksft_test_result_pass("INIT_MEM_REGION reports its progress on failure\n");
}

/*
 * A TD's pages all go back: a punched launched page after FINALIZE (BLOCK,
 * TRACK, REMOVE, WBINVD), the rest at the file's release, the control and
 * S-EPT pages at the VM's end; the PAMT is as it was, nothing is left
 * unflushed, and the HKID is free.
 */
static void test_teardown(bool close_vm_first)
{
	struct model_td before[64], after[64], td;
	struct pamt_count start, c;
	struct test_vm t;
	uint8_t *src = source_pages(4, 0x77);
	int nb, na;

	start = model_pamt();
	test_vm_create(&t, KVM_X86_TDX_VM);
	nb = model_tds(before, 64);
	tdx_init_vm(t.vm);
	na = model_tds(after, 64);
	td = new_td(before, nb, after, na);
	tdx_init_vcpu(&t);
	tdx_init_mem_region(&t, TEST_GPA, src, 4, true);
	c = model_pamt();
	/* TDCS pages and TDVPX pages, three S-EPT tables below the root. */
	TEST_ASSERT(c.reg == start.reg + 4 && c.tdr == start.tdr + 1 &&
		    c.tdcx == start.tdcx + 4 + 5 && c.tdvpr == start.tdvpr + 1 &&
		    c.ept == start.ept + 3,
		    "launched: reg %lu tdr %lu tdcx %lu tdvpr %lu ept %lu", c.reg, c.tdr,
		    c.tdcx, c.tdvpr, c.ept);
	tdx_finalize(t.vm);

	guest_memfd_punch_hole(t.gmem_fd, PAGE_SIZE, PAGE_SIZE);
	c = model_pamt();
	TEST_ASSERT(c.reg == start.reg + 3 && c.unflushed == start.unflushed,
		    "after a punch: reg %lu unflushed %lu", c.reg, c.unflushed);

	if (close_vm_first) {
		kvm_vm_free(t.vm);
		/* The file holds the VM: the TD lives on with its pages. */
		TEST_ASSERT(model_has_td(td.tdr), "TD gone while its guest_memfd is open");
		close(t.gmem_fd);
	} else {
		close(t.gmem_fd);
		c = model_pamt();
		TEST_ASSERT(c.reg == start.reg, "file closed: %lu pages still the TD's", c.reg);
		kvm_vm_free(t.vm);
	}
	TEST_ASSERT(!model_has_td(td.tdr), "the TD still holds HKID %u", td.hkid);
	assert_pamt_equal(model_pamt(), start, "after teardown");
	munmap(src, 4 * PAGE_SIZE);
	ksft_test_result_pass("every page back after a punch and teardown (%s first)\n",
			      close_vm_first ? "VM" : "guest_memfd");
}

/* Registers are the host's until FINALIZE, the TD's after it. */
static void test_protected_state(void)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct test_vm t;

	test_vm_create(&t, KVM_X86_TDX_VM);
	tdx_init_vm(t.vm);
	tdx_init_vcpu(&t);
	TEST_ASSERT(!__vcpu_ioctl(t.vcpu, KVM_GET_REGS, &regs), "KVM_GET_REGS before FINALIZE");
	tdx_finalize(t.vm);
	TEST_ASSERT(__vcpu_ioctl(t.vcpu, KVM_GET_REGS, &regs) == -1 && errno == EINVAL,
		    "KVM_GET_REGS after FINALIZE: %s", strerror(errno));
	TEST_ASSERT(__vcpu_ioctl(t.vcpu, KVM_SET_REGS, &regs) == -1 && errno == EINVAL,
		    "KVM_SET_REGS after FINALIZE: %s", strerror(errno));
	TEST_ASSERT(__vcpu_ioctl(t.vcpu, KVM_GET_SREGS, &sregs) == -1 && errno == EINVAL,
		    "KVM_GET_SREGS after FINALIZE: %s", strerror(errno));
	test_vm_free(&t);
	ksft_test_result_pass("register ioctls fail with EINVAL after FINALIZE\n");
}

/* The TD's CPUID: GuestPhysAddrSize is the GPAW, the width as configured. */
static void test_get_cpuid(void)
{
	struct kvm_tdx_init_vm *init = calloc(1, sizeof(*init) + sizeof(init->cpuid.entries[0]));
	struct kvm_cpuid2 *cpuid = (void *)params;
	struct test_vm t;
	uint32_t eax;

	test_vm_create(&t, KVM_X86_TDX_VM);
	TEST_ASSERT(init, "calloc");
	init->xfam = TDX_XFAM_FP_SSE;
	init->cpuid.nent = 1;
	init->cpuid.entries[0].function = 0x80000008;
	init->cpuid.entries[0].eax = 46;
	tdx_cmd(t.vm->fd, KVM_TDX_INIT_VM, 0, init);
	tdx_init_vcpu(&t);

	memset(params, 0, sizeof(params));
	TEST_ASSERT(__tdx_cmd(t.vcpu->fd, KVM_TDX_GET_CPUID, 0, (uintptr_t)cpuid, NULL) == -1 &&
		    errno == E2BIG && cpuid->nent == 1,
		    "GET_CPUID with no room: %s, nent %u", strerror(errno), cpuid->nent);
	cpuid->nent = 4;
	tdx_cmd(t.vcpu->fd, KVM_TDX_GET_CPUID, 0, cpuid);
	eax = cpuid->entries[0].eax;
	TEST_ASSERT(cpuid->nent == 1 && cpuid->entries[0].function == 0x80000008 &&
		    (eax >> 16 & 0xff) == 48 && (eax & 0xff) == 46,
		    "CPUID 0x80000008 EAX %#x (%u entries)", eax, cpuid->nent);
	test_vm_free(&t);
	free(init);
	ksft_test_result_pass("GET_CPUID: GuestPhysAddrSize 48, E2BIG with the size\n");
}

/* ---- A running TD: TDCALL, ACCEPT after AUG, ReportFatalError ---------- */

/* TDCALL leaves and TDG.VP.VMCALL<ReportFatalError> (GHCI). */
#define TDG_VP_VMCALL			0
#define TDG_VP_INFO			1
#define TDG_MEM_PAGE_ACCEPT		6
#define TDVMCALL_REPORT_FATAL_ERROR	0x10003ull
#define TDX_PAGE_ALREADY_ACCEPTED	0x00000B0A00000000ull
/* What the guests report with, and the error code they die with. */
#define TD_REPORT_PORT			0x4242
#define TD_FATAL_CODE			0x7d5ull
/* A page of the TEST_GPA slot that the launch image leaves out. */
#define TD_AUG_GPA			(TEST_GPA + 2 * PAGE_SIZE)
/* Where the TD sees the TEST_GPA slot through its shared-bit alias. */
#define TD_ALIAS_VA			0x300000000ull
#define TD_AUG_ALIAS_VA			(TD_ALIAS_VA + TD_AUG_GPA - TEST_GPA)
#define TD_PATTERN			0x5a5aa5a5u

/*
 * The TD's registers are its own after FINALIZE: no ucall (it reads them),
 * each value the guest reports is a 32-bit OUT that user space reads from
 * kvm_run.
 */
static void td_report(uint32_t v)
{
	asm volatile("outl %0, %w1" : : "a"(v), "Nd"(TD_REPORT_PORT) : "memory");
}

static uint64_t td_tdcall(uint64_t leaf, uint64_t rcx, uint64_t *rcx_out)
{
	uint64_t rax = leaf;

	asm volatile(".byte 0x66, 0x0f, 0x01, 0xcc"
		     : "+a"(rax), "+c"(rcx)
		     : : "rdx", "r8", "r9", "r10", "r11", "memory");
	if (rcx_out)
		*rcx_out = rcx;
	return rax;
}

static void __attribute__((noreturn)) td_fatal(uint64_t code)
{
	register uint64_t r10 asm("r10") = 0;
	register uint64_t r11 asm("r11") = TDVMCALL_REPORT_FATAL_ERROR;
	register uint64_t r12 asm("r12") = code;

	for (;;)
		asm volatile(".byte 0x66, 0x0f, 0x01, 0xcc"
			     : : "a"((uint64_t)TDG_VP_VMCALL), "c"(0ull), "r"(r10),
			       "r"(r11), "r"(r12) : "memory");
}

static void guest_vp_info(void)
{
	uint64_t gpaw, status = td_tdcall(TDG_VP_INFO, 0, &gpaw);

	td_report(status >> 32);
	td_report(gpaw);
	td_fatal(TD_FATAL_CODE);
}

static void guest_accept(void)
{
	volatile uint32_t *launched = (void *)TEST_GPA, *aug = (void *)TD_AUG_GPA;

	td_report(*launched);
	td_report(td_tdcall(TDG_MEM_PAGE_ACCEPT, TD_AUG_GPA, NULL) >> 32);
	td_report(*aug);
	*aug = TD_PATTERN;
	td_report(*aug);
	td_report(td_tdcall(TDG_MEM_PAGE_ACCEPT, TD_AUG_GPA, NULL) >> 32);
	td_fatal(TD_FATAL_CODE);
}

/* A TD with @guest on its vCPU and one measured page, finalized. */
static void td_launch_running(struct test_vm *t, void *guest, uint8_t *src)
{
	test_vm_create(t, KVM_X86_TDX_VM);
	tdx_init_vm(t->vm);
	t->vcpu = vm_vcpu_add(t->vm, 0, guest);
	TEST_ASSERT(!__tdx_cmd(t->vcpu->fd, KVM_TDX_INIT_VCPU, 0, 0, NULL),
		    "KVM_TDX_INIT_VCPU: %s", strerror(errno));
	virt_map(t->vm, TEST_GPA, TEST_GPA, TEST_NPAGES);
	virt_map(t->vm, TD_ALIAS_VA, TEST_GPA | TDX_SHARED_BIT, TEST_NPAGES);
	tdx_init_mem_region(t, TEST_GPA, src, 1, true);
	tdx_finalize(t->vm);
}

/* The next value the TD reports. */
static uint32_t td_next_report(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	TEST_ASSERT(!__vcpu_run(vcpu), "KVM_RUN: %s", strerror(errno));
	TEST_ASSERT(run->exit_reason == KVM_EXIT_IO && run->io.port == TD_REPORT_PORT &&
		    run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 4,
		    "expected a report, got exit %s", exit_reason_str(run->exit_reason));
	/* Whatever the TD did up to here, the S-EPT still rules its mappings. */
	tdx_audit_assert("a TD's report");
	return *(uint32_t *)((uint8_t *)run + run->io.data_offset);
}

/* The TD died with TD_FATAL_CODE, as upstream tells user space. */
static void td_expect_fatal(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	TEST_ASSERT(!__vcpu_run(vcpu), "KVM_RUN: %s", strerror(errno));
	TEST_ASSERT(run->exit_reason == KVM_EXIT_SYSTEM_EVENT &&
		    run->system_event.type == KVM_SYSTEM_EVENT_TDX_FATAL &&
		    run->system_event.ndata == 16 &&
		    run->system_event.data[0] == TDG_VP_VMCALL &&
		    run->system_event.data[10] == 0 &&
		    run->system_event.data[11] == TDVMCALL_REPORT_FATAL_ERROR &&
		    run->system_event.data[12] == TD_FATAL_CODE,
		    "fatal error: exit %s type %u ndata %u r10 %llx r11 %llx r12 %llx",
		    exit_reason_str(run->exit_reason), run->system_event.type,
		    run->system_event.ndata, run->system_event.data[10],
		    run->system_event.data[11], run->system_event.data[12]);
}

/* TDG.VP.INFO from a running TD: success, GPAW 48. */
static void test_td_vp_info(void)
{
	uint8_t *src = source_pages(1, 0x31);
	struct test_vm t;
	uint32_t status, gpaw;

	td_launch_running(&t, guest_vp_info, src);
	status = td_next_report(t.vcpu);
	gpaw = td_next_report(t.vcpu);
	TEST_ASSERT(!status && gpaw == 48, "TDG.VP.INFO: status %#x GPAW %u", status, gpaw);
	td_expect_fatal(t.vcpu);
	tdx_audit_assert("TDG.VP.INFO");
	test_vm_free(&t);
	munmap(src, PAGE_SIZE);
	ksft_test_result_pass("a running TD reads GPAW 48 with TDG.VP.INFO\n");
}

/*
 * The launched page is mapped with its content; a page outside the image
 * is AUGed when the guest ACCEPTs it, comes zeroed, takes writes, and a
 * second ACCEPT says it is accepted already.  Teardown gives it back.
 */
static void test_td_accept(void)
{
	uint8_t *src = source_pages(1, 0x53);
	struct pamt_count start = model_pamt(), c;
	struct test_vm t;
	uint32_t v;

	td_launch_running(&t, guest_accept, src);
	v = td_next_report(t.vcpu);
	TEST_ASSERT(v == *(uint32_t *)src, "launched page reads %#x, loaded %#x",
		    v, *(uint32_t *)src);
	v = td_next_report(t.vcpu);
	TEST_ASSERT(!v, "ACCEPT of a page outside the image: status %#x", v);
	c = model_pamt();
	TEST_ASSERT(c.reg == start.reg + 2, "after ACCEPT: %lu TD pages, expected %lu",
		    c.reg - start.reg, 2ul);
	v = td_next_report(t.vcpu);
	TEST_ASSERT(!v, "accepted page reads %#x, not zero", v);
	v = td_next_report(t.vcpu);
	TEST_ASSERT(v == TD_PATTERN, "accepted page reads back %#x", v);
	v = td_next_report(t.vcpu);
	TEST_ASSERT(v == TDX_PAGE_ALREADY_ACCEPTED >> 32,
		    "second ACCEPT: status %#x", v);
	td_expect_fatal(t.vcpu);
	TEST_ASSERT(tdx_audit_assert("ACCEPT").checked >= 2,
		    "the audit saw no private NPT entries of the TD");
	test_vm_free(&t);
	assert_pamt_equal(model_pamt(), start, "after a running TD");
	munmap(src, PAGE_SIZE);
	ksft_test_result_pass("a TD accepts an AUGed page, uses it, and gives it back\n");
}

/* ---- Conversions: the page leaves the S-EPT, comes back PENDING -------- */

#define TD_SHARED_PATTERN		0x0f0f5aa5u
#define TD_HOST_PATTERN			0x7e57c0deu

/*
 * Accept a page and fill it; while the VMM has it shared, read what the
 * VMM wrote at the GPA and write back; once it is private again, accept
 * it anew (it was out of the TD) and read it.
 */
static void guest_convert(void)
{
	volatile uint32_t *aug = (void *)TD_AUG_GPA;

	td_report(td_tdcall(TDG_MEM_PAGE_ACCEPT, TD_AUG_GPA, NULL) >> 32);
	*aug = TD_PATTERN;
	td_report(*aug);
	/* The VMM made the GPA shared. */
	td_report(*aug);
	*aug = TD_SHARED_PATTERN;
	td_report(0);
	/* Private again. */
	td_report(td_tdcall(TDG_MEM_PAGE_ACCEPT, TD_AUG_GPA, NULL) >> 32);
	td_report(*aug);
	td_fatal(TD_FATAL_CODE);
}

/*
 * KVM_SET_MEMORY_ATTRIBUTES takes a TD's accepted page to shared and back
 * with the page left in its guest_memfd (or punched while shared): the
 * conversion removes it from the S-EPT (the PAMT loses it at once and
 * nothing is left unflushed), shared accesses reach the VMM's memory, and
 * back to private the page is AUGed again, PENDING: the guest's ACCEPT
 * succeeds (not PAGE_ALREADY_ACCEPTED) and the page reads zero, punched or
 * not, as the module zeroes what it accepts.
 */
static void test_td_convert(bool punch)
{
	uint8_t *src = source_pages(1, 0x29);
	struct pamt_count start = model_pamt(), c;
	volatile uint32_t *host;
	struct test_vm t;
	uint32_t v;

	td_launch_running(&t, guest_convert, src);
	host = addr_gpa2hva(t.vm, TD_AUG_GPA);
	*host = TD_HOST_PATTERN;
	v = td_next_report(t.vcpu);
	TEST_ASSERT(!v, "first ACCEPT: status %#x", v);
	v = td_next_report(t.vcpu);
	TEST_ASSERT(v == TD_PATTERN, "accepted page reads back %#x", v);
	c = model_pamt();
	TEST_ASSERT(c.reg == start.reg + 2, "accepted: %lu TD pages", c.reg - start.reg);

	vm_mem_set_shared(t.vm, TD_AUG_GPA, PAGE_SIZE);
	c = model_pamt();
	TEST_ASSERT(c.reg == start.reg + 1 && c.unflushed == start.unflushed,
		    "shared: %lu TD pages, %lu unflushed", c.reg - start.reg,
		    c.unflushed - start.unflushed);
	if (punch)
		guest_memfd_punch_hole(t.gmem_fd, TD_AUG_GPA - TEST_GPA, PAGE_SIZE);
	v = td_next_report(t.vcpu);
	TEST_ASSERT(v == TD_HOST_PATTERN, "shared GPA reads %#x, the VMM wrote %#x",
		    v, TD_HOST_PATTERN);
	td_next_report(t.vcpu);
	TEST_ASSERT(*host == TD_SHARED_PATTERN, "the VMM reads %#x, the TD wrote %#x",
		    *host, TD_SHARED_PATTERN);

	vm_mem_set_private(t.vm, TD_AUG_GPA, PAGE_SIZE);
	c = model_pamt();
	TEST_ASSERT(c.reg == start.reg + 1, "private again, not faulted: %lu TD pages",
		    c.reg - start.reg);
	v = td_next_report(t.vcpu);
	TEST_ASSERT(!v, "ACCEPT after the round trip: status %#x", v);
	c = model_pamt();
	TEST_ASSERT(c.reg == start.reg + 2, "accepted again: %lu TD pages", c.reg - start.reg);
	v = td_next_report(t.vcpu);
	TEST_ASSERT(!v, "re-accepted page reads %#x, not zero", v);
	td_expect_fatal(t.vcpu);
	test_vm_free(&t);
	assert_pamt_equal(model_pamt(), start, "after the conversions");
	munmap(src, PAGE_SIZE);
	ksft_test_result_pass("a converted page leaves the S-EPT and is accepted anew (%s)\n",
			      punch ? "punched while shared" : "kept in the file");
}

/* ---- TDG.VP.VMCALL<MapGPA> ---------------------------------------------- */

#define TDVMCALL_MAP_GPA		0x10001ull
#define TDVMCALL_RETRY			1ull
#define TDVMCALL_INVALID_OPERAND	0x8000000000000000ull
#define TDVMCALL_ALIGN_ERROR		0x8000000000000002ull

/* Where and how much the conversion guests convert (set by the host). */
static uint64_t map_base, map_size;

/* MapGPA: the status (R10), and R11, where a RETRY goes on. */
static uint64_t td_map_gpa(uint64_t gpa, uint64_t size, uint64_t *r11_out)
{
	register uint64_t r10 asm("r10") = 0;
	register uint64_t r11 asm("r11") = TDVMCALL_MAP_GPA;
	register uint64_t r12 asm("r12") = gpa;
	register uint64_t r13 asm("r13") = size;
	uint64_t rax = TDG_VP_VMCALL;

	/* RCX: the registers the TD hands the VMM, R10 to R13. */
	asm volatile(".byte 0x66, 0x0f, 0x01, 0xcc"
		     : "+a"(rax), "+r"(r10), "+r"(r11)
		     : "c"(0x3c00ull), "r"(r12), "r"(r13)
		     : "rdx", "r8", "r9", "memory");
	if (r11_out)
		*r11_out = r11;
	return r10;
}

static void td_report64(uint64_t v)
{
	td_report(v);
	td_report(v >> 32);
}

/* The value the current exit reports. */
static uint32_t td_report_value(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	TEST_ASSERT(run->exit_reason == KVM_EXIT_IO && run->io.port == TD_REPORT_PORT &&
		    run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 4,
		    "expected a report, got exit %s", exit_reason_str(run->exit_reason));
	/* Whatever the TD did up to here, the S-EPT still rules its mappings. */
	tdx_audit_assert("a TD's report");
	return *(uint32_t *)((uint8_t *)run + run->io.data_offset);
}

static uint64_t td_next_report64(struct kvm_vcpu *vcpu)
{
	uint64_t lo = td_next_report(vcpu);

	return lo | (uint64_t)td_next_report(vcpu) << 32;
}

/* The KVM_HC_MAP_GPA_RANGE exits user space saw, in order. */
struct map_exits {
	int n;
	uint64_t gpa[8], npages[8], attrs[8];
};

/*
 * Run the TD to its next report, serving its MapGPA exits as a VMM does:
 * set the attributes of the range (and punch its private pages out of the
 * guest_memfd when @punch and the range goes shared), answer @ret.
 */
static uint32_t td_serve_map_gpa(struct test_vm *t, bool punch, uint64_t ret,
				 struct map_exits *e)
{
	struct kvm_run *run = t->vcpu->run;
	uint64_t gpa, size, first, last;

	for (;;) {
		TEST_ASSERT(!__vcpu_run(t->vcpu), "KVM_RUN: %s", strerror(errno));
		if (run->exit_reason != KVM_EXIT_HYPERCALL)
			return td_report_value(t->vcpu);
		TEST_ASSERT(is_map_gpa_range_exit(run) && e->n < ARRAY_SIZE(e->gpa),
			    "hypercall %llu, exit %d", run->hypercall.nr, e->n);
		gpa = run->hypercall.args[0];
		size = run->hypercall.args[1] * PAGE_SIZE;
		e->gpa[e->n] = gpa;
		e->npages[e->n] = run->hypercall.args[1];
		e->attrs[e->n++] = run->hypercall.args[2];
		if (!ret) {
			vm_set_memory_attributes(t->vm, gpa, size,
						 run->hypercall.args[2] &
						 KVM_MAP_GPA_RANGE_ENCRYPTED ?
						 KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);
			first = max_t(uint64_t, gpa, TEST_GPA);
			last = min_t(uint64_t, gpa + size, TEST_GPA + TEST_SIZE);
			if (punch && first < last &&
			    !(run->hypercall.args[2] & KVM_MAP_GPA_RANGE_ENCRYPTED))
				guest_memfd_punch_hole(t->gmem_fd, first - TEST_GPA,
						       last - first);
		}
		run->hypercall.ret = ret;
	}
}

/*
 * Accept a page, convert the range around it to shared with MapGPA, read
 * what the VMM wrote there and write back through the shared-bit alias,
 * convert it to private again, accept the page anew and read it; then
 * read the alias of the private page.
 */
static void guest_map_convert(void)
{
	volatile uint32_t *aug = (void *)TD_AUG_GPA, *alias = (void *)TD_AUG_ALIAS_VA;

	td_report(td_tdcall(TDG_MEM_PAGE_ACCEPT, TD_AUG_GPA, NULL) >> 32);
	*aug = TD_PATTERN;
	td_report64(td_map_gpa(map_base | TDX_SHARED_BIT, map_size, NULL));
	td_report(*alias);
	*alias = TD_SHARED_PATTERN;
	td_report64(td_map_gpa(map_base, map_size, NULL));
	td_report(td_tdcall(TDG_MEM_PAGE_ACCEPT, TD_AUG_GPA, NULL) >> 32);
	td_report(*aug);
	td_report(*alias);
	td_fatal(TD_FATAL_CODE);
}

/*
 * The TD reads the alias of a GPA that is private: user space hears of a
 * shared access to the GPA without the shared bit, converts it, and the
 * read goes on.
 */
static void td_expect_alias_fault(struct test_vm *t)
{
	struct kvm_run *run = t->vcpu->run;

	TEST_ASSERT(__vcpu_run(t->vcpu) == -1 && errno == EFAULT &&
		    run->exit_reason == KVM_EXIT_MEMORY_FAULT,
		    "alias of a private GPA: %s, exit %s", strerror(errno),
		    exit_reason_str(run->exit_reason));
	TEST_ASSERT(run->memory_fault.gpa == TD_AUG_GPA &&
		    run->memory_fault.size == PAGE_SIZE && !run->memory_fault.flags,
		    "memory fault: gpa %#llx size %#llx flags %#llx",
		    run->memory_fault.gpa, run->memory_fault.size,
		    run->memory_fault.flags);
	vm_mem_set_shared(t->vm, TD_AUG_GPA, PAGE_SIZE);
}

/* Each exit of @e asks for [@gpa, +@npages) with @attrs, 2 MiB at most. */
static void assert_map_exits(struct map_exits *e, uint64_t gpa, uint64_t npages,
			     uint64_t attrs)
{
	uint64_t chunk = SZ_2M / PAGE_SIZE, n;
	int i;

	TEST_ASSERT(e->n == (npages + chunk - 1) / chunk, "%d MapGPA exits for %lu pages",
		    e->n, npages);
	for (i = 0; i < e->n; i++, gpa += chunk * PAGE_SIZE, npages -= n) {
		n = min(npages, chunk);
		TEST_ASSERT(e->gpa[i] == gpa && e->npages[i] == n && e->attrs[i] == attrs,
			    "exit %d: gpa %#lx npages %lu attrs %#lx, expected %#lx %lu %#lx",
			    i, e->gpa[i], e->npages[i], e->attrs[i], gpa, n, attrs);
	}
	e->n = 0;
}

/*
 * A TD converts [@base, +@size) around an accepted page to shared and back
 * with MapGPA; the VMM converts with KVM_SET_MEMORY_ATTRIBUTES and, with
 * @punch, punches the range while it is shared.  User space sees the
 * range without the shared bit, in 2 MiB exits; the S-EPT loses the
 * range's pages at the conversion to shared and gets the page back,
 * PENDING, when the guest accepts it again (zeroed, punched or not, as the
 * module zeroes what it accepts); shared data, read and written through
 * the shared-bit alias, is the VMM's, and the alias of a private GPA is
 * a KVM_EXIT_MEMORY_FAULT (so the alias mapping went with the conversion).
 */
static void test_td_map_gpa_convert(uint64_t base, uint64_t size, bool punch)
{
	uint8_t *src = source_pages(1, 0x4d);
	struct pamt_count start = model_pamt(), c;
	/* The launched page at TEST_GPA is in the range or not. */
	unsigned long launched = base > TEST_GPA ? 1 : 0;
	struct map_exits e = {};
	volatile uint32_t *host;
	struct test_vm t;
	uint32_t v;

	map_base = base;
	map_size = size;
	td_launch_running(&t, guest_map_convert, src);
	sync_global_to_guest(t.vm, map_base);
	sync_global_to_guest(t.vm, map_size);
	vm_enable_map_gpa_range_exits(t.vm);
	host = addr_gpa2hva(t.vm, TD_AUG_GPA);
	*host = TD_HOST_PATTERN;

	v = td_next_report(t.vcpu);
	TEST_ASSERT(!v, "ACCEPT: status %#x", v);
	v = td_serve_map_gpa(&t, punch, 0, &e);
	TEST_ASSERT(!v && !td_next_report(t.vcpu), "MapGPA to shared: status %#x", v);
	assert_map_exits(&e, base, size / PAGE_SIZE,
			 KVM_MAP_GPA_RANGE_DECRYPTED | KVM_MAP_GPA_RANGE_PAGE_SZ_4K);
	c = model_pamt();
	TEST_ASSERT(c.reg == start.reg + launched && c.unflushed == start.unflushed,
		    "shared: %lu TD pages, expected %lu; %lu unflushed", c.reg - start.reg,
		    launched, c.unflushed - start.unflushed);
	v = td_next_report(t.vcpu);
	TEST_ASSERT(v == TD_HOST_PATTERN, "shared alias reads %#x, the VMM wrote %#x",
		    v, TD_HOST_PATTERN);

	v = td_serve_map_gpa(&t, punch, 0, &e);
	TEST_ASSERT(!v && !td_next_report(t.vcpu), "MapGPA to private: status %#x", v);
	TEST_ASSERT(*host == TD_SHARED_PATTERN, "the VMM reads %#x, the TD wrote %#x",
		    *host, TD_SHARED_PATTERN);
	assert_map_exits(&e, base, size / PAGE_SIZE,
			 KVM_MAP_GPA_RANGE_ENCRYPTED | KVM_MAP_GPA_RANGE_PAGE_SZ_4K);
	v = td_next_report(t.vcpu);
	TEST_ASSERT(!v, "ACCEPT after the round trip: status %#x", v);
	c = model_pamt();
	TEST_ASSERT(c.reg == start.reg + launched + 1, "accepted again: %lu TD pages",
		    c.reg - start.reg);
	v = td_next_report(t.vcpu);
	TEST_ASSERT(!v, "re-accepted page reads %#x, not zero", v);
	td_expect_alias_fault(&t);
	v = td_next_report(t.vcpu);
	TEST_ASSERT(v == TD_SHARED_PATTERN, "alias after the fault reads %#x", v);
	td_expect_fatal(t.vcpu);
	test_vm_free(&t);
	assert_pamt_equal(model_pamt(), start, "after MapGPA conversions");
	munmap(src, PAGE_SIZE);
	ksft_test_result_pass("MapGPA converts %s to shared (alias) and back%s\n",
			      size == PAGE_SIZE ? "4 KiB" : "2 MiB",
			      punch ? ", punched while shared" : "");
}

/* A MapGPA the guest makes, what user space answers, what the guest hears. */
struct map_gpa_case {
	const char *name;
	uint64_t gpa, size;
	bool exits;		/* reaches user space, which answers @ret */
	uint64_t ret;
	uint64_t status, r11;
};

static const struct map_gpa_case map_gpa_cases[] = {
	/* First, before user space enables the exits. */
	{ "no KVM_CAP_EXIT_HYPERCALL", TD_AUG_GPA, PAGE_SIZE, false, 0,
	  TDVMCALL_INVALID_OPERAND, TD_AUG_GPA },
	{ "unaligned start", TD_AUG_GPA + 8, PAGE_SIZE, false, 0,
	  TDVMCALL_ALIGN_ERROR, TD_AUG_GPA + 8 },
	{ "unaligned size", TD_AUG_GPA, 100, false, 0, TDVMCALL_ALIGN_ERROR, TD_AUG_GPA },
	{ "empty", TD_AUG_GPA, 0, false, 0, TDVMCALL_INVALID_OPERAND, TD_AUG_GPA },
	{ "across the shared bit", TDX_SHARED_BIT - PAGE_SIZE, 2 * PAGE_SIZE, false, 0,
	  TDVMCALL_INVALID_OPERAND, TDX_SHARED_BIT - PAGE_SIZE },
	{ "beyond the GPAW", BIT_ULL(48), PAGE_SIZE, false, 0,
	  TDVMCALL_INVALID_OPERAND, BIT_ULL(48) },
	{ "wrapping", -PAGE_SIZE, 2 * PAGE_SIZE, false, 0,
	  TDVMCALL_INVALID_OPERAND, -PAGE_SIZE },
	{ "user space refuses", TD_AUG_GPA | TDX_SHARED_BIT, PAGE_SIZE, true, -EINVAL,
	  TDVMCALL_INVALID_OPERAND, TD_AUG_GPA | TDX_SHARED_BIT },
	{ "user space asks to retry", TD_AUG_GPA, PAGE_SIZE, true, -EAGAIN,
	  TDVMCALL_RETRY, TD_AUG_GPA },
};

static void guest_map_gpa_cases(void)
{
	uint64_t r11;
	int i;

	for (i = 0; i < ARRAY_SIZE(map_gpa_cases); i++) {
		td_report64(td_map_gpa(map_gpa_cases[i].gpa, map_gpa_cases[i].size, &r11));
		td_report64(r11);
	}
	td_fatal(TD_FATAL_CODE);
}

/*
 * Bad MapGPAs get the GHCI's statuses in R10 and reach no one; a refusal
 * from user space is INVALID_OPERAND, its -EAGAIN a RETRY at the chunk.
 */
static void test_td_map_gpa_errors(void)
{
	uint8_t *src = source_pages(1, 0x61);
	const struct map_gpa_case *c;
	struct map_exits e = {};
	uint64_t status, r11;
	struct test_vm t;
	int i;

	td_launch_running(&t, guest_map_gpa_cases, src);
	for (i = 0; i < ARRAY_SIZE(map_gpa_cases); i++) {
		c = &map_gpa_cases[i];
		status = td_serve_map_gpa(&t, false, c->ret, &e);
		status |= (uint64_t)td_next_report(t.vcpu) << 32;
		r11 = td_next_report64(t.vcpu);
		TEST_ASSERT(e.n == c->exits && status == c->status && r11 == c->r11,
			    "%s: %d exits, status %#lx R11 %#lx, expected %#lx %#lx",
			    c->name, e.n, status, r11, c->status, c->r11);
		e.n = 0;
		if (!i)
			vm_enable_map_gpa_range_exits(t.vm);
	}
	td_expect_fatal(t.vcpu);
	test_vm_free(&t);
	munmap(src, PAGE_SIZE);
	ksft_test_result_pass("%zu bad MapGPAs get the GHCI's statuses\n",
			      ARRAY_SIZE(map_gpa_cases));
}

/* MapGPA of 4 MiB from TEST_GPA; a RETRY is taken up from R11. */
static void guest_map_gpa_retry(void)
{
	uint64_t gpa = TEST_GPA | TDX_SHARED_BIT, end = gpa + 2 * SZ_2M, r11, status;

	status = td_map_gpa(gpa, end - gpa, &r11);
	td_report64(status);
	td_report64(r11);
	if (status == TDVMCALL_RETRY)
		td_report64(td_map_gpa(r11, end - r11, NULL));
	td_fatal(TD_FATAL_CODE);
}

static void sigusr1_nop(int sig)
{
}

/*
 * A signal that arrives while user space converts the first 2 MiB chunk
 * ends the MapGPA after it: KVM_RUN returns EINTR and the guest hears
 * RETRY with R11 at the second chunk, from where it goes on.
 */
static void test_td_map_gpa_retry(void)
{
	/* KVM_SET_SIGNAL_MASK: the kernel's 8-byte sigset, empty. */
	uint8_t buf[sizeof(struct kvm_signal_mask) + 8] = {};
	struct kvm_signal_mask *run_mask = (void *)buf;
	uint8_t *src = source_pages(1, 0x19);
	struct map_exits e = {};
	struct kvm_run *run;
	struct test_vm t;
	sigset_t usr1, old;
	uint64_t status;
	int sig;

	td_launch_running(&t, guest_map_gpa_retry, src);
	vm_enable_map_gpa_range_exits(t.vm);
	run = t.vcpu->run;
	TEST_ASSERT(!__vcpu_run(t.vcpu) && is_map_gpa_range_exit(run) &&
		    run->hypercall.args[0] == TEST_GPA && run->hypercall.args[1] == 512,
		    "first chunk: exit %s", exit_reason_str(run->exit_reason));
	vm_mem_set_shared(t.vm, TEST_GPA, SZ_2M);
	run->hypercall.ret = 0;

	/* SIGUSR1 pending, blocked but while in KVM_RUN. */
	signal(SIGUSR1, sigusr1_nop);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	TEST_ASSERT(!sigprocmask(SIG_BLOCK, &usr1, &old), "sigprocmask");
	run_mask->len = 8;
	vcpu_ioctl(t.vcpu, KVM_SET_SIGNAL_MASK, run_mask);
	raise(SIGUSR1);
	TEST_ASSERT(__vcpu_run(t.vcpu) == -1 && errno == EINTR &&
		    run->exit_reason == KVM_EXIT_INTR,
		    "KVM_RUN with a signal: %s, exit %s", strerror(errno),
		    exit_reason_str(run->exit_reason));
	TEST_ASSERT(!sigwait(&usr1, &sig) && sig == SIGUSR1, "sigwait");
	TEST_ASSERT(!sigprocmask(SIG_SETMASK, &old, NULL), "sigprocmask");

	status = td_next_report64(t.vcpu);
	TEST_ASSERT(status == TDVMCALL_RETRY, "interrupted MapGPA: status %#lx", status);
	status = td_next_report64(t.vcpu);
	TEST_ASSERT(status == ((TEST_GPA + SZ_2M) | TDX_SHARED_BIT),
		    "RETRY at %#lx", status);
	status = td_serve_map_gpa(&t, false, 0, &e);
	status |= (uint64_t)td_next_report(t.vcpu) << 32;
	TEST_ASSERT(!status, "the rest: status %#lx", status);
	assert_map_exits(&e, TEST_GPA + SZ_2M, 512,
			 KVM_MAP_GPA_RANGE_DECRYPTED | KVM_MAP_GPA_RANGE_PAGE_SZ_4K);
	td_expect_fatal(t.vcpu);
	test_vm_free(&t);
	munmap(src, PAGE_SIZE);
	ksft_test_result_pass("a signal between MapGPA chunks is a RETRY at the next\n");
}

/* ReportFatalError ends KVM_RUN as upstream's KVM_SYSTEM_EVENT_TDX_FATAL. */
static void test_td_fatal_error(void)
{
	uint8_t *src = source_pages(1, 0x75);
	struct test_vm t;

	td_launch_running(&t, guest_vp_info, src);
	td_next_report(t.vcpu);
	td_next_report(t.vcpu);
	td_expect_fatal(t.vcpu);
	/* The TD does not come back from it. */
	td_expect_fatal(t.vcpu);
	tdx_audit_assert("ReportFatalError");
	test_vm_free(&t);
	munmap(src, PAGE_SIZE);
	ksft_test_result_pass("ReportFatalError exits with KVM_SYSTEM_EVENT_TDX_FATAL\n");
}

int main(int argc, char *argv[])
{
	int i;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & (1 << KVM_X86_TDX_VM));
	TEST_REQUIRE(!access(MODEL_TDS, R_OK));
	sha384_init_constants();
	src_page = source_pages(1, 0x11);

	ksft_print_header();
	ksft_set_plan(21 + ARRAY_SIZE(errno_cases));
	sha384_selftest();
	test_vm_types();
	test_capabilities();
	test_mrtd();
	test_region_progress();
	test_teardown(false);
	test_teardown(true);
	test_protected_state();
	test_get_cpuid();
	test_td_vp_info();
	test_td_accept();
	test_td_fatal_error();
	test_td_convert(false);
	test_td_convert(true);
	test_td_map_gpa_convert(TD_AUG_GPA, PAGE_SIZE, false);
	test_td_map_gpa_convert(TD_AUG_GPA, PAGE_SIZE, true);
	test_td_map_gpa_convert(TEST_GPA, SZ_2M, false);
	test_td_map_gpa_convert(TEST_GPA, SZ_2M, true);
	test_td_map_gpa_errors();
	test_td_map_gpa_retry();
	for (i = 0; i < ARRAY_SIZE(errno_cases); i++)
		run_errno_case(&errno_cases[i]);
	ksft_test_result_pass("%zu bad inputs refused with upstream's errnos\n",
			      ARRAY_SIZE(errno_cases));
	ksft_finished();
}
