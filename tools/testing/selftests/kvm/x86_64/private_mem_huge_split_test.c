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
 * uniformly private); after a punch the block is 511 4K folios and stays
 * mapped at 4K until the guest touches the punched page: its new 4K folio
 * fills the last hole, the allocator merges the pieces into one 2M folio
 * (a copy), and the block is mapped 2M again with the guest's data kept.
 * The same again on a guest_memfd-only slot, where the page is converted
 * in place: its folio stays whole too, the VMM reads the guest's message
 * through its mapping of the file, and the page keeps the message when it
 * turns private.
 *
 * The shared side: a block of a guest_memfd-only slot that is shared,
 * mapped 2M from its folio; one page goes private and back, and the
 * block's shared 4K mappings are promoted to one 2M mapping again (the
 * VM's pages_4k/2m less the private ones).
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
	STAGE_MERGED,	/* the page read too, the block read back */
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

/*
 * @after: what the page holds once back to the block's kind (~0: zeroes).
 * @shared_block: the block is shared and the page goes private and back,
 * rather than the other way round.
 */
static void guest_code(uint64_t page, uint64_t after, uint64_t shared_block)
{
	uint64_t gpa = TEST_GPA + page * PAGE_SIZE;

	guest_fill_words(TEST_GPA, SZ_2M, TAG_PRIVATE, sizeof(uint64_t));
	GUEST_SYNC(STAGE_FILLED);

	guest_map(gpa, shared_block);
	guest_check(TEST_GPA, SZ_2M, TAG_PRIVATE, gpa);
	guest_fill_words(gpa, PAGE_SIZE, TAG_GUEST_MSG, sizeof(uint64_t));
	GUEST_SYNC(STAGE_SPLIT);

	guest_map(gpa, !shared_block);
	/*
	 * The rest first: its 4K mappings were still there, so only KVM
	 * zapping them can make this fault and map the block 2M again.
	 */
	guest_check(TEST_GPA, SZ_2M, TAG_PRIVATE, gpa);
	GUEST_SYNC(STAGE_PROMOTED);
	/* After a punch, this fault fills the last hole: a merge. */
	guest_check(gpa, PAGE_SIZE, after, ~0ull);
	guest_check(TEST_GPA, SZ_2M, TAG_PRIVATE, gpa);
	GUEST_SYNC(STAGE_MERGED);
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
 * A SW-protected VM whose block at TEST_GPA comes from a new guest_memfd
 * (created with @gmem_flags), private, and one vCPU running @guest_code.
 */
static struct kvm_vm *create_block_vm(void *guest_code, uint64_t gmem_flags,
				      struct kvm_vcpu **vcpu, int *fd)
{
	struct kvm_vm *vm;

	vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, 1,
					 BLOCK_NPAGES, guest_code, vcpu);
	vm_enable_map_gpa_range_exits(vm);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, BLOCK_NPAGES, 0);
	*fd = vm_create_guest_memfd(vm, SZ_2M, gmem_flags);
	vm_mem_region_bind_guest_memfd(vm, TEST_SLOT, *fd, 0);
	vm_mem_set_private(vm, TEST_GPA, SZ_2M);
	virt_map(vm, TEST_GPA, TEST_GPA, BLOCK_NPAGES);
	return vm;
}

/*
 * Run the guest to its next stage, doing the conversions it asks for on
 * the way (punching pages made shared if @punch): the stage, or -1 once
 * the guest is done.
 */
static int next_stage(struct kvm_vm *vm, struct kvm_vcpu *vcpu, int fd,
		      bool punch)
{
	struct ucall uc;

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
			return uc.args[1];
		case UCALL_DONE:
			return -1;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT_3(uc, "gpa 0x%lx: 0x%lx, want 0x%lx");
		default:
			TEST_FAIL("unexpected ucall");
		}
	}
}

