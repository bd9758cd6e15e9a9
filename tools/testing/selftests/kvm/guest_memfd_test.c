// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest_memfd user-space ABI, seen from the host: the capabilities and
 * VM types that announce it, what KVM_CREATE_GUEST_MEMFD accepts, what the
 * returned file allows (fstat and fallocate) and refuses (read, write, mmap,
 * resize, splice), how KVM_SET_USER_MEMORY_REGION2 binds a range of the file
 * to a memslot, and KVM_SET_MEMORY_ATTRIBUTES.  No guest code runs here.
 *
 * Every test_*() function checks one behaviour and reports one TAP result;
 * bad inputs are tables of {input, expected errno}.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/compiler.h>
#include <linux/falloc.h>
#include <linux/sizes.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include "kvm_util.h"
#include "processor.h"
#include "privmem_util.h"
#include "privmem_vm.h"
#include "kselftest.h"

/* Size of the files the fd-semantics tests work on. */
#define GMEM_SIZE		SZ_1M
/* Memslot size and file size of the binding tests. */
#define SLOT_SIZE		SZ_2M
#define BIND_GMEM_SIZE		SZ_8M
/* First GPA the tests put memslots at; each slot gets its own 16 MiB. */
#define TEST_GPA		0x40000000ull
#define GPA_STRIDE		SZ_16M

/*
 * pread()/pwrite() on a guest_memfd: the file is not capable of positioned
 * I/O (no FMODE_PREAD/FMODE_PWRITE), so the VFS refuses both with ESPIPE
 * before it looks for the read and write methods the file does not have
 * either (plain read() and write() get EINVAL for those).
 */
#define GMEM_PRW_ERRNO		ESPIPE

static uint64_t slot_gpa(uint32_t slot)
{
	return TEST_GPA + (uint64_t)slot * GPA_STRIDE;
}

static struct kvm_vm *create_sw_vm(void)
{
	return ____vm_create_type(VM_MODE_DEFAULT, 0, KVM_X86_SW_PROTECTED_VM);
}

static struct kvm_vm *create_default_vm(void)
{
	return ____vm_create_type(VM_MODE_DEFAULT, 0, KVM_X86_DEFAULT_VM);
}

/* An anonymous mapping of @size: the shared view a memslot points at. */
static void *alloc_shared_view(size_t size)
{
	void *hva = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(hva != MAP_FAILED, "mmap(%zu) of a shared view failed", size);
	return hva;
}

/* KVM_CREATE_GUEST_MEMFD with a full argument; a returned fd is closed. */
static int try_create_gmem(struct kvm_vm *vm, struct kvm_create_guest_memfd *args)
{
	int fd = __vm_ioctl(vm, KVM_CREATE_GUEST_MEMFD, args);

	if (fd >= 0)
		close(fd);
	return fd < 0 ? fd : 0;
}

static int delete_slot2(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, int fd,
			uint64_t offset)
{
	return __vm_set_user_memory_region2(vm, slot, KVM_MEM_GUEST_MEMFD, gpa, 0,
					    NULL, fd, offset);
}

/* What most tests work on: a VM, one guest_memfd of it, a shared view. */
struct gmem_env {
	struct kvm_vm *vm;
	int fd;
	void *hva;		/* NULL: no shared view */
	size_t view_size;
};

/* A software-protected VM, a guest_memfd of @file_size, a @view_size view. */
static void gmem_env_create(struct gmem_env *e, uint64_t file_size,
			    size_t view_size)
{
	e->vm = create_sw_vm();
	e->fd = vm_create_guest_memfd(e->vm, file_size, 0);
	e->view_size = view_size;
	e->hva = view_size ? alloc_shared_view(view_size) : NULL;
}

static void gmem_env_destroy(struct gmem_env *e)
{
	if (e->hva)
		munmap(e->hva, e->view_size);
	close(e->fd);
	kvm_vm_free(e->vm);
}

/*
 * Bind [@offset, +@size) of the file to @slot, at slot_gpa(@slot), with
 * @flags: the outcome must be @want.  A binding that is made is deleted
 * again, which must work, so that the next case starts from no slot.
 */
static bool __printf(7, 8) bind_outcome(struct gmem_env *e, uint32_t slot,
					uint32_t flags, uint64_t size,
					uint64_t offset, int want,
					const char *fmt, ...)
{
	char what[160];
	va_list ap;
	bool ok;
	int r;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);

	r = __vm_set_user_memory_region2(e->vm, slot, flags, slot_gpa(slot),
					 size, e->hva, e->fd, offset);
	ok = outcome_is(r, want, "%s", what);
	if (!r)
		ok &= outcome_is(delete_slot2(e->vm, slot, slot_gpa(slot), e->fd,
					      offset), 0, "deleting the slot: %s",
				 what);
	return ok;
}

/* ---------------------------------------------------------------------- */
/* Capabilities and VM types                                               */
/* ---------------------------------------------------------------------- */

static bool test_caps_advertised(void)
{
	static const struct {
		const char *name;
		long cap;
	} caps[] = {
		{ "KVM_CAP_USER_MEMORY2", KVM_CAP_USER_MEMORY2 },
		{ "KVM_CAP_MEMORY_FAULT_INFO", KVM_CAP_MEMORY_FAULT_INFO },
		{ "KVM_CAP_GUEST_MEMFD", KVM_CAP_GUEST_MEMFD },
	};
	struct kvm_vm *vm = create_sw_vm();
	bool ok = true;
	int i;

	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		ok &= expect(kvm_check_cap(caps[i].cap) != 0,
			     "%s (%ld) is 0 on /dev/kvm", caps[i].name,
			     caps[i].cap);
		ok &= expect(vm_check_cap(vm, caps[i].cap) != 0,
			     "%s (%ld) is 0 on a software-protected VM",
			     caps[i].name, caps[i].cap);
	}
	kvm_vm_free(vm);
	return ok;
}

static bool test_vm_types_advertised(void)
{
	unsigned int types = kvm_check_cap(KVM_CAP_VM_TYPES);
	bool ok = true;

	ok &= expect(types & BIT(KVM_X86_DEFAULT_VM),
		     "KVM_CAP_VM_TYPES 0x%x lacks KVM_X86_DEFAULT_VM", types);
	ok &= expect(types & BIT(KVM_X86_SW_PROTECTED_VM),
		     "KVM_CAP_VM_TYPES 0x%x lacks KVM_X86_SW_PROTECTED_VM", types);
	return ok;
}

#define TDP_MMU_PARAM	"/sys/module/kvm/parameters/tdp_mmu"

static void set_tdp_mmu(bool on)
{
	int fd = open(TDP_MMU_PARAM, O_WRONLY);

	TEST_ASSERT(fd >= 0, "opening " TDP_MMU_PARAM " failed");
	TEST_ASSERT(write(fd, on ? "Y" : "N", 1) == 1,
		    "writing " TDP_MMU_PARAM " failed");
	close(fd);
}

/*
 * Only the TDP MMU knows private GFNs: with kvm.tdp_mmu turned off at run
 * time, SW-protected VMs are neither announced nor created.
 */
static bool test_vm_type_needs_tdp_mmu(void)
{
	int kvm_fd = open_kvm_dev_path_or_exit();
	bool ok = true;
	int fd;

	set_tdp_mmu(false);
	ok &= expect(!(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM)),
		     "KVM_CAP_VM_TYPES announces SW-protected VMs without the TDP MMU");
	fd = ioctl(kvm_fd, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
	ok &= outcome_is(fd, EINVAL, "KVM_CREATE_VM(SW_PROTECTED) without the TDP MMU");
	if (fd >= 0)
		close(fd);
	fd = ioctl(kvm_fd, KVM_CREATE_VM, KVM_X86_DEFAULT_VM);
	ok &= outcome_is(fd, 0, "KVM_CREATE_VM(DEFAULT) without the TDP MMU");
	if (fd >= 0)
		close(fd);

	set_tdp_mmu(true);
	ok &= expect(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM),
		     "KVM_CAP_VM_TYPES lost SW-protected VMs with the TDP MMU back");
	fd = ioctl(kvm_fd, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
	ok &= outcome_is(fd, 0, "KVM_CREATE_VM(SW_PROTECTED) with the TDP MMU back");
	if (fd >= 0)
		close(fd);
	close(kvm_fd);
	return ok;
}

