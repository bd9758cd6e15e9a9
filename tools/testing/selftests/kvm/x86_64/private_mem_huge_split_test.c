// SPDX-License-Identifier: GPL-2.0-only
/*
 * A 2 MiB block of private memory through a 4 KiB conversion and its
 * reversal, seen through the VM's binary stats (private_pages_4k/2m) and
 * the guest_memfd's fdinfo (privmem_folios_4k/2m), with the data checked
 * by the guest at every step.
 *
 * The guest fills the block while private: one 2M mapping of one 2M folio
 * where the kernel has huge private folios (the distro-like kernel), 512
 * 4K mappings of 4K folios otherwise.  It converts one page (the first,
 * one in the middle, the last) to shared and reads the rest back: the
 * mapping is split (511 4K mappings), the folio is not, unless the host
 * punched the page out of the file on the way to shared.  It converts the
 * page back and reads the rest again, whose 4K mappings were left: without
 * a punch the block is mapped 2M again (KVM zapped them once the block was
 * uniformly private); after a punch its pieces stay 4K folios (merging
 * them is not done), so it stays mapped at 4K.  Then it checks the page.  The same again on a
 * guest_memfd-only slot, where the page is converted in place: its folio
 * stays whole too, the VMM reads the guest's message through its mapping
 * of the file, and the page keeps the message when it turns private.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "privmem_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define TEST_SLOT	10
#define TEST_GPA	0x100000000ull
#define SZ_2M		(2ul << 20)
#define BLOCK_NPAGES	(SZ_2M / PAGE_SIZE)

#define TAG_PRIVATE	0x5052495641544521ull
#define TAG_GUEST_MSG	0x474d534700000000ull

enum {
	STAGE_FILLED,	/* the block is private and written */
	STAGE_SPLIT,	/* one page shared, the rest read back */
	STAGE_PROMOTED,	/* the page private again, the rest read back */
};

/* Check [gpa, gpa + size) but the page at @skip; tag ~0 means zeroes. */
static void guest_check(uint64_t gpa, uint64_t size, uint64_t tag,
			uint64_t skip)
{
	uint64_t a, val, want;

	for (a = gpa; a < gpa + size; a += sizeof(uint64_t)) {
		if (a >= skip && a < skip + PAGE_SIZE)
			continue;
		val = READ_ONCE(*(uint64_t *)a);
		want = tag == ~0ull ? 0 : privmem_word(a, tag);
		GUEST_ASSERT_3(val == want, a, val, want);
	}
}

static void guest_map(uint64_t gpa, bool private)
{
	uint64_t ret;

	ret = guest_map_gpa_range(gpa, 1, private ? KVM_MAP_GPA_RANGE_ENCRYPTED :
						    KVM_MAP_GPA_RANGE_DECRYPTED);
	GUEST_ASSERT_2(!ret, gpa, ret);
}

/* @after: what the page holds once private again (~0: zeroes). */
static void guest_code(uint64_t page, uint64_t after)
{
	uint64_t gpa = TEST_GPA + page * PAGE_SIZE;

	guest_fill_words(TEST_GPA, SZ_2M, TAG_PRIVATE, sizeof(uint64_t));
	GUEST_SYNC(STAGE_FILLED);

	guest_map(gpa, false);
	guest_check(TEST_GPA, SZ_2M, TAG_PRIVATE, gpa);
	guest_fill_words(gpa, PAGE_SIZE, TAG_GUEST_MSG, sizeof(uint64_t));
	GUEST_SYNC(STAGE_SPLIT);

	guest_map(gpa, true);
	/*
	 * The rest first: its 4K mappings were still there, so only KVM
	 * zapping them can make this fault and map the block 2M again.
	 */
	guest_check(TEST_GPA, SZ_2M, TAG_PRIVATE, gpa);
	GUEST_SYNC(STAGE_PROMOTED);
	guest_check(gpa, PAGE_SIZE, after, ~0ull);
	GUEST_DONE();
}

/* What the stats and fdinfo must show at a stage. */
struct counts {
	long pages_4k, pages_2m;
	long folios_4k, folios_2m;
};