/* Whether the VMM's mapping shows the guest's word for @gpa with @tag. */
static bool vmm_reads(const uint64_t *shared, uint64_t gpa, uint64_t tag)
{
	return expect(*shared == privmem_word(gpa, tag),
		      "the VMM reads 0x%lx in the shared page, want 0x%lx",
		      *shared, privmem_word(gpa, tag));
}

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
	/* Touched, the page is back: after a punch, the pieces merged. */
	const struct counts merged = filled;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t *shared;
	bool ok = true;
	int fd, stage;
	char *map;

	vm = create_block_vm(guest_code, mode == IN_PLACE ?
			     GUEST_MEMFD_FLAG_MMAP : 0, &vcpu, &fd);
	vcpu_args_set(vcpu, 3, page, after, 0ull);
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

	while ((stage = next_stage(vm, vcpu, fd, punch)) >= 0) {
		switch (stage) {
		case STAGE_FILLED:
			ok &= counts_are(vm, fd, &filled, "filled");
			break;
		case STAGE_SPLIT:
			ok &= counts_are(vm, fd, &split, "split");
			ok &= vmm_reads(shared, gpa, TAG_GUEST_MSG);
			break;
		case STAGE_PROMOTED:
			ok &= counts_are(vm, fd, &promoted, "promoted");
			break;
		case STAGE_MERGED:
			ok &= counts_are(vm, fd, &merged, "merged");
			break;
		default:
			TEST_FAIL("unknown stage %d", stage);
		}
	}
	if (map)
		munmap(map, SZ_2M);
	kvm_vm_free(vm);
	/* The VM's mappings are gone; the file still holds the block. */
	close(fd);
	return ok;
}

/*
 * The block's mappings: shared 2M ones are the VM's 2M mappings less the
 * private ones (the other slots are mapped 4K only: their memory is
 * MADV_NOHUGEPAGE), 4K ones are counted for private pages only, since the
 * guest's code and stack are mapped 4K as well.
 */
struct shared_counts {
	long shared_2m, private_4k, private_2m;
};

static bool shared_counts_are(struct kvm_vm *vm,
			      const struct shared_counts *want,
			      const char *stage)
{
	long p2m = vm_get_stat(vm, "private_pages_2m");
	struct shared_counts got = {
		.shared_2m = vm_get_stat(vm, "pages_2m") - p2m,
		.private_4k = vm_get_stat(vm, "private_pages_4k"),
		.private_2m = p2m,
	};

	return expect(!memcmp(&got, want, sizeof(got)),
		      "%s: shared 2m %ld, private 4k %ld 2m %ld; want %ld, %ld %ld",
		      stage, got.shared_2m, got.private_4k, got.private_2m,
		      want->shared_2m, want->private_4k, want->private_2m);
}

/*
 * Page @page of a shared block of a guest_memfd-only slot goes private and
 * back; the block's shared mappings are split and promoted like private
 * ones, and the page keeps the guest's message both ways.
 */
static bool run_shared_promote(uint64_t page)
{
	uint64_t gpa = TEST_GPA + page * PAGE_SIZE;
	const struct shared_counts filled = { huge, 0, 0 };
	const struct shared_counts split = { 0, 1, 0 };
	const struct shared_counts promoted = filled;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t *shared;
	bool ok = true;
	int fd, stage;
	char *map;

	vm = create_block_vm(guest_code, GUEST_MEMFD_FLAG_MMAP, &vcpu, &fd);
	/* The block starts private: make all of it shared, in place. */
	vm_mem_set_shared(vm, TEST_GPA, SZ_2M);
	vcpu_args_set(vcpu, 3, page, TAG_GUEST_MSG, 1ull);
	map = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	TEST_ASSERT(map != MAP_FAILED, "mmap of the guest_memfd failed");
	shared = (uint64_t *)(map + page * PAGE_SIZE);

	while ((stage = next_stage(vm, vcpu, fd, false)) >= 0) {
		switch (stage) {
		case STAGE_FILLED:
			ok &= shared_counts_are(vm, &filled, "filled");
			ok &= vmm_reads(shared, gpa, TAG_PRIVATE);
			break;
		case STAGE_SPLIT:
			ok &= shared_counts_are(vm, &split, "split");
			break;
		case STAGE_PROMOTED:
			ok &= shared_counts_are(vm, &promoted, "promoted");
			ok &= vmm_reads(shared, gpa, TAG_GUEST_MSG);
			break;
		case STAGE_MERGED:
			ok &= shared_counts_are(vm, &filled, "page back");
			break;
		default:
			TEST_FAIL("unknown stage %d", stage);
		}
	}
	munmap(map, SZ_2M);
	kvm_vm_free(vm);
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

static bool test_shared_promote_start(void)
{
	return run_shared_promote(0);
}

static bool test_shared_promote_middle(void)
{
	return run_shared_promote(MIDDLE);
}

static bool test_shared_promote_end(void)
{
	return run_shared_promote(BLOCK_NPAGES - 1);
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
	{ test_shared_promote_start, "shared_promote_start" },
	{ test_shared_promote_middle, "shared_promote_middle" },
	{ test_shared_promote_end, "shared_promote_end" },
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