static bool test_vm_type_unknown_rejected(void)
{
	static const unsigned long candidates[] = {
		2, 3, 4, 5, 6, 7, 8, 15, 16, 31, 32, 63, 64, 99, 0x80000000ul,
		~0ul,
	};
	unsigned int types = kvm_check_cap(KVM_CAP_VM_TYPES);
	int kvm_fd = open_kvm_dev_path_or_exit();
	bool ok = true;
	int i, tried = 0;

	for (i = 0; i < ARRAY_SIZE(candidates); i++) {
		unsigned long type = candidates[i];
		int fd;

		/* Types the kernel announces are not unknown. */
		if (type < 32 && (types & BIT(type)))
			continue;

		fd = ioctl(kvm_fd, KVM_CREATE_VM, type);
		ok &= outcome_is(fd, EINVAL, "KVM_CREATE_VM type %lu", type);
		if (fd >= 0)
			close(fd);
		tried++;
	}
	close(kvm_fd);
	return ok && expect(tried, "no unknown VM type left to try");
}

/* ---------------------------------------------------------------------- */
/* KVM_CREATE_GUEST_MEMFD                                                  */
/* ---------------------------------------------------------------------- */

static bool test_create_size_invalid(void)
{
	static const uint64_t sizes[] = {
		0, 1, PAGE_SIZE / 2, PAGE_SIZE - 1, PAGE_SIZE + 1,
		2 * PAGE_SIZE - 1, SZ_2M + 512, SZ_1G - 1,
		/* Negative as a file size (loff_t). */
		1ull << 63, ~0ull & PAGE_MASK, ~0ull,
	};
	struct kvm_vm *vm = create_sw_vm();
	bool ok = true;
	int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct kvm_create_guest_memfd args = { .size = sizes[i] };

		ok &= outcome_is(try_create_gmem(vm, &args), EINVAL,
				 "size 0x%lx", sizes[i]);
	}
	kvm_vm_free(vm);
	return ok;
}

static bool test_create_valid(void)
{
	static const uint64_t sizes[] = { PAGE_SIZE, 3 * PAGE_SIZE, SZ_2M, SZ_1G };
	struct kvm_vm *vm = create_sw_vm();
	bool ok = true;
	int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct kvm_create_guest_memfd args = { .size = sizes[i] };

		ok &= outcome_is(try_create_gmem(vm, &args), 0, "size 0x%lx",
				 sizes[i]);
	}
	kvm_vm_free(vm);
	return ok;
}

static bool test_create_flags_unsupported(void)
{
	struct kvm_vm *vm = create_sw_vm();
	uint64_t vm_mask = vm_check_cap(vm, KVM_CAP_GUEST_MEMFD_FLAGS);
	uint64_t sys_mask = kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS);
	const uint64_t known = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
	bool ok = true;
	int bit;

	ok &= expect(!(vm_mask & ~known),
		     "VM's KVM_CAP_GUEST_MEMFD_FLAGS 0x%lx has unknown bits",
		     vm_mask);
	ok &= expect(!(sys_mask & ~known),
		     "/dev/kvm's KVM_CAP_GUEST_MEMFD_FLAGS 0x%lx has unknown bits",
		     sys_mask);

	for (bit = 0; bit < 64; bit++) {
		struct kvm_create_guest_memfd args = {
			.size = GMEM_SIZE,
			.flags = BIT_ULL(bit),
		};

		ok &= outcome_is(try_create_gmem(vm, &args),
				 (vm_mask & BIT_ULL(bit)) ? 0 : EINVAL,
				 "flags 0x%llx (supported 0x%lx)", args.flags,
				 vm_mask);
	}
	kvm_vm_free(vm);
	return ok;
}

static bool test_create_reserved_nonzero(void)
{
	static const uint64_t values[] = { 1, 1ull << 63 };
	struct kvm_vm *vm = create_sw_vm();
	bool ok = true;
	int i, v;

	for (i = 0; i < 6; i++) {
		for (v = 0; v < ARRAY_SIZE(values); v++) {
			struct kvm_create_guest_memfd args = { .size = GMEM_SIZE };

			args.reserved[i] = values[v];
			ok &= outcome_is(try_create_gmem(vm, &args), EINVAL,
					 "reserved[%d] = 0x%lx", i, values[v]);
		}
	}
	kvm_vm_free(vm);
	return ok;
}

static bool test_create_distinct_inodes(void)
{
	struct kvm_vm *vm = create_sw_vm();
	int fd1 = vm_create_guest_memfd(vm, GMEM_SIZE, 0);
	int fd2 = vm_create_guest_memfd(vm, GMEM_SIZE, 0);
	struct stat st1, st2;
	bool ok = true;

	TEST_ASSERT(!fstat(fd1, &st1) && !fstat(fd2, &st2), "fstat failed");
	ok &= expect(fd1 != fd2, "two creations returned the same fd %d", fd1);
	ok &= expect(st1.st_ino != st2.st_ino,
		     "two guest_memfds share inode %lu", st1.st_ino);

	close(fd1);
	close(fd2);
	kvm_vm_free(vm);
	return ok;
}

/* ---------------------------------------------------------------------- */
/* The guest_memfd file                                                    */
/* ---------------------------------------------------------------------- */

static bool test_read_write_rejected(void)
{
	static const size_t counts[] = { 0, 1, PAGE_SIZE };
	struct gmem_env e;
	char *buf = calloc(1, PAGE_SIZE);
	bool ok = true;
	int i;

	gmem_env_create(&e, GMEM_SIZE, 0);
	for (i = 0; i < ARRAY_SIZE(counts); i++) {
		ok &= outcome_is(read(e.fd, buf, counts[i]), EINVAL,
				 "read(%zu)", counts[i]);
		ok &= outcome_is(write(e.fd, buf, counts[i]), EINVAL,
				 "write(%zu)", counts[i]);
	}

	free(buf);
	gmem_env_destroy(&e);
	return ok;
}

static bool test_pread_pwrite_rejected(void)
{
	static const struct {
		size_t count;
		off_t offset;
	} cases[] = {
		{ PAGE_SIZE, 0 },
		{ 1, PAGE_SIZE },
		{ PAGE_SIZE, GMEM_SIZE - PAGE_SIZE },
		{ PAGE_SIZE, GMEM_SIZE },
	};
	struct gmem_env e;
	char *buf = calloc(1, PAGE_SIZE);
	bool ok = true;
	int i;

	gmem_env_create(&e, GMEM_SIZE, 0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ok &= outcome_is(pread(e.fd, buf, cases[i].count, cases[i].offset),
				 GMEM_PRW_ERRNO, "pread(%zu @ 0x%lx)",
				 cases[i].count, cases[i].offset);
		ok &= outcome_is(pwrite(e.fd, buf, cases[i].count, cases[i].offset),
				 GMEM_PRW_ERRNO, "pwrite(%zu @ 0x%lx)",
				 cases[i].count, cases[i].offset);
	}

	free(buf);
	gmem_env_destroy(&e);
	return ok;
}

