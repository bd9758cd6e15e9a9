// SPDX-License-Identifier: GPL-2.0-only
/*
 * Plain SEV and SEV-ES guests (KVM_X86_SEV_VM, KVM_X86_SEV_ES_VM) through
 * upstream's ABI, on the SEV firmware model: the VM types are reported and
 * created, KVM_SEV_INIT2 and the SEV launch commands give upstream's errno
 * and the firmware's status for every bad input and every command out of
 * order (table-driven), GUEST_STATUS follows the firmware's states, the
 * measurement LAUNCH_MEASURE returns is the HMAC user space computes from
 * the memory it loaded, and both kinds of guest run: an SEV guest reads
 * SEV active in MSR_AMD64_SEV, an SEV-ES guest SEV and SEV-ES, and
 * terminates through the GHCB MSR protocol.
 *
 * The transport integrity key a guest owner would have from its DH
 * exchange with real firmware is read from the model's debugfs
 * (/sys/kernel/debug/snp_model/sev_guests).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "privmem_launch.h"
#include "privmem_sha256.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define SEV_GUESTS	"/sys/kernel/debug/snp_model/sev_guests"

/* Guest policy bits (SEV firmware ABI). */
#define POLICY_NODBG	BIT(0)
#define POLICY_ES	BIT(2)
#define POLICY_RSVD6	BIT(6)
#define POLICY_MAJOR(v)	((uint32_t)(v) << 16)

/* Guest states GUEST_STATUS reports. */
#define STATE_LUPDATE	1
#define STATE_LSECRET	2
#define STATE_RUNNING	3

/* Firmware status codes expected in kvm_sev_cmd.error. */
#define FW_POLICY_FAILURE	0x07
#define FW_INVALID_GUEST_STATE	0x02
#define FW_INVALID_LEN		0x04
#define FW_INVALID_ADDRESS	0x09
#define FW_ASID_OWNED		0x0c
#define FW_INVALID_ASID		0x0d
#define FW_INVALID_GUEST	0x10
#define FW_UNSUPPORTED		0x15

#define MEASURE_SIZE	32
#define MNONCE_SIZE	16
#define BLOB_SIZE	(MEASURE_SIZE + MNONCE_SIZE)
#define TIK_SIZE	16

/* GHCB MSR protocol: termination, reason set 1, the SEV status as code. */
#define GHCB_TERM_REQ		0x100ull
#define GHCB_TERM(status)	(GHCB_TERM_REQ | 1ull << 12 | ((status) & 0xff) << 16)

#define SEV_STATUS_SEV		0x1
#define SEV_STATUS_SEV_ES	0x3

/* kvm_sev_cmd.error before the call. */
#define ERROR_UNTOUCHED		0xdeadbeef

static int sev_fd = -1, cmd_sev_fd = -1;

static int __sev_cmd(struct kvm_vm *vm, uint32_t id, void *data, uint32_t *fw_error)
{
	return __vm_sev_cmd(vm, id, data, cmd_sev_fd, ERROR_UNTOUCHED, fw_error);
}

static void sev_cmd(struct kvm_vm *vm, uint32_t id, void *data)
{
	uint32_t fw_error;
	int r = __sev_cmd(vm, id, data, &fw_error);

	TEST_ASSERT(!r && !fw_error, "SEV command %u: %d (%s), firmware error %#x",
		    id, r, strerror(errno), fw_error);
}

static void sev_init2(struct kvm_vm *vm)
{
	struct kvm_sev_init init = {};

	sev_cmd(vm, KVM_SEV_INIT2, &init);
}

static uint32_t sev_launch_start(struct kvm_vm *vm, uint32_t policy)
{
	struct kvm_sev_launch_start start = { .policy = policy };

	sev_cmd(vm, KVM_SEV_LAUNCH_START, &start);
	TEST_ASSERT(start.handle, "LAUNCH_START returned handle 0");
	return start.handle;
}

static void sev_update_data(struct kvm_vm *vm, void *p, uint32_t len)
{
	struct kvm_sev_launch_update_data update = { .uaddr = (uintptr_t)p, .len = len };

	sev_cmd(vm, KVM_SEV_LAUNCH_UPDATE_DATA, &update);
}

