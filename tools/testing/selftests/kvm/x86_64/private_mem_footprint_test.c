// SPDX-License-Identifier: GPL-2.0-only
/*
 * The memory-use proof of in-place conversion: a guest whose test memory
 * is one guest_memfd (GUEST_MEMFD_FLAG_MMAP, a guest_memfd-only slot)
 * touches N MiB, then converts half of it to shared and back, several
 * times, exchanging data with its VMM through the shared half.  At every
 * step the file holds exactly N MiB (fdinfo privmem_allocated and
 * st_blocks), and the memory cgroup the test runs in grew by at most N MiB
 * plus METADATA_ALLOWANCE (the VM's page tables, the VMM's page tables for
 * the shared half, attribute and kind trees, per-CPU charge batches).  A
 * design that backs shared pages with a second allocation would show
 * N + N/2 and fail both.  The memcg part needs cgroup v2 with the memory
 * controller (the distro-like kernel); elsewhere it is reported skipped.
 *
 * The userspace_addr of the slot is anonymous memory nobody touches: had
 * a shared access been served from it, the memcg would show that too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/sizes.h>

#include "privmem_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define TEST_SLOT		10
#define TEST_GPA		0x100000000ull
#define TEST_SIZE		((unsigned long)SZ_32M)	/* N */
#define TEST_NPAGES		(TEST_SIZE / PAGE_SIZE)
/* Half of the memory converts: the first half of every 128 KiB. */
#define CHUNK_SIZE		((unsigned long)SZ_64K)
#define CHUNK_NPAGES		(CHUNK_SIZE / PAGE_SIZE)
#define ROUNDS			3
#define METADATA_ALLOWANCE	((unsigned long)SZ_1M)
/* Words checked: one per cache line is enough to see a wrong page. */
#define STRIDE			64

#define TAG_PRIVATE		0x5052495641544521ull
#define TAG_HOST		0x484f535400000000ull
#define TAG_GUEST		0x474d534700000000ull

#define CG_DIR			"/tmp/privmem-footprint-cg"

enum {
	STAGE_TOUCHED,	/* all of it written while private */
	STAGE_SHARED,	/* half of it shared, the guest's data in it */
	STAGE_PRIVATE,	/* all private again, every word checked */
};

static inline bool converts(uint64_t gpa)
{
	return !((gpa - TEST_GPA) & CHUNK_SIZE);
}

static void guest_check(uint64_t gpa, uint64_t size, uint64_t tag)
{
	uint64_t a, val;

	for (a = gpa; a < gpa + size; a += STRIDE) {
		val = READ_ONCE(*(uint64_t *)a);
		GUEST_ASSERT_3(val == privmem_word(a, tag), a, val,
			       privmem_word(a, tag));
	}
}

static void guest_map_half(bool private)
{
	uint64_t gpa, ret;

	for (gpa = TEST_GPA; gpa < TEST_GPA + TEST_SIZE; gpa += 2 * CHUNK_SIZE) {
		ret = guest_map_gpa_range(gpa, CHUNK_NPAGES,
					  private ? KVM_MAP_GPA_RANGE_ENCRYPTED :
						    KVM_MAP_GPA_RANGE_DECRYPTED);
		GUEST_ASSERT_2(!ret, gpa, ret);
	}
}

static void guest_code(void)
{
	uint64_t gpa;
	int round;

	guest_fill_words(TEST_GPA, TEST_SIZE, TAG_PRIVATE, STRIDE);
	GUEST_SYNC(STAGE_TOUCHED);

	for (round = 0; round < ROUNDS; round++) {
		guest_map_half(false);
		GUEST_SYNC(STAGE_SHARED);
		/* The host answered in the shared half, in place. */
		for (gpa = TEST_GPA; gpa < TEST_GPA + TEST_SIZE;
		     gpa += 2 * CHUNK_SIZE) {
			guest_check(gpa, CHUNK_SIZE, TAG_HOST);
			guest_fill_words(gpa, CHUNK_SIZE, TAG_GUEST, STRIDE);
		}
		guest_map_half(true);
		for (gpa = TEST_GPA; gpa < TEST_GPA + TEST_SIZE;
		     gpa += CHUNK_SIZE)
			guest_check(gpa, CHUNK_SIZE,
				    converts(gpa) ? TAG_GUEST : TAG_PRIVATE);
		guest_fill_words(TEST_GPA, TEST_SIZE, TAG_PRIVATE, STRIDE);
		GUEST_SYNC(STAGE_PRIVATE);
	}
	GUEST_DONE();
}

struct footprint {
	struct kvm_vm *vm;
	int fd;
	uint64_t *map;		/* the VMM's mapping of the guest_memfd */
	bool memcg;
	long memcg_base;
	long memcg_max;		/* the largest growth seen */
	bool fd_ok;
	int syncs;
};

/* The VMM, at the guest's request: convert in place. */
static void handle_map_gpa_range(struct footprint *f, struct kvm_run *run)
{
	uint64_t gpa = run->hypercall.args[0];
	uint64_t size = run->hypercall.args[1] * PAGE_SIZE;

	TEST_ASSERT(gpa >= TEST_GPA && size && gpa + size <= TEST_GPA + TEST_SIZE,
		    "conversion of [0x%lx, +0x%lx) outside the slot", gpa, size);
	if (run->hypercall.args[2] & KVM_MAP_GPA_RANGE_ENCRYPTED)
		vm_mem_set_private(f->vm, gpa, size);
	else
		vm_mem_set_shared(f->vm, gpa, size);
	run->hypercall.ret = 0;
}