static bool test_mmap_rejected(void)
{
	static const struct {
		int prot;
		int flags;
		off_t offset;
	} cases[] = {
		{ PROT_READ, MAP_SHARED, 0 },
		{ PROT_READ | PROT_WRITE, MAP_SHARED, 0 },
		{ PROT_READ, MAP_PRIVATE, 0 },
		{ PROT_READ | PROT_WRITE, MAP_PRIVATE, 0 },
		{ PROT_NONE, MAP_SHARED, 0 },
		{ PROT_READ | PROT_WRITE, MAP_SHARED, PAGE_SIZE },
	};
	struct gmem_env e;
	bool ok = true;
	int i;

	gmem_env_create(&e, GMEM_SIZE, 0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		void *p = mmap(NULL, PAGE_SIZE, cases[i].prot, cases[i].flags,
			       e.fd, cases[i].offset);

		ok &= outcome_is(p == MAP_FAILED ? -1 : 0, ENODEV,
				 "mmap(prot 0x%x, flags 0x%x, offset 0x%lx)",
				 cases[i].prot, cases[i].flags, cases[i].offset);
		if (p != MAP_FAILED)
			munmap(p, PAGE_SIZE);
	}

	gmem_env_destroy(&e);
	return ok;
}

static bool test_fstat_size_blksize(void)
{
	static const uint64_t sizes[] = { PAGE_SIZE, GMEM_SIZE, SZ_2M + PAGE_SIZE };
	struct kvm_vm *vm = create_sw_vm();
	bool ok = true;
	int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		int fd = vm_create_guest_memfd(vm, sizes[i], 0);
		struct stat st;

		TEST_ASSERT(!fstat(fd, &st), "fstat failed");
		ok &= expect(st.st_size == sizes[i],
			     "st_size %ld, want %lu", st.st_size, sizes[i]);
		ok &= expect(st.st_blksize == getpagesize(),
			     "st_blksize %ld, want %d", st.st_blksize,
			     getpagesize());
		close(fd);
	}
	kvm_vm_free(vm);
	return ok;
}

static bool test_ftruncate_rejected(void)
{
	static const off_t lengths[] = {
		0, PAGE_SIZE, GMEM_SIZE - PAGE_SIZE, GMEM_SIZE, GMEM_SIZE + PAGE_SIZE,
		2 * GMEM_SIZE,
	};
	struct gmem_env e;
	struct stat st;
	bool ok = true;
	int i;

	gmem_env_create(&e, GMEM_SIZE, 0);
	for (i = 0; i < ARRAY_SIZE(lengths); i++)
		ok &= outcome_is(ftruncate(e.fd, lengths[i]), EINVAL,
				 "ftruncate(0x%lx)", lengths[i]);

	TEST_ASSERT(!fstat(e.fd, &st), "fstat failed");
	ok &= expect(st.st_size == GMEM_SIZE,
		     "size changed to %ld by refused truncates", st.st_size);

	gmem_env_destroy(&e);
	return ok;
}

/* Modes a guest_memfd does not implement, each on a valid aligned range. */
static bool test_fallocate_mode_unsupported(void)
{
	static const struct {
		const char *name;
		int mode;
	} modes[] = {
		{ "0 (grows the file)", 0 },
		{ "PUNCH_HOLE", FALLOC_FL_PUNCH_HOLE },
		{ "ZERO_RANGE", FALLOC_FL_ZERO_RANGE },
		{ "ZERO_RANGE|KEEP_SIZE", FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE },
		{ "COLLAPSE_RANGE", FALLOC_FL_COLLAPSE_RANGE },
		{ "INSERT_RANGE", FALLOC_FL_INSERT_RANGE },
		{ "UNSHARE_RANGE", FALLOC_FL_UNSHARE_RANGE },
		{ "UNSHARE_RANGE|KEEP_SIZE",
		  FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE },
	};
	struct gmem_env e;
	struct stat st;
	bool ok = true;
	int i;

	gmem_env_create(&e, GMEM_SIZE, 0);
	for (i = 0; i < ARRAY_SIZE(modes); i++)
		ok &= outcome_is(fallocate(e.fd, modes[i].mode, 0, PAGE_SIZE),
				 EOPNOTSUPP, "fallocate(%s)", modes[i].name);

	TEST_ASSERT(!fstat(e.fd, &st), "fstat failed");
	ok &= expect(st.st_size == GMEM_SIZE,
		     "size changed to %ld by refused fallocates", st.st_size);

	gmem_env_destroy(&e);
	return ok;
}

struct range {
	off_t offset;
	off_t len;
};

/* Page-aligned ranges inside a GMEM_SIZE file. */
static const struct range good_ranges[] = {
	{ 0, PAGE_SIZE },
	{ PAGE_SIZE, 2 * PAGE_SIZE },
	{ GMEM_SIZE - PAGE_SIZE, PAGE_SIZE },
	{ SZ_64K, SZ_128K },
	{ 0, GMEM_SIZE },
	/* Again, over what is already there (or already a hole). */
	{ 0, GMEM_SIZE },
};

/* Ranges every fallocate() of a GMEM_SIZE file refuses with EINVAL. */
static const struct range bad_ranges[] = {
	{ 1, PAGE_SIZE },
	{ PAGE_SIZE / 2, PAGE_SIZE },
	{ PAGE_SIZE - 1, PAGE_SIZE },
	{ PAGE_SIZE + 1, PAGE_SIZE },
	{ 0, 1 },
	{ 0, PAGE_SIZE / 2 },
	{ 0, PAGE_SIZE - 1 },
	{ 0, PAGE_SIZE + 1 },
	{ PAGE_SIZE, GMEM_SIZE - 1 },
	{ 1, 1 },
	{ 0, 0 },
};

/*
 * Page-aligned ranges that reach past the end of a GMEM_SIZE file: an
 * allocation there fails with EINVAL, a punched hole succeeds (upstream,
 * like shmem, treats what lies beyond the end as a hole already).
 */
static const struct range past_end_ranges[] = {
	{ GMEM_SIZE, PAGE_SIZE },
	{ GMEM_SIZE - PAGE_SIZE, 2 * PAGE_SIZE },
	{ 0, GMEM_SIZE + PAGE_SIZE },
	{ 2 * GMEM_SIZE, PAGE_SIZE },
};

static bool fallocate_ranges(int fd, int mode, const char *name,
			     const struct range *ranges, int n, int want)
{
	bool ok = true;
	int i;

	for (i = 0; i < n; i++)
		ok &= outcome_is(fallocate(fd, mode, ranges[i].offset, ranges[i].len),
				 want, "fallocate(%s, 0x%lx, 0x%lx)", name,
				 ranges[i].offset, ranges[i].len);
	return ok;
}

static bool size_unchanged(int fd, off_t size)
{
	struct stat st;

	TEST_ASSERT(!fstat(fd, &st), "fstat failed");
	return expect(st.st_size == size, "st_size %ld, want %ld", st.st_size, size);
}

/*
 * fallocate(@mode) of each of @ranges on a new file, allocated in full
 * first if @allocated: each must end with @want, and the size stay.
 */
static bool fallocate_new_file(bool allocated, int mode, const char *name,
			       const struct range *ranges, int n, int want)
{
	struct gmem_env e;
	bool ok = true;

	gmem_env_create(&e, GMEM_SIZE, 0);
	if (allocated)
		ok &= outcome_is(fallocate(e.fd, FALLOC_FL_KEEP_SIZE, 0, GMEM_SIZE),
				 0, "allocating the whole file");
	ok &= fallocate_ranges(e.fd, mode, name, ranges, n, want);
	ok &= size_unchanged(e.fd, GMEM_SIZE);
	gmem_env_destroy(&e);
	return ok;
}

#define PUNCH_MODE	(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)

static bool test_fallocate_allocate(void)
{
	return fallocate_new_file(false, FALLOC_FL_KEEP_SIZE, "KEEP_SIZE",
				  good_ranges, ARRAY_SIZE(good_ranges), 0);
}

static bool test_fallocate_allocate_bad_range(void)
{
	return fallocate_new_file(false, FALLOC_FL_KEEP_SIZE, "KEEP_SIZE",
				  bad_ranges, ARRAY_SIZE(bad_ranges), EINVAL) &
	       fallocate_new_file(false, FALLOC_FL_KEEP_SIZE, "KEEP_SIZE",
				  past_end_ranges, ARRAY_SIZE(past_end_ranges),
				  EINVAL);
}