static void sev_measure(struct kvm_vm *vm, uint8_t blob[BLOB_SIZE])
{
	struct kvm_sev_launch_measure m = { .uaddr = (uintptr_t)blob, .len = BLOB_SIZE };

	sev_cmd(vm, KVM_SEV_LAUNCH_MEASURE, &m);
	TEST_ASSERT(m.len == BLOB_SIZE, "LAUNCH_MEASURE len %u", m.len);
}

static struct kvm_sev_guest_status sev_status(struct kvm_vm *vm)
{
	struct kvm_sev_guest_status st;

	memset(&st, 0xff, sizeof(st));
	sev_cmd(vm, KVM_SEV_GUEST_STATUS, &st);
	return st;
}

static void expect_state(struct kvm_vm *vm, uint32_t state, uint32_t policy, const char *when)
{
	struct kvm_sev_guest_status st = sev_status(vm);

	TEST_ASSERT(st.state == state && st.policy == policy,
		    "%s: GUEST_STATUS state %u policy %#x, want %u %#x", when, st.state,
		    st.policy, state, policy);
}

static void guest_code(void)
{
	GUEST_DONE();
}

/* ---- The errno table ----------------------------------------------------- */

enum stage { STAGE_NEW, STAGE_INIT, STAGE_START, STAGE_MEASURED, STAGE_FINISH };

union sev_params {
	struct kvm_sev_init init;
	struct kvm_sev_launch_start start;
	struct kvm_sev_launch_update_data update;
	struct kvm_sev_launch_measure measure;
	struct kvm_sev_guest_status status;
	struct kvm_sev_snp_launch_start snp_start;
	uint8_t raw[64];
};

struct errno_case {
	const char *name;
	unsigned long vm_type;
	enum stage stage;
	uint32_t id;
	/* One field of the valid default parameters set to a bad value... */
	size_t off;
	size_t size;
	uint64_t val;
	/* ...or the parameters or the VM changed by a function. */
	void (*prep)(struct kvm_vm *vm, union sev_params *p);
	int err;
	uint32_t fw_error;
};

#define SEV		KVM_X86_SEV_VM
#define ES		KVM_X86_SEV_ES_VM
#define INIT2		KVM_SEV_INIT2
#define START		KVM_SEV_LAUNCH_START
#define UPDATE		KVM_SEV_LAUNCH_UPDATE_DATA
#define VMSA		KVM_SEV_LAUNCH_UPDATE_VMSA
#define MEASURE		KVM_SEV_LAUNCH_MEASURE
#define STATUS		KVM_SEV_GUEST_STATUS
#define FINISH		KVM_SEV_LAUNCH_FINISH
#define INIT_SET(f, v)		SET(struct kvm_sev_init, f, v)
#define START_SET(f, v)		SET(struct kvm_sev_launch_start, f, v)
#define UPDATE_SET(f, v)	SET(struct kvm_sev_launch_update_data, f, v)
#define MEASURE_SET(f, v)	SET(struct kvm_sev_launch_measure, f, v)

static uint8_t *src_page, *blob_page;

static uint32_t type_policy(unsigned long type)
{
	return type == ES ? POLICY_ES : 0;
}

static void default_params(unsigned long type, uint32_t id, union sev_params *p)
{
	memset(p, 0, sizeof(*p));
	switch (id) {
	case START:
		p->start.policy = type_policy(type);
		break;
	case UPDATE:
		p->update.uaddr = (uintptr_t)src_page;
		p->update.len = PAGE_SIZE;
		break;
	case MEASURE:
		p->measure.uaddr = (uintptr_t)blob_page;
		p->measure.len = BLOB_SIZE;
		break;
	}
}

static void prep_vcpu(struct kvm_vm *vm, union sev_params *p)
{
	vm_vcpu_add(vm, 0, guest_code);
}

static void prep_vmsa_done(struct kvm_vm *vm, union sev_params *p)
{
	vm_vcpu_add(vm, 0, guest_code);
	sev_cmd(vm, VMSA, NULL);
}

