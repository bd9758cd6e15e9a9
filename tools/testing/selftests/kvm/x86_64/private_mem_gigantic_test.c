// SPDX-License-Identifier: GPL-2.0-only
/*
 * privmem's pool of 1 GiB pages: a SW-protected VM whose 1 GiB of private
 * memory comes from the pool is mapped with one 1G nested page table entry
 * (the VM's pages_1g stat) once all of it is in the guest_memfd; punching
 * part of it splits the mapping and keeps the guest's data elsewhere;
 * filling the hole again makes the page whole and the mapping 1G again
 * (pages_1g, and private_pages_1g/_2m for the private mappings alone).
 * The pool is reserved and released through sysfs, with its errnos.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "privmem_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define POOL		"/sys/kernel/mm/privmem/gigantic_pages"
#define POOL_FREE	"/sys/kernel/mm/privmem/gigantic_pages_free"

#define TEST_SLOT	10
#define TEST_GPA	(4ull << 30)
#define TEST_SIZE	BIT_ULL(30)
#define TEST_NPAGES	(TEST_SIZE >> PAGE_SHIFT)
#define SZ_2M		(2ull << 20)

#define EXPECT_EQ(a, b)							\
do {									\
	long __a = (a), __b = (b);					\
									\
	TEST_ASSERT(__a == __b, "%s is %ld, want %ld", #a, __a, __b);	\
} while (0)

enum { OP_FILL = 1, OP_CHECK, OP_CHECK_ZERO };

struct guest_cmd {
	uint64_t op;
	uint64_t gpa;
	uint64_t size;
	uint64_t seed;
};

static struct guest_cmd guest_cmd;

/* The pool's size before the test: 1 if reserved at boot, else 0. */
static long pool_initial;

/* One qword per 4 KiB page, derived from its GPA, is enough to tell. */
static void guest_code(void)
{
	uint64_t gpa, *p;

	for (;;) {
		uint64_t end = guest_cmd.gpa + guest_cmd.size;

		for (gpa = guest_cmd.gpa; gpa < end; gpa += PAGE_SIZE) {
			p = (uint64_t *)(gpa + 64);
			switch (guest_cmd.op) {
			case OP_FILL:
				WRITE_ONCE(*p, gpa ^ guest_cmd.seed);
				break;
			case OP_CHECK:
				GUEST_ASSERT_2(READ_ONCE(*p) == (gpa ^ guest_cmd.seed),
					       gpa, READ_ONCE(*p));
				break;
			case OP_CHECK_ZERO:
				GUEST_ASSERT_2(!READ_ONCE(*p), gpa, READ_ONCE(*p));
				break;
			}
		}
		GUEST_SYNC(guest_cmd.op);
	}
}

struct test_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int fd;
};

static long sysfs_read(const char *path)
{
	char buf[32] = "";
	long val = -1;
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			val = strtol(buf, NULL, 0);
		close(fd);
	}
	return val;
}

/* Write @val to @path; 0 or the errno. */
static int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	int err = 0;

	TEST_ASSERT(fd >= 0, "open %s: %s", path, strerror(errno));
	if (write(fd, val, strlen(val)) < 0)
		err = errno;
	close(fd);
	return err;
}

static void guest_do(struct test_vm *t, uint64_t op, uint64_t gpa,
		     uint64_t size, uint64_t seed)
{
	struct ucall uc;

	guest_cmd = (struct guest_cmd){ op, gpa, size, seed };
	sync_global_to_guest(t->vm, guest_cmd);
	vcpu_run(t->vcpu);
	switch (get_ucall(t->vcpu, &uc)) {
	case UCALL_SYNC:
		EXPECT_EQ(uc.args[1], op);
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT_2(uc, "gpa 0x%lx holds 0x%lx");
		break;
	default:
		TEST_FAIL("unexpected exit %s",
			  exit_reason_str(t->vcpu->run->exit_reason));
	}
}