/* Holes in a file never allocated, then in an allocated one. */
static bool test_punch_hole(void)
{
	return fallocate_new_file(false, PUNCH_MODE, "PUNCH_HOLE|KEEP_SIZE",
				  good_ranges, ARRAY_SIZE(good_ranges), 0) &
	       fallocate_new_file(true, PUNCH_MODE, "PUNCH_HOLE|KEEP_SIZE",
				  good_ranges, ARRAY_SIZE(good_ranges), 0);
}

static bool test_punch_hole_bad_range(void)
{
	return fallocate_new_file(true, PUNCH_MODE, "PUNCH_HOLE|KEEP_SIZE",
				  bad_ranges, ARRAY_SIZE(bad_ranges), EINVAL);
}

/* Holes punched at or past the end succeed; inside, only the part inside goes. */
static bool test_punch_hole_past_end(void)
{
	struct gmem_env e;
	struct stat st;
	bool ok;

	gmem_env_create(&e, GMEM_SIZE, 0);
	TEST_ASSERT(!fallocate(e.fd, FALLOC_FL_KEEP_SIZE, 0, GMEM_SIZE),
		    "allocating the whole file failed");
	ok = fallocate_ranges(e.fd, PUNCH_MODE, "PUNCH_HOLE|KEEP_SIZE",
			      past_end_ranges, 2, 0);
	/* Only the last page was inside the file. */
	TEST_ASSERT(!fstat(e.fd, &st), "fstat failed");
	ok &= expect(st.st_blocks == (GMEM_SIZE - PAGE_SIZE) / 512,
		     "st_blocks %ld after punching the last page, want %ld",
		     (long)st.st_blocks, (long)(GMEM_SIZE - PAGE_SIZE) / 512);
	ok &= fallocate_ranges(e.fd, PUNCH_MODE, "PUNCH_HOLE|KEEP_SIZE",
			       past_end_ranges + 2,
			       ARRAY_SIZE(past_end_ranges) - 2, 0);
	TEST_ASSERT(!fstat(e.fd, &st), "fstat failed");
	ok &= expect(st.st_blocks == 0, "st_blocks %ld after punching it all",
		     (long)st.st_blocks);
	ok &= size_unchanged(e.fd, GMEM_SIZE);

	gmem_env_destroy(&e);
	return ok;
}

/* The PrivMem line of /proc/meminfo, in kB; -1 if there is none. */
static long meminfo_privmem_kb(void)
{
	char line[128];
	long val = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	TEST_ASSERT(f, "opening /proc/meminfo failed");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "PrivMem:", 8))
			val = strtol(line + 8, NULL, 10);
	fclose(f);
	return val;
}

/* st_blocks, fdinfo and /proc/meminfo follow what the file holds. */
static bool test_allocation_accounting(void)
{
	struct kvm_vm *vm = create_sw_vm();
	int fd = vm_create_guest_memfd(vm, SZ_4M, 0);
	long privmem_kb = meminfo_privmem_kb();
	struct stat st;
	bool ok = true;

	TEST_ASSERT(privmem_kb >= 0, "no PrivMem line in /proc/meminfo");

	ok &= expect(fdinfo_value(fd, "privmem_size") == SZ_4M,
		     "fdinfo privmem_size %ld", fdinfo_value(fd, "privmem_size"));
	ok &= expect(fdinfo_value(fd, "privmem_allocated") == 0,
		     "fdinfo privmem_allocated %ld before any allocation",
		     fdinfo_value(fd, "privmem_allocated"));

	TEST_ASSERT(!fallocate(fd, FALLOC_FL_KEEP_SIZE, SZ_2M, SZ_2M),
		    "fallocate failed");
	TEST_ASSERT(!fstat(fd, &st), "fstat failed");
	ok &= expect(st.st_blocks == SZ_2M / 512, "st_blocks %ld, want %d",
		     (long)st.st_blocks, SZ_2M / 512);
	ok &= expect(fdinfo_value(fd, "privmem_allocated") == SZ_2M,
		     "fdinfo privmem_allocated %ld",
		     fdinfo_value(fd, "privmem_allocated"));
	ok &= expect(meminfo_privmem_kb() - privmem_kb == SZ_2M / 1024,
		     "PrivMem grew by %ld kB, want %d",
		     meminfo_privmem_kb() - privmem_kb, SZ_2M / 1024);
	/* One 2M folio, or 4K ones where the page cache cannot split it. */
	ok &= expect(fdinfo_value(fd, "privmem_huge") == 0 ||
		     fdinfo_value(fd, "privmem_huge") == SZ_2M,
		     "fdinfo privmem_huge %ld", fdinfo_value(fd, "privmem_huge"));

	/* A punched page really goes, also out of a 2M folio. */
	guest_memfd_punch_hole(fd, SZ_2M + SZ_1M, PAGE_SIZE);
	TEST_ASSERT(!fstat(fd, &st), "fstat failed");
	ok &= expect(st.st_blocks == (SZ_2M - PAGE_SIZE) / 512,
		     "st_blocks %ld after a 4K punch, want %ld",
		     (long)st.st_blocks, (long)(SZ_2M - PAGE_SIZE) / 512);
	ok &= expect(fdinfo_value(fd, "privmem_allocated") == SZ_2M - PAGE_SIZE,
		     "fdinfo privmem_allocated %ld after a 4K punch",
		     fdinfo_value(fd, "privmem_allocated"));
	ok &= expect(fdinfo_value(fd, "privmem_huge") == 0,
		     "fdinfo privmem_huge %ld after a 4K punch",
		     fdinfo_value(fd, "privmem_huge"));

	guest_memfd_punch_hole(fd, 0, SZ_4M);
	TEST_ASSERT(!fstat(fd, &st), "fstat failed");
	ok &= expect(st.st_blocks == 0 && fdinfo_value(fd, "privmem_allocated") == 0,
		     "st_blocks %ld, privmem_allocated %ld after punching it all",
		     (long)st.st_blocks, fdinfo_value(fd, "privmem_allocated"));
	ok &= expect(meminfo_privmem_kb() == privmem_kb,
		     "PrivMem %ld kB after punching it all, was %ld",
		     meminfo_privmem_kb(), privmem_kb);

	close(fd);
	kvm_vm_free(vm);
	return ok;
}

/* Like upstream's, the new fd is not close-on-exec. */
static bool test_create_no_cloexec(void)
{
	struct gmem_env e;
	bool ok;
	int flags;

	gmem_env_create(&e, GMEM_SIZE, 0);
	flags = fcntl(e.fd, F_GETFD);
	ok = expect(flags >= 0 && !(flags & FD_CLOEXEC),
		    "F_GETFD 0x%x: FD_CLOEXEC set", flags);
	gmem_env_destroy(&e);
	return ok;
}

/* Closing the VM, with the file still bound to a memslot, leaves it usable. */
static bool test_fd_outlives_vm(void)
{
	struct kvm_vm *vm = create_sw_vm();
	int fd = vm_create_guest_memfd(vm, GMEM_SIZE, 0);
	void *hva = alloc_shared_view(GMEM_SIZE);
	char buf[8];
	bool ok = true;

	TEST_ASSERT(!fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, GMEM_SIZE / 2),
		    "fallocate before closing the VM failed");
	vm_set_user_memory_region2(vm, 1, KVM_MEM_GUEST_MEMFD, slot_gpa(1),
				   GMEM_SIZE, hva, fd, 0);
	kvm_vm_free(vm);
	munmap(hva, GMEM_SIZE);

	ok &= size_unchanged(fd, GMEM_SIZE);
	ok &= outcome_is(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, GMEM_SIZE), 0,
			 "fallocate(KEEP_SIZE) after the VM fd is closed");
	ok &= outcome_is(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				   0, GMEM_SIZE), 0,
			 "fallocate(PUNCH_HOLE) after the VM fd is closed");
	ok &= outcome_is(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, GMEM_SIZE + PAGE_SIZE),
			 EINVAL, "fallocate past the end after the VM fd is closed");
	ok &= outcome_is(read(fd, buf, sizeof(buf)), EINVAL,
			 "read after the VM fd is closed");
	ok &= outcome_is(close(fd), 0, "close");
	return ok;
}