static void prep_unmapped_src(struct kvm_vm *vm, union sev_params *p)
{
	p->update.uaddr = (uintptr_t)mmap(NULL, PAGE_SIZE, PROT_NONE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void prep_sev_fd_vm(struct kvm_vm *vm, union sev_params *p)
{
	cmd_sev_fd = vm->fd;
}

static const struct errno_case errno_cases[] = {
	/* KVM_SEV_INIT2 and the legacy inits */
	{ "INIT2 flags bit 0", SEV, STAGE_NEW, INIT2, INIT_SET(flags, 1), .err = EINVAL },
	{ "INIT2 flags bit 31 (SEV-ES)", ES, STAGE_NEW, INIT2, INIT_SET(flags, 1u << 31),
	  .err = EINVAL },
	{ "INIT2 vmsa_features on SEV", SEV, STAGE_NEW, INIT2, INIT_SET(vmsa_features, 1),
	  .err = EINVAL },
	{ "INIT2 vmsa_features DEBUG_SWAP (SEV-ES)", ES, STAGE_NEW, INIT2,
	  INIT_SET(vmsa_features, 1 << 5), .err = EINVAL },
	{ "INIT2 vmsa_features bit 63 (SEV-ES)", ES, STAGE_NEW, INIT2,
	  INIT_SET(vmsa_features, 1ull << 63), .err = EINVAL },
	{ "INIT2 ghcb_version on SEV", SEV, STAGE_NEW, INIT2, INIT_SET(ghcb_version, 1),
	  .err = EINVAL },
	{ "INIT2 ghcb_version 3 (SEV-ES)", ES, STAGE_NEW, INIT2, INIT_SET(ghcb_version, 3),
	  .err = EINVAL },
	{ "INIT2 after a vCPU", SEV, STAGE_NEW, INIT2, .prep = prep_vcpu, .err = EINVAL },
	{ "INIT2 twice", SEV, STAGE_INIT, INIT2, .err = EINVAL },
	{ "INIT2 twice (SEV-ES)", ES, STAGE_INIT, INIT2, .err = EINVAL },
	{ "INIT2 on a default VM", KVM_X86_DEFAULT_VM, STAGE_NEW, INIT2, .err = EINVAL },
	{ "INIT2 on a SW-protected VM", KVM_X86_SW_PROTECTED_VM, STAGE_NEW, INIT2,
	  .err = EINVAL },
	{ "SEV_INIT on an SEV VM", SEV, STAGE_NEW, KVM_SEV_INIT, .err = EINVAL },
	{ "SEV_ES_INIT on an SEV-ES VM", ES, STAGE_NEW, KVM_SEV_ES_INIT, .err = EINVAL },
	{ "SNP LAUNCH_START on an SEV VM", SEV, STAGE_INIT, KVM_SEV_SNP_LAUNCH_START,
	  .err = ENOTTY },
	{ "unknown command 103", SEV, STAGE_INIT, 103, .err = EINVAL },
	/* KVM_SEV_LAUNCH_START */
	{ "LAUNCH_START before INIT2", SEV, STAGE_NEW, START, .err = ENOTTY },
	{ "LAUNCH_START sev_fd not /dev/sev", SEV, STAGE_INIT, START, .prep = prep_sev_fd_vm,
	  .err = EBADF },
	{ "LAUNCH_START ES policy on SEV", SEV, STAGE_INIT, START, START_SET(policy, POLICY_ES),
	  .err = EIO, .fw_error = FW_INVALID_ASID },
	{ "LAUNCH_START SEV-ES without the ES policy", ES, STAGE_INIT, START,
	  START_SET(policy, 0), .err = EIO, .fw_error = FW_INVALID_ASID },
	{ "LAUNCH_START policy bit 6", SEV, STAGE_INIT, START, START_SET(policy, POLICY_RSVD6),
	  .err = EIO, .fw_error = FW_POLICY_FAILURE },
	{ "LAUNCH_START policy API 1.0", SEV, STAGE_INIT, START,
	  START_SET(policy, POLICY_MAJOR(1)), .err = EIO, .fw_error = FW_POLICY_FAILURE },
	{ "LAUNCH_START unknown handle", SEV, STAGE_INIT, START, START_SET(handle, 0x7fff),
	  .err = EIO, .fw_error = FW_INVALID_GUEST },
	{ "LAUNCH_START DH certificate", SEV, STAGE_INIT, START, START_SET(dh_len, 64),
	  .err = EIO, .fw_error = FW_UNSUPPORTED },
	{ "LAUNCH_START twice", SEV, STAGE_START, START, .err = EIO, .fw_error = FW_ASID_OWNED },
	/* KVM_SEV_LAUNCH_UPDATE_DATA */
	{ "UPDATE_DATA before INIT2", SEV, STAGE_NEW, UPDATE, .err = ENOTTY },
	{ "UPDATE_DATA before LAUNCH_START", SEV, STAGE_INIT, UPDATE, .err = EIO,
	  .fw_error = FW_INVALID_GUEST },
	{ "UPDATE_DATA len 0", SEV, STAGE_START, UPDATE, UPDATE_SET(len, 0), .err = EINVAL },
	{ "UPDATE_DATA len 8", SEV, STAGE_START, UPDATE, UPDATE_SET(len, 8), .err = EIO,
	  .fw_error = FW_INVALID_LEN },
	{ "UPDATE_DATA wrapping range", SEV, STAGE_START, UPDATE, UPDATE_SET(uaddr, -16ull),
	  .err = EINVAL },
	{ "UPDATE_DATA unmapped source", SEV, STAGE_START, UPDATE, .prep = prep_unmapped_src,
	  .err = ENOMEM },
	{ "UPDATE_DATA after LAUNCH_MEASURE", SEV, STAGE_MEASURED, UPDATE, .err = EIO,
	  .fw_error = FW_INVALID_GUEST_STATE },
	{ "UPDATE_DATA after LAUNCH_FINISH", ES, STAGE_FINISH, UPDATE, .err = EIO,
	  .fw_error = FW_INVALID_GUEST_STATE },
	/* KVM_SEV_LAUNCH_UPDATE_VMSA */
	{ "UPDATE_VMSA on an SEV VM", SEV, STAGE_START, VMSA, .prep = prep_vcpu,
	  .err = ENOTTY },
	{ "UPDATE_VMSA before LAUNCH_START", ES, STAGE_INIT, VMSA, .prep = prep_vcpu,
	  .err = EIO, .fw_error = FW_INVALID_GUEST },
	{ "UPDATE_VMSA twice", ES, STAGE_START, VMSA, .prep = prep_vmsa_done, .err = EINVAL },
	{ "UPDATE_VMSA after LAUNCH_MEASURE", ES, STAGE_MEASURED, VMSA, .prep = prep_vcpu,
	  .err = EIO, .fw_error = FW_INVALID_GUEST_STATE },
	/* KVM_SEV_LAUNCH_MEASURE */
	{ "LAUNCH_MEASURE before LAUNCH_START", SEV, STAGE_INIT, MEASURE, .err = EIO,
	  .fw_error = FW_INVALID_GUEST },
	{ "LAUNCH_MEASURE len 16", SEV, STAGE_START, MEASURE, MEASURE_SET(len, 16),
	  .err = EIO, .fw_error = FW_INVALID_LEN },
	{ "LAUNCH_MEASURE len over 16 KiB", SEV, STAGE_START, MEASURE,
	  MEASURE_SET(len, 0x4001), .err = EINVAL },
	{ "LAUNCH_MEASURE twice", SEV, STAGE_MEASURED, MEASURE, .err = EIO,
	  .fw_error = FW_INVALID_GUEST_STATE },
	/* KVM_SEV_GUEST_STATUS and KVM_SEV_LAUNCH_FINISH */
	{ "GUEST_STATUS before INIT2", ES, STAGE_NEW, STATUS, .err = ENOTTY },
	{ "GUEST_STATUS before LAUNCH_START", ES, STAGE_INIT, STATUS, .err = EIO,
	  .fw_error = FW_INVALID_GUEST },
	{ "LAUNCH_FINISH before LAUNCH_START", SEV, STAGE_INIT, FINISH, .err = EIO,
	  .fw_error = FW_INVALID_GUEST },
	{ "LAUNCH_FINISH twice", SEV, STAGE_FINISH, FINISH, .err = EIO,
	  .fw_error = FW_INVALID_GUEST_STATE },
};

static void run_errno_case(const struct errno_case *c)
{
	uint32_t fw_error, expected;
	union sev_params p;
	struct kvm_vm *vm;
	int r;

	vm = __vm_create_type(VM_MODE_DEFAULT, c->vm_type, 1, 0);
	if (c->stage >= STAGE_INIT)
		sev_init2(vm);
	if (c->stage >= STAGE_START)
		sev_launch_start(vm, type_policy(c->vm_type));
	if (c->stage >= STAGE_MEASURED) {
		uint8_t blob[BLOB_SIZE];

		sev_measure(vm, blob);
	}
	if (c->stage >= STAGE_FINISH)
		sev_cmd(vm, FINISH, NULL);
	default_params(c->vm_type, c->id, &p);
	if (c->size)
		memcpy((uint8_t *)&p + c->off, &c->val, c->size);
	if (c->prep)
		c->prep(vm, &p);

	r = __sev_cmd(vm, c->id, &p, &fw_error);
	cmd_sev_fd = sev_fd;
	TEST_ASSERT(r == -1 && errno == c->err, "%s: got %d (%s), expected %s", c->name, r,
		    strerror(errno), strerror(c->err));
	/*
	 * The firmware's status, or 0 where KVM refused by itself; VMs of
	 * the types without SEV commands leave it as it was.
	 */
	expected = c->vm_type == SEV || c->vm_type == ES ? c->fw_error : ERROR_UNTOUCHED;
	TEST_ASSERT(fw_error == expected, "%s: firmware error %#x, expected %#x", c->name,
		    fw_error, expected);
	kvm_vm_free(vm);
	ksft_test_result_pass("%s: %s\n", c->name, strerror(c->err));
}

/* ---- Behaviours ---------------------------------------------------------- */

/* KVM_CAP_VM_TYPES reports types 2 and 3 next to 0, 1 and 4; both are created. */
static void test_vm_types(void)
{
	int types = kvm_check_cap(KVM_CAP_VM_TYPES);
	unsigned long type;
	struct kvm_vm *vm;

	TEST_ASSERT((types & 0x1f) == 0x1f, "KVM_CAP_VM_TYPES %#x lacks one of types 0-4", types);
	for (type = SEV; type <= ES; type++) {
		vm = __vm_create_type(VM_MODE_DEFAULT, type, 1, 0);
		TEST_ASSERT(!ioctl(vm->fd, KVM_MEMORY_ENCRYPT_OP, NULL),
			    "KVM_MEMORY_ENCRYPT_OP(NULL) on type %lu: %s", type, strerror(errno));
		/* Memory is encrypted in place: no private memory, as upstream. */
		TEST_ASSERT(!vm_check_cap(vm, KVM_CAP_MEMORY_ATTRIBUTES),
			    "type %lu offers memory attributes", type);
		kvm_vm_free(vm);
	}
	ksft_test_result_pass("KVM_X86_SEV_VM and KVM_X86_SEV_ES_VM are reported and created\n");
}

/* The TIK of the model's guest @handle, and its API version. */
static void model_tik(uint32_t handle, uint8_t tik[TIK_SIZE], uint8_t api[3])
{
	char line[256], hex[2 * TIK_SIZE + 1];
	unsigned int h, state, asid, policy, major, minor, build;
	bool found = false;
	FILE *f;
	int i;

	f = fopen(SEV_GUESTS, "r");
	TEST_ASSERT(f, "open %s: %s", SEV_GUESTS, strerror(errno));
	TEST_ASSERT(fgets(line, sizeof(line), f) &&
		    sscanf(line, "api %u %u build %u", &major, &minor, &build) == 3,
		    "%s: no API version", SEV_GUESTS);
	api[0] = major;
	api[1] = minor;
	api[2] = build;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "handle %u state %u policy %x asid %u tik %32s", &h, &state,
			   &policy, &asid, hex) != 5 || h != handle)
			continue;
		for (i = 0; i < TIK_SIZE; i++)
			TEST_ASSERT(sscanf(hex + 2 * i, "%2hhx", &tik[i]) == 1, "bad TIK %s", hex);
		found = true;
	}
	fclose(f);
	TEST_ASSERT(found, "handle %u not in %s", handle, SEV_GUESTS);
}