static void test_vm_create(struct test_vm *t)
{
	uint64_t off;

	/* Page tables for the 2M guest mappings below, in slot 0. */
	t->vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, 1, 64,
					    guest_code, &t->vcpu);
	vm_userspace_mem_region_add(t->vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, TEST_NPAGES, 0);
	t->fd = vm_create_guest_memfd(t->vm, TEST_SIZE, 0);
	vm_mem_region_bind_guest_memfd(t->vm, TEST_SLOT, t->fd, 0);
	vm_mem_set_private(t->vm, TEST_GPA, TEST_SIZE);
	for (off = 0; off < TEST_SIZE; off += SZ_2M)
		__virt_pg_map(t->vm, TEST_GPA + off, TEST_GPA + off, PG_LEVEL_2M);
}

static void test_vm_free(struct test_vm *t)
{
	kvm_vm_free(t->vm);
	close(t->fd);
}

static long gigantic_bytes(struct test_vm *t)
{
	return fdinfo_value(t->fd, "privmem_gigantic");
}

static uint64_t pages_1g(struct test_vm *t)
{
	return vm_get_stat(t->vm, "pages_1g");
}

/* The private leaf mappings of the VM at 1G and at 2M. */
static void expect_private_mappings(struct test_vm *t, uint64_t nr_1g,
				    uint64_t nr_2m)
{
	EXPECT_EQ(vm_get_stat(t->vm, "private_pages_1g"), nr_1g);
	EXPECT_EQ(vm_get_stat(t->vm, "private_pages_2m"), nr_2m);
}

/* A 1 GiB guest_memfd that the pool backs whole is mapped with one 1G entry. */
static void test_whole_page_maps_1g(struct test_vm *t)
{
	guest_memfd_allocate(t->fd, 0, TEST_SIZE);
	EXPECT_EQ(gigantic_bytes(t), TEST_SIZE);
	EXPECT_EQ(sysfs_read(POOL_FREE), 0);

	guest_do(t, OP_FILL, TEST_GPA, TEST_SIZE, 0x5eed);
	EXPECT_EQ(pages_1g(t), 1);
	expect_private_mappings(t, 1, 0);
	guest_do(t, OP_CHECK, TEST_GPA, TEST_SIZE, 0x5eed);
	ksft_test_result_pass("whole_page_maps_1g\n");
}

/* The guest's data on both sides of the hole [@hole, +@len) is intact. */
static void check_around(struct test_vm *t, uint64_t hole, uint64_t len)
{
	guest_do(t, OP_CHECK, TEST_GPA, hole, 0x5eed);
	guest_do(t, OP_CHECK, TEST_GPA + hole + len, TEST_SIZE - hole - len,
		 0x5eed);
}

/*
 * The hole [@hole, +@len) reads as zeroes; touching it brought the pieces
 * back, so the page is whole in the file.  Filled again, the guest's data
 * is all there and mapped with one 1G entry.
 */
static void check_hole_refills(struct test_vm *t, uint64_t hole, uint64_t len)
{
	guest_do(t, OP_CHECK_ZERO, TEST_GPA + hole, len, 0);
	EXPECT_EQ(gigantic_bytes(t), TEST_SIZE);
	guest_do(t, OP_FILL, TEST_GPA + hole, len, 0x5eed);
	guest_do(t, OP_CHECK, TEST_GPA, TEST_SIZE, 0x5eed);
	EXPECT_EQ(pages_1g(t), 1);
	expect_private_mappings(t, 1, 0);
}

/*
 * Punching 2 MiB takes one piece out: the 1G mapping goes, the rest of the
 * guest's data stays, the hole reads as zeroes.  Touching the hole brings
 * the piece back, the page is whole and mapped 1G again.
 */