/*
 * Closing the file while a memslot is bound to it: the slot can still be
 * deleted, and the slot id and GPA bound again to a new file.
 */
static bool test_fd_closed_while_bound(void)
{
	struct kvm_vm *vm = create_sw_vm();
	int fd = vm_create_guest_memfd(vm, SLOT_SIZE, 0);
	void *hva = alloc_shared_view(SLOT_SIZE);
	bool ok = true;

	TEST_ASSERT(!fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, SLOT_SIZE),
		    "fallocate failed");
	vm_set_user_memory_region2(vm, 1, KVM_MEM_GUEST_MEMFD, slot_gpa(1),
				   SLOT_SIZE, hva, fd, 0);
	vm_mem_set_private(vm, slot_gpa(1), SLOT_SIZE);
	ok &= outcome_is(close(fd), 0, "closing the bound guest_memfd");

	ok &= outcome_is(delete_slot2(vm, 1, slot_gpa(1), fd, 0), 0,
			 "deleting the slot of the closed file");
	fd = vm_create_guest_memfd(vm, SLOT_SIZE, 0);
	ok &= outcome_is(__vm_set_user_memory_region2(vm, 1, KVM_MEM_GUEST_MEMFD,
			 slot_gpa(1), SLOT_SIZE, hva, fd, 0), 0,
			 "binding a new file at the same slot and GPA");

	close(fd);
	kvm_vm_free(vm);
	munmap(hva, SLOT_SIZE);
	return ok;
}

static bool test_splice_sendfile_rejected(void)
{
	struct gmem_env e;
	int memfd = memfd_create("gmem-test-plain", 0);
	char *buf = calloc(1, PAGE_SIZE);
	off_t off = 0;
	int pipefd[2];
	bool ok = true;

	gmem_env_create(&e, GMEM_SIZE, 0);
	TEST_ASSERT(memfd >= 0 && buf, "memfd_create/calloc failed");
	TEST_ASSERT(write(memfd, buf, PAGE_SIZE) == PAGE_SIZE, "memfd write failed");
	TEST_ASSERT(!pipe2(pipefd, O_NONBLOCK), "pipe2 failed");
	TEST_ASSERT(!fallocate(e.fd, FALLOC_FL_KEEP_SIZE, 0, GMEM_SIZE),
		    "fallocate failed");

	/* Out of the guest_memfd. */
	ok &= outcome_is(splice(e.fd, NULL, pipefd[1], NULL, PAGE_SIZE, 0), EINVAL,
			 "splice(guest_memfd -> pipe)");
	ok &= outcome_is(sendfile(pipefd[1], e.fd, NULL, PAGE_SIZE), EINVAL,
			 "sendfile(guest_memfd -> pipe)");
	ok &= outcome_is(sendfile(memfd, e.fd, NULL, PAGE_SIZE), EINVAL,
			 "sendfile(guest_memfd -> memfd)");

	/* Into it. */
	TEST_ASSERT(write(pipefd[1], buf, PAGE_SIZE) == PAGE_SIZE, "pipe write failed");
	ok &= outcome_is(splice(pipefd[0], NULL, e.fd, NULL, PAGE_SIZE, 0), EINVAL,
			 "splice(pipe -> guest_memfd)");
	ok &= outcome_is(sendfile(e.fd, memfd, &off, PAGE_SIZE), EINVAL,
			 "sendfile(memfd -> guest_memfd)");

	close(pipefd[0]);
	close(pipefd[1]);
	close(memfd);
	free(buf);
	gmem_env_destroy(&e);
	return ok;
}

/* ---------------------------------------------------------------------- */
/* Binding a guest_memfd to a memslot: KVM_SET_USER_MEMORY_REGION2          */
/* ---------------------------------------------------------------------- */

static bool test_bind_valid(void)
{
	static const uint64_t offsets[] = { 0, SZ_2M, BIND_GMEM_SIZE - SLOT_SIZE };
	struct gmem_env e;
	bool ok = true;
	int i;

	gmem_env_create(&e, BIND_GMEM_SIZE, SLOT_SIZE);
	for (i = 0; i < ARRAY_SIZE(offsets); i++)
		ok &= bind_outcome(&e, 1 + i, KVM_MEM_GUEST_MEMFD, SLOT_SIZE,
				   offsets[i], 0, "binding offset 0x%lx",
				   offsets[i]);

	/* A slot smaller than the file, one page. */
	ok &= outcome_is(__vm_set_user_memory_region2(e.vm, 1, KVM_MEM_GUEST_MEMFD,
			 slot_gpa(1), PAGE_SIZE, e.hva, e.fd, PAGE_SIZE), 0,
			 "binding one page");

	gmem_env_destroy(&e);
	return ok;
}

static bool test_bind_wrong_fd(void)
{
	struct kvm_vm *vm = create_sw_vm();
	struct kvm_vm *other = create_sw_vm();
	int other_gmem = vm_create_guest_memfd(other, BIND_GMEM_SIZE, 0);
	int plain_memfd = memfd_create("gmem-test-plain", 0);
	int closed_fd = dup(vm->fd);
	void *hva = alloc_shared_view(SLOT_SIZE);
	struct {
		const char *what;
		int fd;
		int want;
	} cases[] = {
		{ "the /dev/kvm fd", vm->kvm_fd, EINVAL },
		{ "the VM fd", vm->fd, EINVAL },
		{ "another VM's fd", other->fd, EINVAL },
		{ "a memfd_create() fd", plain_memfd, EINVAL },
		{ "another VM's guest_memfd", other_gmem, EINVAL },
		{ "a closed fd", closed_fd, EBADF },
		{ "fd -1", -1, EBADF },
	};
	bool ok = true;
	int i;

	TEST_ASSERT(plain_memfd >= 0 && closed_fd >= 0, "memfd_create/dup failed");
	TEST_ASSERT(!ftruncate(plain_memfd, BIND_GMEM_SIZE), "ftruncate failed");
	close(closed_fd);

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		ok &= outcome_is(__vm_set_user_memory_region2(vm, 1,
				 KVM_MEM_GUEST_MEMFD, slot_gpa(1), SLOT_SIZE, hva,
				 cases[i].fd, 0), cases[i].want,
				 "guest_memfd = %s", cases[i].what);

	/* The other VM's file is fine for the other VM. */
	ok &= outcome_is(__vm_set_user_memory_region2(other, 1, KVM_MEM_GUEST_MEMFD,
			 slot_gpa(1), SLOT_SIZE, hva, other_gmem, 0), 0,
			 "binding a guest_memfd in the VM that created it");

	munmap(hva, SLOT_SIZE);
	close(plain_memfd);
	close(other_gmem);
	kvm_vm_free(other);
	kvm_vm_free(vm);
	return ok;
}

static bool test_bind_offset_unaligned(void)
{
	struct gmem_env e;
	int bad = 0, first_bad = -1, first_errno = 0;
	uint64_t offset;

	gmem_env_create(&e, BIND_GMEM_SIZE, SLOT_SIZE);
	for (offset = 1; offset < PAGE_SIZE; offset++) {
		int r = __vm_set_user_memory_region2(e.vm, 1, KVM_MEM_GUEST_MEMFD,
						     slot_gpa(1), SLOT_SIZE, e.hva,
						     e.fd, offset);

		if (r == -1 && errno == EINVAL)
			continue;
		if (!bad++) {
			first_bad = offset;
			first_errno = r ? errno : 0;
		}
		if (!r)
			delete_slot2(e.vm, 1, slot_gpa(1), e.fd, offset);
	}
	gmem_env_destroy(&e);
	return expect(!bad, "%d of %llu unaligned offsets not refused: first 0x%x, errno %d",
		      bad, PAGE_SIZE - 1, first_bad, first_errno);
}