/*
 * MEASURE = HMAC-SHA256(TIK; 0x04 || API_MAJOR || API_MINOR || BUILD ||
 * POLICY || LD || MNONCE), LD = SHA-256 of the data loaded, in order.
 */
static void check_measure(uint32_t handle, uint32_t policy, const void *const *data,
			  const size_t *len, int n, const uint8_t blob[BLOB_SIZE])
{
	uint8_t tik[TIK_SIZE], api[3], hdr[8], ld[SHA256_DIGEST_SIZE], mac[SHA256_DIGEST_SIZE];
	const void *parts[3] = { hdr, ld, blob + MEASURE_SIZE };
	const size_t lens[3] = { sizeof(hdr), sizeof(ld), MNONCE_SIZE };

	model_tik(handle, tik, api);
	sha256_v(data, len, n, ld);
	hdr[0] = 0x04;
	memcpy(hdr + 1, api, 3);
	memcpy(hdr + 4, &policy, 4);
	hmac_sha256_v(tik, TIK_SIZE, parts, lens, 3, mac);
	TEST_ASSERT(!memcmp(mac, blob, MEASURE_SIZE),
		    "LAUNCH_MEASURE: the HMAC is not the one computed from the loaded data");
}

/* The memory of slot 0: code, data, page tables, everything the guest runs on. */
static void *slot0(struct kvm_vm *vm, size_t *size)
{
	struct userspace_mem_region *r = memslot2region(vm, 0);

	*size = r->region.memory_size;
	return r->host_mem;
}