static void test_punch_splits_refill_merges(struct test_vm *t)
{
	uint64_t hole = 300 * SZ_2M;

	guest_memfd_punch_hole(t->fd, hole, SZ_2M);
	EXPECT_EQ(gigantic_bytes(t), 0);
	EXPECT_EQ(pages_1g(t), 0);
	/* The page stays bound to the file: the pool has no free one. */
	EXPECT_EQ(sysfs_read(POOL_FREE), 0);

	check_around(t, hole, SZ_2M);
	EXPECT_EQ(pages_1g(t), 0);
	/* Every other piece mapped 2M, the hole not at all. */
	expect_private_mappings(t, 0, TEST_SIZE / SZ_2M - 1);

	check_hole_refills(t, hole, SZ_2M);
	ksft_test_result_pass("punch_splits_refill_merges\n");
}

/*
 * A punch inside a piece cannot split it: the punched pages are zeroed in
 * place, nothing leaves the file, the mapping becomes 1G again.
 */
static void test_partial_punch_zeroes(struct test_vm *t)
{
	uint64_t hole = 17 * SZ_2M + 5 * PAGE_SIZE;
	struct stat st;

	guest_memfd_punch_hole(t->fd, hole, 3 * PAGE_SIZE);
	TEST_ASSERT(!fstat(t->fd, &st), "fstat: %s", strerror(errno));
	EXPECT_EQ((uint64_t)st.st_blocks * 512, TEST_SIZE);
	EXPECT_EQ(gigantic_bytes(t), TEST_SIZE);

	guest_do(t, OP_CHECK_ZERO, TEST_GPA + hole, 3 * PAGE_SIZE, 0);
	check_around(t, hole, 3 * PAGE_SIZE);
	EXPECT_EQ(pages_1g(t), 1);
	/* Whole again for the next test. */
	guest_do(t, OP_FILL, TEST_GPA + hole, 3 * PAGE_SIZE, 0x5eed);
	ksft_test_result_pass("partial_punch_zeroes\n");
}

/*
 * A punch from inside one piece to inside the next but one: the piece in
 * between leaves the file, the punched parts of the two at the edges are
 * zeroed in place and stay; the data on both sides of the hole is kept.
 * Touching the hole brings the piece back and the page is whole again.
 */
static void test_punch_across_pieces(struct test_vm *t)
{
	uint64_t hole = 40 * SZ_2M - 2 * PAGE_SIZE;
	uint64_t len = 2 * PAGE_SIZE + SZ_2M + 3 * PAGE_SIZE;
	struct stat st;

	guest_memfd_punch_hole(t->fd, hole, len);
	TEST_ASSERT(!fstat(t->fd, &st), "fstat: %s", strerror(errno));
	EXPECT_EQ((uint64_t)st.st_blocks * 512, TEST_SIZE - SZ_2M);
	EXPECT_EQ(gigantic_bytes(t), 0);
	EXPECT_EQ(pages_1g(t), 0);

	check_around(t, hole, len);
	check_hole_refills(t, hole, len);
	ksft_test_result_pass("punch_across_pieces\n");
}

/*
 * Converting 4 KiB of the 1G-mapped page to shared (attributes only, the
 * private page stays in the file) splits the private mapping; converting
 * it back makes the range uniform and the next fault maps 1G again.  The
 * private content of the page survives, the guest's shared write does not
 * show through.
 */
static void test_conversion_splits_and_promotes(struct test_vm *t)
{
	uint64_t gpa = TEST_GPA + 99 * SZ_2M + 7 * PAGE_SIZE;

	vm_mem_set_shared(t->vm, gpa, PAGE_SIZE);
	EXPECT_EQ(pages_1g(t), 0);
	guest_do(t, OP_FILL, gpa, PAGE_SIZE, 0xabcd);
	guest_do(t, OP_CHECK, gpa, PAGE_SIZE, 0xabcd);
	guest_do(t, OP_CHECK, TEST_GPA, gpa - TEST_GPA, 0x5eed);
	guest_do(t, OP_CHECK, gpa + PAGE_SIZE,
		 TEST_GPA + TEST_SIZE - gpa - PAGE_SIZE, 0x5eed);
	EXPECT_EQ(vm_get_stat(t->vm, "private_pages_1g"), 0);
	EXPECT_EQ(gigantic_bytes(t), TEST_SIZE);

	vm_mem_set_private(t->vm, gpa, PAGE_SIZE);
	guest_do(t, OP_CHECK, TEST_GPA, TEST_SIZE, 0x5eed);
	expect_private_mappings(t, 1, 0);
	ksft_test_result_pass("conversion_splits_and_promotes\n");
}