static bool test_bind_past_fd_end(void)
{
	static const struct {
		uint64_t offset;
		uint64_t size;
	} cases[] = {
		{ BIND_GMEM_SIZE - SLOT_SIZE + PAGE_SIZE, SLOT_SIZE },
		{ BIND_GMEM_SIZE - PAGE_SIZE, SLOT_SIZE },
		{ BIND_GMEM_SIZE, SLOT_SIZE },
		{ BIND_GMEM_SIZE, PAGE_SIZE },
		{ 2 * BIND_GMEM_SIZE, SLOT_SIZE },
		{ 0, BIND_GMEM_SIZE + SLOT_SIZE },
		{ 1ull << 62, SLOT_SIZE },
		/* offset + size wraps around. */
		{ (~0ull & PAGE_MASK) - PAGE_SIZE, SLOT_SIZE },
		{ -(uint64_t)SLOT_SIZE, SLOT_SIZE },
	};
	struct gmem_env e;
	bool ok = true;
	int i;

	gmem_env_create(&e, BIND_GMEM_SIZE, BIND_GMEM_SIZE + SLOT_SIZE);
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		ok &= bind_outcome(&e, 1, KVM_MEM_GUEST_MEMFD, cases[i].size,
				   cases[i].offset, EINVAL,
				   "offset 0x%lx size 0x%lx of a 0x%x file",
				   cases[i].offset, cases[i].size, BIND_GMEM_SIZE);

	/* The last slot that fits still binds. */
	ok &= outcome_is(__vm_set_user_memory_region2(e.vm, 1, KVM_MEM_GUEST_MEMFD,
			 slot_gpa(1), SLOT_SIZE, e.hva, e.fd,
			 BIND_GMEM_SIZE - SLOT_SIZE), 0, "binding the file's tail");

	gmem_env_destroy(&e);
	return ok;
}

/*
 * Slot 1 binds [2M, 4M) of the file; other slots, at other GPAs, try ranges
 * of the same file around it.
 */
static bool test_bind_overlap(void)
{
	static const struct {
		const char *what;
		uint64_t offset;
		uint64_t size;
		int want;
	} cases[] = {
		{ "the same range", SZ_2M, SZ_2M, EEXIST },
		{ "overlap at the start", SZ_1M, SZ_2M, EEXIST },
		{ "one page at the start", SZ_2M - PAGE_SIZE, 2 * PAGE_SIZE, EEXIST },
		{ "overlap at the end", SZ_2M + SZ_1M, SZ_2M, EEXIST },
		{ "one page at the end", SZ_4M - PAGE_SIZE, 2 * PAGE_SIZE, EEXIST },
		{ "contained in it", SZ_2M + PAGE_SIZE, PAGE_SIZE, EEXIST },
		{ "its first page", SZ_2M, PAGE_SIZE, EEXIST },
		{ "its last page", SZ_4M - PAGE_SIZE, PAGE_SIZE, EEXIST },
		{ "containing it", 0, BIND_GMEM_SIZE, EEXIST },
		{ "right before it", 0, SZ_2M, 0 },
		{ "right after it", SZ_4M, SZ_2M, 0 },
		{ "the page before it", SZ_2M - PAGE_SIZE, PAGE_SIZE, 0 },
		{ "the page after it", SZ_4M, PAGE_SIZE, 0 },
		{ "the file's tail", BIND_GMEM_SIZE - SZ_2M, SZ_2M, 0 },
	};
	struct gmem_env e;
	bool ok = true;
	int i;

	gmem_env_create(&e, BIND_GMEM_SIZE, BIND_GMEM_SIZE);
	vm_set_user_memory_region2(e.vm, 1, KVM_MEM_GUEST_MEMFD, slot_gpa(1),
				   SZ_2M, e.hva, e.fd, SZ_2M);

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		ok &= bind_outcome(&e, 2 + i, KVM_MEM_GUEST_MEMFD, cases[i].size,
				   cases[i].offset, cases[i].want,
				   "second slot binding %s", cases[i].what);

	gmem_env_destroy(&e);
	return ok;
}

/* Try @flags on a guest_memfd slot: all of them must be refused. */
static bool bind_flags_refused(const uint32_t *flags, int n)
{
	struct gmem_env e;
	bool ok = true;
	int i;

	gmem_env_create(&e, BIND_GMEM_SIZE, SLOT_SIZE);
	for (i = 0; i < n; i++)
		ok &= bind_outcome(&e, 1, flags[i], SLOT_SIZE, 0, EINVAL,
				   "flags 0x%x", flags[i]);
	gmem_env_destroy(&e);
	return ok;
}

/* Dirty logging of private memory is not supported. */
static bool test_bind_dirty_log_rejected(void)
{
	static const uint32_t flags[] = {
		KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES,
		KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY,
	};

	return bind_flags_refused(flags, ARRAY_SIZE(flags));
}

/*
 * Read-only slots emulate MMIO on writes, which private memory cannot do:
 * upstream refuses KVM_MEM_READONLY together with KVM_MEM_GUEST_MEMFD.
 */
static bool test_bind_readonly_rejected(void)
{
	static const uint32_t flags[] = {
		KVM_MEM_GUEST_MEMFD | KVM_MEM_READONLY,
	};

	return bind_flags_refused(flags, ARRAY_SIZE(flags));
}

static bool test_region2_unknown_flags(void)
{
	struct gmem_env e;
	bool ok = true;
	int bit, with_gmem;

	gmem_env_create(&e, BIND_GMEM_SIZE, SLOT_SIZE);
	for (bit = 3; bit < 32; bit++) {
		for (with_gmem = 0; with_gmem < 2; with_gmem++) {
			uint32_t flags = BIT(bit) |
					 (with_gmem ? KVM_MEM_GUEST_MEMFD : 0);

			ok &= bind_outcome(&e, 1, flags, SLOT_SIZE, 0, EINVAL,
					   "flags 0x%x", flags);
		}
	}
	gmem_env_destroy(&e);
	return ok;
}

/* Anything but deleting a bound slot is refused and leaves it bound. */
static bool test_bound_slot_immutable(void)
{
	struct kvm_vm *vm = create_sw_vm();
	int fd = vm_create_guest_memfd(vm, BIND_GMEM_SIZE, 0);
	void *hva = alloc_shared_view(2 * SLOT_SIZE);
	void *hva2 = alloc_shared_view(SLOT_SIZE);
	const uint64_t gpa = slot_gpa(1);
	struct {
		const char *what;
		uint32_t flags;
		uint64_t gpa;
		uint64_t size;
		void *hva;
		uint64_t offset;
	} cases[] = {
		{ "a new GPA", KVM_MEM_GUEST_MEMFD, gpa + SLOT_SIZE, SLOT_SIZE, hva, 0 },
		{ "flags 0", 0, gpa, SLOT_SIZE, hva, 0 },
		{ "LOG_DIRTY_PAGES added",
		  KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES, gpa, SLOT_SIZE,
		  hva, 0 },
		{ "READONLY added", KVM_MEM_GUEST_MEMFD | KVM_MEM_READONLY, gpa,
		  SLOT_SIZE, hva, 0 },
		{ "LOG_DIRTY_PAGES instead", KVM_MEM_LOG_DIRTY_PAGES, gpa,
		  SLOT_SIZE, hva, 0 },
		{ "a new offset", KVM_MEM_GUEST_MEMFD, gpa, SLOT_SIZE, hva, SZ_2M },
		{ "a new size", KVM_MEM_GUEST_MEMFD, gpa, 2 * SLOT_SIZE, hva, 0 },
		{ "a new host address", KVM_MEM_GUEST_MEMFD, gpa, SLOT_SIZE, hva2, 0 },
	};
	bool ok = true;
	int i;

	vm_set_user_memory_region2(vm, 1, KVM_MEM_GUEST_MEMFD, gpa, SLOT_SIZE,
				   hva, fd, 0);

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		ok &= outcome_is(__vm_set_user_memory_region2(vm, 1, cases[i].flags,
				 cases[i].gpa, cases[i].size, cases[i].hva, fd,
				 cases[i].offset), EINVAL,
				 "re-issuing the bound slot with %s", cases[i].what);

	/* Still bound where it was: its range cannot be bound again. */
	ok &= outcome_is(__vm_set_user_memory_region2(vm, 2, KVM_MEM_GUEST_MEMFD,
			 slot_gpa(2), SLOT_SIZE, hva2, fd, 0), EEXIST,
			 "binding the bound range from another slot");
	/* And its GPA range is still taken. */
	ok &= outcome_is(__vm_set_user_memory_region2(vm, 2, KVM_MEM_GUEST_MEMFD,
			 gpa, SLOT_SIZE, hva2, fd, SZ_4M), EEXIST,
			 "another slot at the bound slot's GPA");

	munmap(hva, 2 * SLOT_SIZE);
	munmap(hva2, SLOT_SIZE);
	close(fd);
	kvm_vm_free(vm);
	return ok;
}