/*
 * The size query (len 0: EIO, INVALID_LEN, the size in len), then a
 * launch of two pieces whose measurement is checked, through the states.
 */
static void test_launch_measure(void)
{
	struct kvm_sev_launch_measure q = { .uaddr = (uintptr_t)blob_page };
	uint8_t *src = source_pages(3, 0x5a), blob[BLOB_SIZE];
	const void *data[2] = { src, src + PAGE_SIZE + 16 };
	const size_t len[2] = { PAGE_SIZE, 2 * PAGE_SIZE - 16 };
	uint32_t fw_error, handle;
	struct kvm_vm *vm;
	int r;

	vm = __vm_create_type(VM_MODE_DEFAULT, SEV, 1, 0);
	sev_init2(vm);
	handle = sev_launch_start(vm, POLICY_NODBG);
	expect_state(vm, STATE_LUPDATE, POLICY_NODBG, "after LAUNCH_START");
	sev_update_data(vm, (void *)data[0], len[0]);
	/* Unaligned to the page and crossing one. */
	sev_update_data(vm, (void *)data[1], len[1]);

	r = __sev_cmd(vm, MEASURE, &q, &fw_error);
	TEST_ASSERT(r == -1 && errno == EIO && fw_error == FW_INVALID_LEN && q.len == BLOB_SIZE,
		    "LAUNCH_MEASURE size query: %d (%s), error %#x, len %u", r,
		    strerror(errno), fw_error, q.len);
	expect_state(vm, STATE_LUPDATE, POLICY_NODBG, "after the size query");

	sev_measure(vm, blob);
	check_measure(handle, POLICY_NODBG, data, len, 2, blob);
	expect_state(vm, STATE_LSECRET, POLICY_NODBG, "after LAUNCH_MEASURE");
	sev_cmd(vm, FINISH, NULL);
	expect_state(vm, STATE_RUNNING, POLICY_NODBG, "after LAUNCH_FINISH");
	kvm_vm_free(vm);
	munmap(src, 3 * PAGE_SIZE);
	ksft_test_result_pass("LAUNCH_MEASURE: size query, HMAC over the loaded data, states\n");
}