static bool counts_are(struct kvm_vm *vm, int fd, const struct counts *want,
		       const char *stage)
{
	struct counts got = {
		.pages_4k = vm_get_stat(vm, "private_pages_4k"),
		.pages_2m = vm_get_stat(vm, "private_pages_2m"),
		.folios_4k = fdinfo_value(fd, "privmem_folios_4k"),
		.folios_2m = fdinfo_value(fd, "privmem_folios_2m"),
	};

	return expect(!memcmp(&got, want, sizeof(got)) &&
		      !vm_get_stat(vm, "private_pages_1g"),
		      "%s: private_pages 4k %ld 2m %ld 1g %ld, folios 4k %ld 2m %ld; want %ld %ld 0, %ld %ld",
		      stage, got.pages_4k, got.pages_2m,
		      (long)vm_get_stat(vm, "private_pages_1g"), got.folios_4k,
		      got.folios_2m, want->pages_4k, want->pages_2m,
		      want->folios_4k, want->folios_2m);
}

enum mode {
	SEPARATE,	/* shared pages from the slot's userspace_addr */
	PUNCH,		/* the same, punching the page on the way to shared */
	IN_PLACE,	/* a guest_memfd-only slot: one page, converted */
};

static void handle_map_gpa_range(struct kvm_vm *vm, int fd,
				 struct kvm_run *run, bool punch)
{
	uint64_t gpa = run->hypercall.args[0];
	uint64_t size = run->hypercall.args[1] * PAGE_SIZE;

	TEST_ASSERT(gpa >= TEST_GPA && size == PAGE_SIZE &&
		    gpa + size <= TEST_GPA + SZ_2M,
		    "conversion of [0x%lx, +0x%lx) outside the block", gpa, size);
	if (run->hypercall.args[2] & KVM_MAP_GPA_RANGE_ENCRYPTED) {
		vm_mem_set_private(vm, gpa, size);
	} else {
		vm_mem_set_shared(vm, gpa, size);
		if (punch)
			guest_memfd_punch_hole(fd, gpa - TEST_GPA, size);
	}
	run->hypercall.ret = 0;
}

/* Whether this kernel backs a 2M-aligned private range with a 2M folio. */
static bool has_huge_folios(void)
{
	struct kvm_vm *vm = ____vm_create_type(VM_MODE_DEFAULT, 0,
					       KVM_X86_SW_PROTECTED_VM);
	int fd = vm_create_guest_memfd(vm, SZ_2M, 0);
	bool huge;

	guest_memfd_allocate(fd, 0, SZ_2M);
	huge = fdinfo_value(fd, "privmem_folios_2m") == 1;
	close(fd);
	kvm_vm_free(vm);
	return huge;
}

static bool huge;

/*
 * Convert page @page of the block to shared and back, as @mode says, and
 * check the counts at every stage.
 */
static bool run_split_and_promote(uint64_t page, enum mode mode)
{
	bool punch = mode == PUNCH;
	/* A punched page comes back as zeroes, a kept one as it was. */
	uint64_t after = punch ? ~0ull :
			 mode == IN_PLACE ? TAG_GUEST_MSG : TAG_PRIVATE;
	uint64_t gpa = TEST_GPA + page * PAGE_SIZE;
	const struct counts filled = huge ?
		(struct counts){ 0, 1, 0, 1 } :
		(struct counts){ BLOCK_NPAGES, 0, BLOCK_NPAGES, 0 };
	/* The folio stays whole unless the punch took a page out of it. */
	const struct counts split = {
		BLOCK_NPAGES - 1, 0,
		huge && !punch ? 0 : BLOCK_NPAGES - punch,
		huge && !punch,
	};
	/* Else as split: the page itself is not touched yet. */
	const struct counts promoted = huge && !punch ?
		(struct counts){ 0, 1, 0, 1 } : split;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t *shared;
	bool ok = true;
	char *map;
	int fd;

	vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, 1,
					 BLOCK_NPAGES, guest_code, &vcpu);
	vm_enable_map_gpa_range_exits(vm);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, BLOCK_NPAGES, 0);
	fd = vm_create_guest_memfd(vm, SZ_2M, mode == IN_PLACE ?
				   GUEST_MEMFD_FLAG_MMAP : 0);
	vm_mem_region_bind_guest_memfd(vm, TEST_SLOT, fd, 0);
	vm_mem_set_private(vm, TEST_GPA, SZ_2M);
	virt_map(vm, TEST_GPA, TEST_GPA, BLOCK_NPAGES);
	vcpu_args_set(vcpu, 2, page, after);
	/* Where the VMM sees the shared page. */
	if (mode == IN_PLACE) {
		map = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0);
		TEST_ASSERT(map != MAP_FAILED, "mmap of the guest_memfd failed");
		shared = (uint64_t *)(map + page * PAGE_SIZE);
	} else {
		map = NULL;
		shared = addr_gpa2hva(vm, gpa);
	}

	for (;;) {
		vcpu_run(vcpu);
		if (is_map_gpa_range_exit(vcpu->run)) {
			handle_map_gpa_range(vm, fd, vcpu->run, punch);
			continue;
		}
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
			    "unexpected exit %s",
			    exit_reason_str(vcpu->run->exit_reason));
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			break;
		case UCALL_DONE:
			goto out;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT_3(uc, "gpa 0x%lx: 0x%lx, want 0x%lx");
		default:
			TEST_FAIL("unexpected ucall");
		}
		switch (uc.args[1]) {
		case STAGE_FILLED:
			ok &= counts_are(vm, fd, &filled, "filled");
			break;
		case STAGE_SPLIT:
			ok &= counts_are(vm, fd, &split, "split");
			ok &= expect(*shared == privmem_word(gpa, TAG_GUEST_MSG),
				     "the VMM reads 0x%lx in the shared page, want 0x%lx",
				     *shared, privmem_word(gpa, TAG_GUEST_MSG));
			break;
		case STAGE_PROMOTED:
			ok &= counts_are(vm, fd, &promoted, "promoted");
			break;
		default:
			TEST_FAIL("unknown stage %lu", uc.args[1]);
		}
	}