static bool test_bound_slot_delete_rebind(void)
{
	struct gmem_env e;
	bool ok = true;

	gmem_env_create(&e, BIND_GMEM_SIZE, SLOT_SIZE);
	vm_set_user_memory_region2(e.vm, 1, KVM_MEM_GUEST_MEMFD, slot_gpa(1),
				   SLOT_SIZE, e.hva, e.fd, 0);

	ok &= outcome_is(delete_slot2(e.vm, 1, slot_gpa(1), e.fd, 0), 0,
			 "deleting the bound slot");
	/* The range is free again: another slot may take it... */
	ok &= outcome_is(__vm_set_user_memory_region2(e.vm, 2, KVM_MEM_GUEST_MEMFD,
			 slot_gpa(2), SLOT_SIZE, e.hva, e.fd, 0), 0,
			 "binding the freed range from another slot");
	ok &= outcome_is(delete_slot2(e.vm, 2, slot_gpa(2), e.fd, 0), 0,
			 "deleting the other slot");
	/* ...or the same slot, at the same GPA. */
	ok &= outcome_is(__vm_set_user_memory_region2(e.vm, 1, KVM_MEM_GUEST_MEMFD,
			 slot_gpa(1), SLOT_SIZE, e.hva, e.fd, 0), 0,
			 "re-binding the same range");
	/* The re-binding is a real one. */
	ok &= outcome_is(__vm_set_user_memory_region2(e.vm, 2, KVM_MEM_GUEST_MEMFD,
			 slot_gpa(2), SLOT_SIZE, e.hva, e.fd, 0), EEXIST,
			 "binding the re-bound range from another slot");
	/* Deleting twice: the second finds no slot. */
	ok &= outcome_is(delete_slot2(e.vm, 1, slot_gpa(1), e.fd, 0), 0,
			 "deleting the re-bound slot");
	ok &= outcome_is(delete_slot2(e.vm, 1, slot_gpa(1), e.fd, 0), EINVAL,
			 "deleting it again");

	gmem_env_destroy(&e);
	return ok;
}

static bool test_region_v1_rejects_gmem(void)
{
	struct kvm_vm *vm = create_sw_vm();
	void *hva = alloc_shared_view(SLOT_SIZE);
	struct kvm_userspace_memory_region region = {
		.slot = 1,
		.flags = KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = slot_gpa(1),
		.memory_size = SLOT_SIZE,
		.userspace_addr = (uintptr_t)hva,
	};
	bool ok = true;
	int r;

	r = __vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);
	ok &= outcome_is(r, EINVAL, "KVM_SET_USER_MEMORY_REGION with KVM_MEM_GUEST_MEMFD");

	/* The same slot without the flag is fine: it is the flag v1 refuses. */
	region.flags = 0;
	ok &= outcome_is(__vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region), 0,
			 "KVM_SET_USER_MEMORY_REGION without flags");

	munmap(hva, SLOT_SIZE);
	kvm_vm_free(vm);
	return ok;
}

/*
 * 4.138: KVM_MEM_GUEST_MEMFD on every VM, with a guest_memfd of the VM
 * itself, whichever flags it was created with; another VM's stays EINVAL.
 */
static bool test_default_vm_binds_gmem_slot(void)
{
	static const uint64_t flags[] = {
		0, GUEST_MEMFD_FLAG_MMAP, GUEST_MEMFD_FLAG_INIT_SHARED,
		GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED,
	};
	struct kvm_vm *vm = create_default_vm();
	struct kvm_vm *sw_vm = create_sw_vm();
	void *hva = alloc_shared_view(SLOT_SIZE);
	bool ok = true;
	int fd, i;

	ok &= expect(vm_check_cap(vm, KVM_CAP_GUEST_MEMFD) == 1,
		     "KVM_CAP_GUEST_MEMFD is not 1 on a default VM");
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		fd = vm_create_guest_memfd(vm, BIND_GMEM_SIZE, flags[i]);
		ok &= outcome_is(__vm_set_user_memory_region2(vm, 1,
				 KVM_MEM_GUEST_MEMFD, slot_gpa(1), SLOT_SIZE,
				 hva, fd, 0), 0,
				 "KVM_MEM_GUEST_MEMFD on a default VM, file flags 0x%lx",
				 flags[i]);
		vm_set_user_memory_region2(vm, 1, 0, slot_gpa(1), 0, NULL, -1, 0);
		close(fd);
	}

	fd = vm_create_guest_memfd(sw_vm, BIND_GMEM_SIZE, 0);
	ok &= outcome_is(__vm_set_user_memory_region2(vm, 1, KVM_MEM_GUEST_MEMFD,
			 slot_gpa(1), SLOT_SIZE, hva, fd, 0), EINVAL,
			 "a software-protected VM's guest_memfd on a default VM");

	munmap(hva, SLOT_SIZE);
	close(fd);
	kvm_vm_free(sw_vm);
	kvm_vm_free(vm);
	return ok;
}

/* ---------------------------------------------------------------------- */
/* KVM_SET_MEMORY_ATTRIBUTES                                               */
/* ---------------------------------------------------------------------- */

static int set_attributes(struct kvm_vm *vm, uint64_t address, uint64_t size,
			  uint64_t attributes, uint64_t flags)
{
	struct kvm_memory_attributes attr = {
		.address = address,
		.size = size,
		.attributes = attributes,
		.flags = flags,
	};

	return __vm_ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, &attr);
}

/* A software-protected VM with a guest_memfd slot at slot_gpa(1). */
static void create_vm_with_gmem_slot(struct gmem_env *e)
{
	gmem_env_create(e, SLOT_SIZE, SLOT_SIZE);
	vm_set_user_memory_region2(e->vm, 1, KVM_MEM_GUEST_MEMFD, slot_gpa(1),
				   SLOT_SIZE, e->hva, e->fd, 0);
}

static bool test_attributes_cap(void)
{
	struct kvm_vm *sw_vm = create_sw_vm();
	struct kvm_vm *vm = create_default_vm();
	uint64_t sw = vm_check_cap(sw_vm, KVM_CAP_MEMORY_ATTRIBUTES);
	uint64_t def = vm_check_cap(vm, KVM_CAP_MEMORY_ATTRIBUTES);
	bool ok = true;

	ok &= expect(sw == KVM_MEMORY_ATTRIBUTE_PRIVATE,
		     "software-protected VM: KVM_CAP_MEMORY_ATTRIBUTES 0x%lx, want 0x%llx",
		     sw, KVM_MEMORY_ATTRIBUTE_PRIVATE);
	ok &= expect(def == 0, "default VM: KVM_CAP_MEMORY_ATTRIBUTES 0x%lx, want 0",
		     def);

	kvm_vm_free(vm);
	kvm_vm_free(sw_vm);
	return ok;
}