static void guest_sev(void)
{
	GUEST_SYNC(rdmsr(MSR_AMD64_SEV));
	GUEST_DONE();
}

/* REP VMMCALL. */
static void vmgexit(void)
{
	asm volatile(".byte 0xf3, 0x0f, 0x01, 0xd9" ::: "memory");
}

/* Register state is protected: the status goes out in the termination code. */
static void guest_sev_es(void)
{
	wrmsr(MSR_AMD64_SEV_ES_GHCB, GHCB_TERM(rdmsr(MSR_AMD64_SEV)));
	vmgexit();
	for (;;)
		asm volatile("hlt");
}

/*
 * An SEV guest launched from all of its memory (measured and checked)
 * runs and reads SEV active, and only SEV, in MSR_AMD64_SEV.
 */
static void test_sev_guest(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint8_t blob[BLOB_SIZE];
	struct ucall uc;
	uint32_t handle;
	size_t size;
	void *mem;

	vm = __vm_create_type(VM_MODE_DEFAULT, SEV, 1, 0);
	sev_init2(vm);
	vcpu = vm_vcpu_add(vm, 0, guest_sev);
	handle = sev_launch_start(vm, POLICY_NODBG);
	mem = slot0(vm, &size);
	sev_update_data(vm, mem, size);
	sev_measure(vm, blob);
	check_measure(handle, POLICY_NODBG, (const void *const *)&mem, &size, 1, blob);
	sev_cmd(vm, FINISH, NULL);

	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC, "SEV guest: exit %s",
		    exit_reason_str(vcpu->run->exit_reason));
	TEST_ASSERT(uc.args[1] == SEV_STATUS_SEV, "SEV guest: MSR_AMD64_SEV %#lx, want %#x",
		    uc.args[1], SEV_STATUS_SEV);
	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_DONE, "SEV guest did not finish");
	kvm_vm_free(vm);
	ksft_test_result_pass("SEV guest runs, MSR_AMD64_SEV %#x\n", SEV_STATUS_SEV);
}