out:
	if (map)
		munmap(map, SZ_2M);
	kvm_vm_free(vm);
	/* The VM's mappings are gone; the file still holds the block. */
	close(fd);
	return ok;
}

#define MIDDLE	(BLOCK_NPAGES / 2 + 3)

static bool test_split_promote_start(void)
{
	return run_split_and_promote(0, SEPARATE);
}

static bool test_split_promote_middle(void)
{
	return run_split_and_promote(MIDDLE, SEPARATE);
}

static bool test_split_promote_end(void)
{
	return run_split_and_promote(BLOCK_NPAGES - 1, SEPARATE);
}

static bool test_split_punch_start(void)
{
	return run_split_and_promote(0, PUNCH);
}

static bool test_split_punch_middle(void)
{
	return run_split_and_promote(MIDDLE, PUNCH);
}

static bool test_split_punch_end(void)
{
	return run_split_and_promote(BLOCK_NPAGES - 1, PUNCH);
}

static bool test_in_place_promote_start(void)
{
	return run_split_and_promote(0, IN_PLACE);
}

static bool test_in_place_promote_middle(void)
{
	return run_split_and_promote(MIDDLE, IN_PLACE);
}

static bool test_in_place_promote_end(void)
{
	return run_split_and_promote(BLOCK_NPAGES - 1, IN_PLACE);
}

static const struct {
	bool (*fn)(void);
	const char *name;
} tests[] = {
	{ test_split_promote_start, "split_promote_start" },
	{ test_split_promote_middle, "split_promote_middle" },
	{ test_split_promote_end, "split_promote_end" },
	{ test_split_punch_start, "split_punch_start" },
	{ test_split_punch_middle, "split_punch_middle" },
	{ test_split_punch_end, "split_punch_end" },
	{ test_in_place_promote_start, "in_place_promote_start" },
	{ test_in_place_promote_middle, "in_place_promote_middle" },
	{ test_in_place_promote_end, "in_place_promote_end" },
};

int main(void)
{
	int i;

	TEST_REQUIRE(vm_type_supported(KVM_X86_SW_PROTECTED_VM));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_GUEST_MEMFD));
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) &
		     GUEST_MEMFD_FLAG_MMAP);
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_EXIT_HYPERCALL) &
		     (1ul << KVM_HC_MAP_GPA_RANGE));
	pin_self_to_cpu(0);

	ksft_print_header();
	huge = has_huge_folios();
	ksft_print_msg("private memory in %s folios\n", huge ? "2M" : "4K");
	ksft_set_plan(ARRAY_SIZE(tests));
	for (i = 0; i < ARRAY_SIZE(tests); i++)
		ksft_test_result(tests[i].fn(), "%s (%s folios)\n",
				 tests[i].name, huge ? "2M" : "4K");
	ksft_finished();
}