static bool test_attributes_set_valid(void)
{
	const uint64_t gpa = slot_gpa(1);
	const struct {
		uint64_t address;
		uint64_t size;
		uint64_t attributes;
	} cases[] = {
		{ gpa, SLOT_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE },
		{ gpa, SLOT_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE },
		{ gpa + PAGE_SIZE, PAGE_SIZE, 0 },
		{ gpa + SZ_1M, SZ_1M, 0 },
		{ gpa, SLOT_SIZE, 0 },
		{ gpa, SLOT_SIZE, 0 },
		{ gpa + SLOT_SIZE - PAGE_SIZE, PAGE_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE },
		{ gpa, PAGE_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE },
		{ gpa, SLOT_SIZE, 0 },
	};
	struct gmem_env e;
	bool ok = true;
	int i;

	create_vm_with_gmem_slot(&e);
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		ok &= outcome_is(set_attributes(e.vm, cases[i].address, cases[i].size,
						cases[i].attributes, 0), 0,
				 "attributes 0x%lx on [0x%lx, +0x%lx)",
				 cases[i].attributes, cases[i].address,
				 cases[i].size);

	gmem_env_destroy(&e);
	return ok;
}

static bool test_attributes_flags_rejected(void)
{
	struct gmem_env e;
	bool ok = true;
	int bit;

	create_vm_with_gmem_slot(&e);
	for (bit = 0; bit < 64; bit++)
		ok &= outcome_is(set_attributes(e.vm, slot_gpa(1), SLOT_SIZE,
						KVM_MEMORY_ATTRIBUTE_PRIVATE,
						BIT_ULL(bit)), EINVAL,
				 "flags 0x%llx", BIT_ULL(bit));

	gmem_env_destroy(&e);
	return ok;
}

static bool test_attributes_unsupported_bits(void)
{
	struct gmem_env e;
	uint64_t supported;
	bool ok = true;
	int bit;

	create_vm_with_gmem_slot(&e);
	supported = vm_check_cap(e.vm, KVM_CAP_MEMORY_ATTRIBUTES);
	for (bit = 0; bit < 64; bit++) {
		if (supported & BIT_ULL(bit))
			continue;
		ok &= outcome_is(set_attributes(e.vm, slot_gpa(1), SLOT_SIZE,
						BIT_ULL(bit), 0), EINVAL,
				 "attributes 0x%llx", BIT_ULL(bit));
		ok &= outcome_is(set_attributes(e.vm, slot_gpa(1), SLOT_SIZE,
						BIT_ULL(bit) | supported, 0), EINVAL,
				 "attributes 0x%llx", BIT_ULL(bit) | supported);
	}

	gmem_env_destroy(&e);
	return ok;
}

static bool test_attributes_bad_range(void)
{
	const uint64_t gpa = slot_gpa(1);
	const struct {
		uint64_t address;
		uint64_t size;
	} cases[] = {
		{ gpa, 0 },
		{ 0, 0 },
		{ gpa + 1, PAGE_SIZE },
		{ gpa + PAGE_SIZE / 2, PAGE_SIZE },
		{ gpa + PAGE_SIZE - 1, PAGE_SIZE },
		{ gpa, 1 },
		{ gpa, PAGE_SIZE / 2 },
		{ gpa, PAGE_SIZE - 1 },
		{ gpa, PAGE_SIZE + 1 },
		{ gpa + 1, 1 },
		/* address + size wraps around. */
		{ ~0ull & PAGE_MASK, 2 * PAGE_SIZE },
		{ ~0ull & PAGE_MASK, PAGE_SIZE },
		{ gpa, -gpa },
		{ gpa, ~0ull & PAGE_MASK },
	};
	struct gmem_env e;
	bool ok = true;
	int i, attr;

	create_vm_with_gmem_slot(&e);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		for (attr = 0; attr < 2; attr++) {
			uint64_t attributes = attr ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;

			ok &= outcome_is(set_attributes(e.vm, cases[i].address,
							cases[i].size, attributes, 0),
					 EINVAL, "attributes 0x%lx on [0x%lx, +0x%lx)",
					 attributes, cases[i].address,
					 cases[i].size);
		}
	}

	gmem_env_destroy(&e);
	return ok;
}

static bool test_attributes_default_vm_rejected(void)
{
	struct kvm_vm *vm = create_default_vm();
	void *hva = alloc_shared_view(SLOT_SIZE);
	bool ok = true;

	vm_set_user_memory_region2(vm, 1, 0, slot_gpa(1), SLOT_SIZE, hva, -1, 0);

	ok &= outcome_is(set_attributes(vm, slot_gpa(1), SLOT_SIZE,
					KVM_MEMORY_ATTRIBUTE_PRIVATE, 0), EINVAL,
			 "PRIVATE on a default VM");
	ok &= outcome_is(set_attributes(vm, slot_gpa(1), PAGE_SIZE,
					KVM_MEMORY_ATTRIBUTE_PRIVATE, 0), EINVAL,
			 "PRIVATE on one page of a default VM");

	kvm_vm_free(vm);
	munmap(hva, SLOT_SIZE);
	return ok;
}

static const struct privmem_test tests[] = {
	{ test_caps_advertised, "caps_advertised" },
	{ test_vm_types_advertised, "vm_types_advertised" },
	{ test_vm_type_unknown_rejected, "vm_type_unknown_rejected" },
	{ test_vm_type_needs_tdp_mmu, "vm_type_needs_tdp_mmu" },
	{ test_create_size_invalid, "create_size_invalid" },
	{ test_create_valid, "create_valid" },
	{ test_create_flags_unsupported, "create_flags_unsupported" },
	{ test_create_reserved_nonzero, "create_reserved_nonzero" },
	{ test_create_distinct_inodes, "create_distinct_inodes" },
	{ test_read_write_rejected, "read_write_rejected" },
	{ test_pread_pwrite_rejected, "pread_pwrite_rejected" },
	{ test_mmap_rejected, "mmap_rejected" },
	{ test_fstat_size_blksize, "fstat_size_blksize" },
	{ test_ftruncate_rejected, "ftruncate_rejected" },
	{ test_fallocate_mode_unsupported, "fallocate_mode_unsupported" },
	{ test_fallocate_allocate, "fallocate_allocate" },
	{ test_fallocate_allocate_bad_range, "fallocate_allocate_bad_range" },
	{ test_punch_hole, "punch_hole" },
	{ test_punch_hole_bad_range, "punch_hole_bad_range" },
	{ test_punch_hole_past_end, "punch_hole_past_end" },
	{ test_allocation_accounting, "allocation_accounting" },
	{ test_create_no_cloexec, "create_no_cloexec" },
	{ test_fd_outlives_vm, "fd_outlives_vm" },
	{ test_fd_closed_while_bound, "fd_closed_while_bound" },
	{ test_splice_sendfile_rejected, "splice_sendfile_rejected" },
	{ test_bind_valid, "bind_valid" },
	{ test_bind_wrong_fd, "bind_wrong_fd" },
	{ test_bind_offset_unaligned, "bind_offset_unaligned" },
	{ test_bind_past_fd_end, "bind_past_fd_end" },
	{ test_bind_overlap, "bind_overlap" },
	{ test_bind_dirty_log_rejected, "bind_dirty_log_rejected" },
	{ test_bind_readonly_rejected, "bind_readonly_rejected" },
	{ test_region2_unknown_flags, "region2_unknown_flags" },
	{ test_bound_slot_immutable, "bound_slot_immutable" },
	{ test_bound_slot_delete_rebind, "bound_slot_delete_rebind" },
	{ test_region_v1_rejects_gmem, "region_v1_rejects_gmem" },
	{ test_default_vm_binds_gmem_slot, "default_vm_binds_gmem_slot" },
	{ test_attributes_cap, "attributes_cap" },
	{ test_attributes_set_valid, "attributes_set_valid" },
	{ test_attributes_flags_rejected, "attributes_flags_rejected" },
	{ test_attributes_unsupported_bits, "attributes_unsupported_bits" },
	{ test_attributes_bad_range, "attributes_bad_range" },
	{ test_attributes_default_vm_rejected, "attributes_default_vm_rejected" },
};

int main(void)
{
	ksft_print_header();
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD));
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM));
	privmem_run_tests(tests, ARRAY_SIZE(tests));
}