/* The VMM reads the guest's data in the shared half and answers there. */
static void host_answer(struct footprint *f)
{
	uint64_t off, gpa, *p;

	for (off = 0; off < TEST_SIZE; off += STRIDE) {
		gpa = TEST_GPA + off;
		if (!converts(gpa))
			continue;
		p = f->map + off / sizeof(uint64_t);
		TEST_ASSERT(*p == privmem_word(gpa, TAG_PRIVATE),
			    "shared gpa 0x%lx holds 0x%lx, want the guest's 0x%lx",
			    gpa, *p, privmem_word(gpa, TAG_PRIVATE));
		*p = privmem_word(gpa, TAG_HOST);
	}
}

/* What the file and the memcg hold now, against N. */
static void measure(struct footprint *f, uint64_t stage)
{
	long allocated = fdinfo_value(f->fd, "privmem_allocated");
	long shared = fdinfo_value(f->fd, "privmem_shared");
	long want_shared = stage == STAGE_SHARED ? TEST_SIZE / 2 : 0;
	struct stat st;
	long grown;

	TEST_ASSERT(!fstat(f->fd, &st), "fstat failed");
	f->fd_ok &= expect(allocated == TEST_SIZE &&
			   st.st_blocks * 512 == TEST_SIZE &&
			   shared == want_shared,
			   "stage %lu: privmem_allocated %ld, st_blocks %ld bytes, privmem_shared %ld; want %lu, %lu, %ld",
			   stage, allocated, (long)st.st_blocks * 512, shared,
			   TEST_SIZE, TEST_SIZE, want_shared);
	if (f->memcg) {
		grown = memcg_current(CG_DIR) - f->memcg_base;
		if (grown > f->memcg_max)
			f->memcg_max = grown;
	}
	f->syncs++;
}

static void run_guest(struct footprint *f, struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		if (is_map_gpa_range_exit(vcpu->run)) {
			handle_map_gpa_range(f, vcpu->run);
			continue;
		}
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
			    "unexpected exit %s",
			    exit_reason_str(vcpu->run->exit_reason));
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			measure(f, uc.args[1]);
			if (uc.args[1] == STAGE_SHARED)
				host_answer(f);
			break;
		case UCALL_DONE:
			return;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT_3(uc, "gpa 0x%lx: 0x%lx, want 0x%lx");
		default:
			TEST_FAIL("unexpected ucall");
		}
	}
}

int main(void)
{
	struct footprint f = { .fd_ok = true };
	struct kvm_vcpu *vcpu;
	bool memcg_ok;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) &
		     GUEST_MEMFD_FLAG_MMAP);
	TEST_REQUIRE(vm_type_supported(KVM_X86_SW_PROTECTED_VM));
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_EXIT_HYPERCALL) &
		     (1ul << KVM_HC_MAP_GPA_RANGE));
	pin_self_to_cpu(0);

	ksft_print_header();
	ksft_set_plan(2);

	/* Before anything is allocated: the guest_memfd charges its creator. */
	f.memcg = memcg_enter_child(CG_DIR);

	f.vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, 1,
					   TEST_NPAGES, guest_code, &vcpu);
	vm_enable_map_gpa_range_exits(f.vm);
	vm_userspace_mem_region_add(f.vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, TEST_NPAGES, 0);
	f.fd = vm_create_guest_memfd(f.vm, TEST_SIZE, GUEST_MEMFD_FLAG_MMAP);
	vm_mem_region_bind_guest_memfd(f.vm, TEST_SLOT, f.fd, 0);
	vm_mem_set_private(f.vm, TEST_GPA, TEST_SIZE);
	virt_map(f.vm, TEST_GPA, TEST_GPA, TEST_NPAGES);
	f.map = mmap(NULL, TEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		     f.fd, 0);
	TEST_ASSERT(f.map != MAP_FAILED, "mmap of the guest_memfd failed");
	/* From here on only the guest's touches and conversions count. */
	if (f.memcg)
		f.memcg_base = memcg_current(CG_DIR);

	run_guest(&f, vcpu);

	ksft_test_result(f.fd_ok && f.syncs == 1 + 2 * ROUNDS,
			 "fd accounting: %lu MiB touched, %d conversion rounds of half of it, the file holds %lu MiB throughout\n",
			 TEST_SIZE >> 20, ROUNDS, TEST_SIZE >> 20);
	if (!f.memcg) {
		ksft_test_result_skip("memcg: no cgroup v2 memory controller\n");
	} else {
		memcg_ok = f.memcg_max <= (long)(TEST_SIZE + METADATA_ALLOWANCE) &&
			   f.memcg_max >= (long)TEST_SIZE;
		ksft_test_result(memcg_ok,
				 "memcg: grew at most %ld KiB for %lu KiB touched (allowed %lu KiB of metadata)\n",
				 f.memcg_max >> 10, TEST_SIZE >> 10,
				 METADATA_ALLOWANCE >> 10);
	}

	munmap(f.map, TEST_SIZE);
	kvm_vm_free(f.vm);
	close(f.fd);
	ksft_finished();
}