/*
 * An SEV-ES guest: after LAUNCH_UPDATE_VMSA its registers are its own
 * (KVM_GET_REGS and KVM_SET_REGS fail with EINVAL); it runs, reads SEV and
 * SEV-ES active, and terminates through the GHCB MSR protocol
 * (KVM_EXIT_SYSTEM_EVENT, SEV_TERM, the GHCB value).
 */
static void test_sev_es_guest(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_regs regs;
	struct kvm_vm *vm;
	uint8_t blob[BLOB_SIZE];
	struct kvm_run *run;
	size_t size;
	void *mem;
	int r;

	vm = __vm_create_type(VM_MODE_DEFAULT, ES, 1, 0);
	sev_init2(vm);
	vcpu = vm_vcpu_add(vm, 0, guest_sev_es);
	sev_launch_start(vm, POLICY_ES | POLICY_NODBG);
	mem = slot0(vm, &size);
	sev_update_data(vm, mem, size);
	vcpu_regs_get(vcpu, &regs);
	sev_cmd(vm, VMSA, NULL);
	r = __vcpu_ioctl(vcpu, KVM_GET_REGS, &regs);
	TEST_ASSERT(r == -1 && errno == EINVAL, "KVM_GET_REGS after UPDATE_VMSA: %d (%s)", r,
		    strerror(errno));
	r = __vcpu_ioctl(vcpu, KVM_SET_REGS, &regs);
	TEST_ASSERT(r == -1 && errno == EINVAL, "KVM_SET_REGS after UPDATE_VMSA: %d (%s)", r,
		    strerror(errno));
	sev_measure(vm, blob);
	expect_state(vm, STATE_LSECRET, POLICY_ES | POLICY_NODBG, "SEV-ES after LAUNCH_MEASURE");
	sev_cmd(vm, FINISH, NULL);

	vcpu_run(vcpu);
	run = vcpu->run;
	TEST_ASSERT(run->exit_reason == KVM_EXIT_SYSTEM_EVENT &&
		    run->system_event.type == KVM_SYSTEM_EVENT_SEV_TERM &&
		    run->system_event.ndata == 1,
		    "SEV-ES guest: exit %s, event type %u, ndata %u",
		    exit_reason_str(run->exit_reason), run->system_event.type,
		    run->system_event.ndata);
	TEST_ASSERT(run->system_event.data[0] == GHCB_TERM(SEV_STATUS_SEV_ES),
		    "SEV-ES guest: terminated with %#llx, want %#llx (MSR_AMD64_SEV %#x)",
		    run->system_event.data[0], GHCB_TERM(SEV_STATUS_SEV_ES), SEV_STATUS_SEV_ES);
	kvm_vm_free(vm);
	ksft_test_result_pass("SEV-ES guest: registers protected, MSR_AMD64_SEV %#x, %s\n",
			      SEV_STATUS_SEV_ES, "GHCB termination");
}

int main(int argc, char *argv[])
{
	int i;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & (1 << KVM_X86_SEV_VM));
	TEST_REQUIRE(!access(SEV_GUESTS, R_OK));
	sha256_init_constants();
	src_page = source_pages(1, 0x33);
	blob_page = source_pages(1, 0);
	sev_fd = open("/dev/sev", O_RDWR);
	TEST_ASSERT(sev_fd >= 0, "open /dev/sev: %s", strerror(errno));
	cmd_sev_fd = sev_fd;

	ksft_print_header();
	ksft_set_plan(6 + ARRAY_SIZE(errno_cases));
	sha256_selftest();
	test_vm_types();
	test_launch_measure();
	test_sev_guest();
	test_sev_es_guest();
	for (i = 0; i < ARRAY_SIZE(errno_cases); i++)
		run_errno_case(&errno_cases[i]);
	ksft_test_result_pass("%zu bad inputs refused with upstream's errnos\n",
			      ARRAY_SIZE(errno_cases));
	ksft_finished();
}