/* With the pool empty, another file gets ordinary 2M folios. */
static void test_pool_empty_falls_back(struct test_vm *t)
{
	int fd = vm_create_guest_memfd(t->vm, TEST_SIZE, 0);

	guest_memfd_allocate(fd, 0, 4 * SZ_2M);
	EXPECT_EQ(fdinfo_value(fd, "privmem_gigantic"), 0);
	EXPECT_EQ(fdinfo_value(fd, "privmem_huge"), 4 * SZ_2M);
	close(fd);
	ksft_test_result_pass("pool_empty_falls_back\n");
}

/* Shrinking below what files use fails; bad values are refused. */
static void test_pool_errnos(void)
{
	static const struct {
		const char *val;
		int err;
	} cases[] = {
		{ "0", EBUSY },			/* the page is bound */
		{ "x", EINVAL },
		{ "-1", EINVAL },
		{ "1048576", EINVAL },		/* more than RAM */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		TEST_ASSERT(sysfs_write(POOL, cases[i].val) == cases[i].err,
			    "writing '%s' to %s: want %s", cases[i].val, POOL,
			    strerror(cases[i].err));
	EXPECT_EQ(sysfs_read(POOL), 1);
	ksft_test_result_pass("pool_errnos\n");
}

/*
 * Closing the file gives the page back to the pool, which can then shrink.
 * A page reserved at boot is reserved again if memory still allows it.
 */
static void test_release_returns_page(struct test_vm *t)
{
	test_vm_free(t);
	EXPECT_EQ(sysfs_read(POOL_FREE), 1);
	EXPECT_EQ(sysfs_write(POOL, "0"), 0);
	EXPECT_EQ(sysfs_read(POOL), 0);
	EXPECT_EQ(sysfs_read(POOL_FREE), 0);
	if (pool_initial)
		sysfs_write(POOL, "1");
	ksft_test_result_pass("release_returns_page\n");
}

int main(int argc, char *argv[])
{
	struct test_vm t;
	int err;

	TEST_REQUIRE(vm_type_supported(KVM_X86_SW_PROTECTED_VM));
	TEST_REQUIRE(sysfs_read(POOL) >= 0);
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_GBPAGES));

	/*
	 * Reserved at boot (privmem.gigantic_pages=1) or now: late in a boot
	 * that ran other tests, 1 GiB of contiguous memory may be gone.
	 */
	pool_initial = sysfs_read(POOL);
	TEST_ASSERT(pool_initial <= 1, "the pool already has %ld pages",
		    pool_initial);
	err = pool_initial ? 0 : sysfs_write(POOL, "1");
	TEST_ASSERT(!err, "reserving a 1 GiB page: %s", strerror(err));
	EXPECT_EQ(sysfs_read(POOL), 1);
	EXPECT_EQ(sysfs_read(POOL_FREE), 1);

	ksft_print_header();
	ksft_set_plan(8);
	test_vm_create(&t);
	test_whole_page_maps_1g(&t);
	test_punch_splits_refill_merges(&t);
	test_partial_punch_zeroes(&t);
	test_punch_across_pieces(&t);
	test_conversion_splits_and_promotes(&t);
	test_pool_empty_falls_back(&t);
	test_pool_errnos();
	test_release_returns_page(&t);
	ksft_finished();
}
