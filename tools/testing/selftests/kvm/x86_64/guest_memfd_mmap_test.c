// SPDX-License-Identifier: GPL-2.0-only
/*
 * GUEST_MEMFD_FLAG_MMAP and GUEST_MEMFD_FLAG_INIT_SHARED (api.rst 4.140,
 * 8.46): which VMs offer them, what the mapping of a guest_memfd serves
 * (shared pages) and refuses (private pages: SIGBUS, and nothing that goes
 * through get_user_pages()), how it behaves as a MAP_SHARED mapping of a
 * memory file (fork, mremap, madvise, punch hole), and that a memslot bound
 * to such a file gives the guest the very pages the VMM maps, shared and
 * private alike.
 *
 * Every test_*() function checks one behaviour and reports one TAP result;
 * bad inputs are tables of {input, expected errno}.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/sizes.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <pthread.h>
#include <sched.h>

#include "privmem_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

/* Size of the files the host-side tests map. */
#define FILE_SIZE	(16 * PAGE_SIZE)

/* The guest tests' memslot. */
#define TEST_SLOT	10
#define TEST_GPA	0x100000000ull
#define TEST_NPAGES	16
#define TEST_SIZE	(TEST_NPAGES * PAGE_SIZE)

#define BOTH_FLAGS	(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED)

static struct kvm_vm *create_vm(unsigned long type)
{
	return ____vm_create_type(VM_MODE_DEFAULT, 0, type);
}

/* A guest_memfd of a VM of @type; the VM stays alive through the file. */
static int create_gmem(unsigned long type, uint64_t size, uint64_t flags)
{
	struct kvm_vm *vm = create_vm(type);
	int fd = vm_create_guest_memfd(vm, size, flags);

	kvm_vm_free(vm);
	return fd;
}

static char *map_gmem(int fd, size_t len, off_t offset)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       offset);

	TEST_ASSERT(p != MAP_FAILED, "mmap(%zu @ 0x%lx) of a guest_memfd: %s",
		    len, (long)offset, strerror(errno));
	return p;
}

static uint64_t allocated_bytes(int fd)
{
	struct stat st;

	TEST_ASSERT(!fstat(fd, &st), "fstat failed");
	return (uint64_t)st.st_blocks * 512;
}

static uint64_t pattern(uint64_t off, uint64_t seed)
{
	return (off * 0x9e3779b97f4a7c15ull) ^ seed;
}

static void fill(char *p, size_t len, uint64_t seed)
{
	size_t off;

	for (off = 0; off < len; off += sizeof(uint64_t))
		*(uint64_t *)(p + off) = pattern(off, seed);
}

/* Whether [@p + @start, @p + @end) holds what fill(@p, .., @seed) wrote. */
static bool holds_range(const char *p, size_t start, size_t end, uint64_t seed)
{
	size_t off;

	for (off = start; off < end; off += sizeof(uint64_t))
		if (*(const uint64_t *)(p + off) != pattern(off, seed))
			return false;
	return true;
}

static bool holds(const char *p, size_t len, uint64_t seed)
{
	return holds_range(p, 0, len, seed);
}

static bool all_zero(const char *p, size_t len)
{
	size_t off;

	for (off = 0; off < len; off++)
		if (p[off])
			return false;
	return true;
}

/* ---------------------------------------------------------------------- */
/* SIGBUS                                                                  */
/* ---------------------------------------------------------------------- */

/* Per thread: the race test touches the mapping from a second one. */
static __thread sigjmp_buf sigbus_env;
static sig_atomic_t sigbus_code;

static void sigbus_handler(int sig, siginfo_t *info, void *ucontext)
{
	sigbus_code = info->si_code;
	siglongjmp(sigbus_env, 1);
}

static struct sigaction sigbus_old;

static void sigbus_catch(void)
{
	struct sigaction sa = {
		.sa_sigaction = sigbus_handler,
		.sa_flags = SA_SIGINFO,
	};

	sigbus_code = 0;
	TEST_ASSERT(!sigaction(SIGBUS, &sa, &sigbus_old), "sigaction failed");
}

static void sigbus_release(void)
{
	TEST_ASSERT(!sigaction(SIGBUS, &sigbus_old, NULL), "sigaction failed");
}

/*
 * Whether reading (or writing) the byte at @p raises SIGBUS.  Nothing
 * local changes between sigsetjmp() and the access.
 */
static bool touch_sigbus(char *p, bool write)
{
	sigbus_catch();
	if (sigsetjmp(sigbus_env, 1)) {
		sigbus_release();
		return true;
	}
	if (write)
		WRITE_ONCE(*p, 0x5a);
	else
		(void)READ_ONCE(*p);
	sigbus_release();
	return false;
}

/* Read (or write @val to) the word at @p; false if that raised SIGBUS. */
static bool access_word(uint64_t *p, uint64_t *val, bool write)
{
	sigbus_catch();
	if (sigsetjmp(sigbus_env, 1)) {
		sigbus_release();
		return false;
	}
	if (write)
		WRITE_ONCE(*p, *val);
	else
		*val = READ_ONCE(*p);
	sigbus_release();
	return true;
}

/* ---------------------------------------------------------------------- */
/* Capabilities and creation                                               */
/* ---------------------------------------------------------------------- */

/* 8.46: MMAP everywhere, INIT_SHARED only where no page can be private. */
static bool test_flags_cap(void)
{
	struct kvm_vm *def = create_vm(KVM_X86_DEFAULT_VM);
	struct kvm_vm *sw = create_vm(KVM_X86_SW_PROTECTED_VM);
	uint64_t sys = kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS);
	uint64_t d = vm_check_cap(def, KVM_CAP_GUEST_MEMFD_FLAGS);
	uint64_t s = vm_check_cap(sw, KVM_CAP_GUEST_MEMFD_FLAGS);
	bool ok = true;

	ok &= expect(sys == BOTH_FLAGS, "/dev/kvm reports 0x%lx, want 0x%llx",
		     sys, BOTH_FLAGS);
	ok &= expect(d == BOTH_FLAGS, "a default VM reports 0x%lx, want 0x%llx",
		     d, BOTH_FLAGS);
	ok &= expect(s == GUEST_MEMFD_FLAG_MMAP,
		     "a software-protected VM reports 0x%lx, want 0x%llx", s,
		     GUEST_MEMFD_FLAG_MMAP);
	ok &= expect(vm_check_cap(def, KVM_CAP_GUEST_MEMFD) == 1,
		     "KVM_CAP_GUEST_MEMFD is not 1 on a default VM");
	kvm_vm_free(sw);
	kvm_vm_free(def);
	return ok;
}

static bool test_create_flags(void)
{
	static const struct {
		unsigned long type;
		uint64_t flags;
		int err;
	} cases[] = {
		{ KVM_X86_DEFAULT_VM, 0, 0 },
		{ KVM_X86_DEFAULT_VM, GUEST_MEMFD_FLAG_MMAP, 0 },
		{ KVM_X86_DEFAULT_VM, GUEST_MEMFD_FLAG_INIT_SHARED, 0 },
		{ KVM_X86_DEFAULT_VM, BOTH_FLAGS, 0 },
		{ KVM_X86_DEFAULT_VM, 1ull << 2, EINVAL },
		{ KVM_X86_DEFAULT_VM, BOTH_FLAGS | (1ull << 63), EINVAL },
		{ KVM_X86_SW_PROTECTED_VM, GUEST_MEMFD_FLAG_MMAP, 0 },
		{ KVM_X86_SW_PROTECTED_VM, GUEST_MEMFD_FLAG_INIT_SHARED, EINVAL },
		{ KVM_X86_SW_PROTECTED_VM, BOTH_FLAGS, EINVAL },
		{ KVM_X86_SW_PROTECTED_VM, 1ull << 2, EINVAL },
	};
	bool ok = true;
	int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kvm_vm *vm = create_vm(cases[i].type);
		int fd = __vm_create_guest_memfd(vm, FILE_SIZE, cases[i].flags);

		ok &= outcome_is(fd, cases[i].err, "VM type %lu, flags 0x%lx",
				 cases[i].type, cases[i].flags);
		if (fd >= 0)
			close(fd);
		kvm_vm_free(vm);
	}
	return ok;
}

/* 4.140: ENODEV without MMAP, EINVAL for MAP_PRIVATE, EPERM for PROT_EXEC. */
static bool test_mmap_errno(void)
{
	static const struct {
		unsigned long type;
		uint64_t gmem_flags;
		int prot, flags;
		int err;
	} cases[] = {
		{ KVM_X86_DEFAULT_VM, 0, PROT_READ, MAP_SHARED, ENODEV },
		{ KVM_X86_DEFAULT_VM, GUEST_MEMFD_FLAG_INIT_SHARED,
		  PROT_READ | PROT_WRITE, MAP_SHARED, ENODEV },
		{ KVM_X86_SW_PROTECTED_VM, 0, PROT_READ, MAP_SHARED, ENODEV },
		{ KVM_X86_DEFAULT_VM, BOTH_FLAGS, PROT_READ, MAP_PRIVATE, EINVAL },
		{ KVM_X86_DEFAULT_VM, BOTH_FLAGS, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE, EINVAL },
		{ KVM_X86_SW_PROTECTED_VM, GUEST_MEMFD_FLAG_MMAP, PROT_READ,
		  MAP_PRIVATE, EINVAL },
		{ KVM_X86_DEFAULT_VM, BOTH_FLAGS, PROT_READ | PROT_EXEC,
		  MAP_SHARED, EPERM },
		{ KVM_X86_DEFAULT_VM, BOTH_FLAGS, PROT_READ | PROT_WRITE,
		  MAP_SHARED, 0 },
		{ KVM_X86_DEFAULT_VM, BOTH_FLAGS, PROT_NONE, MAP_SHARED, 0 },
		{ KVM_X86_DEFAULT_VM, GUEST_MEMFD_FLAG_MMAP, PROT_READ,
		  MAP_SHARED, 0 },
		{ KVM_X86_SW_PROTECTED_VM, GUEST_MEMFD_FLAG_MMAP,
		  PROT_READ | PROT_WRITE, MAP_SHARED, 0 },
	};
	bool ok = true;
	int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int fd = create_gmem(cases[i].type, FILE_SIZE, cases[i].gmem_flags);
		void *p = mmap(NULL, FILE_SIZE, cases[i].prot, cases[i].flags,
			       fd, 0);

		ok &= outcome_is(p == MAP_FAILED ? -1 : 0, cases[i].err,
				 "VM type %lu, file flags 0x%lx, prot 0x%x, flags 0x%x",
				 cases[i].type, cases[i].gmem_flags,
				 cases[i].prot, cases[i].flags);
		if (p != MAP_FAILED)
			munmap(p, FILE_SIZE);
		close(fd);
	}
	return ok;
}

/* ---------------------------------------------------------------------- */
/* The mapping, seen from the host                                         */
/* ---------------------------------------------------------------------- */

/*
 * Shared pages are allocated on first touch, zeroed, and are the file's:
 * a second mapping (at another offset) sees what the first wrote, and so
 * does a new mapping after both are gone.
 */
static bool test_shared_pages_are_the_files(void)
{
	int fd = create_gmem(KVM_X86_DEFAULT_VM, FILE_SIZE, BOTH_FLAGS);
	char *a = map_gmem(fd, FILE_SIZE, 0);
	char *b = map_gmem(fd, FILE_SIZE - PAGE_SIZE, PAGE_SIZE);
	bool ok = true;

	ok &= expect(allocated_bytes(fd) == 0, "a new file holds memory");
	ok &= expect(all_zero(a, FILE_SIZE), "new shared pages are not zero");
	fill(a, FILE_SIZE, 1);
	ok &= expect(allocated_bytes(fd) == FILE_SIZE,
		     "%lu bytes allocated after touching %lu",
		     allocated_bytes(fd), (unsigned long)FILE_SIZE);
	ok &= expect(!memcmp(a + PAGE_SIZE, b, FILE_SIZE - PAGE_SIZE),
		     "a second mapping does not see the first one's data");
	munmap(a, FILE_SIZE);
	munmap(b, FILE_SIZE - PAGE_SIZE);

	a = map_gmem(fd, FILE_SIZE, 0);
	ok &= expect(holds(a, FILE_SIZE, 1), "the data is gone after munmap");
	munmap(a, FILE_SIZE);
	close(fd);
	return ok;
}

/* A mapping longer than the file: pages past its end raise SIGBUS. */
static bool test_fault_past_end_sigbus(void)
{
	int fd = create_gmem(KVM_X86_DEFAULT_VM, FILE_SIZE, BOTH_FLAGS);
	char *p = map_gmem(fd, 2 * FILE_SIZE, 0);
	bool ok = true;

	ok &= expect(!touch_sigbus(p + FILE_SIZE - 1, true),
		     "the last page of the file raised SIGBUS");
	ok &= expect(touch_sigbus(p + FILE_SIZE, false),
		     "a read past the end of the file did not raise SIGBUS");
	ok &= expect(touch_sigbus(p + 2 * FILE_SIZE - 1, true),
		     "a write past the end of the file did not raise SIGBUS");
	munmap(p, 2 * FILE_SIZE);
	close(fd);
	return ok;
}

/*
 * A guest_memfd of a VM with private memory holds private pages only: it
 * can be mapped, but every access raises SIGBUS and allocates nothing.
 */
static bool test_private_pages_sigbus(void)
{
	int fd = create_gmem(KVM_X86_SW_PROTECTED_VM, FILE_SIZE,
			     GUEST_MEMFD_FLAG_MMAP);
	char *p = map_gmem(fd, FILE_SIZE, 0);
	bool ok = true;

	ok &= expect(touch_sigbus(p, false), "a private page was read");
	ok &= expect(sigbus_code == BUS_ADRERR, "si_code %d, want BUS_ADRERR",
		     (int)sigbus_code);
	ok &= expect(touch_sigbus(p + FILE_SIZE - 1, true),
		     "a private page was written");

	/* Allocated by fallocate(), still private. */
	guest_memfd_allocate(fd, 0, FILE_SIZE);
	ok &= expect(touch_sigbus(p + PAGE_SIZE, false),
		     "an allocated private page was read");
	ok &= expect(allocated_bytes(fd) == FILE_SIZE,
		     "%lu bytes allocated, want %lu", allocated_bytes(fd),
		     (unsigned long)FILE_SIZE);
	munmap(p, FILE_SIZE);
	close(fd);
	return ok;
}

/* Populating a mapping of private pages maps and allocates nothing. */
static bool test_private_pages_populate_nothing(void)
{
	int fd = create_gmem(KVM_X86_SW_PROTECTED_VM, FILE_SIZE,
			     GUEST_MEMFD_FLAG_MMAP);
	char *p = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, fd, 0);
	bool ok = true;

	ok &= expect(p != MAP_FAILED, "MAP_POPULATE of private pages failed");
	ok &= expect(allocated_bytes(fd) == 0,
		     "MAP_POPULATE allocated private pages");
	if (p != MAP_FAILED) {
		ok &= outcome_is(madvise(p, FILE_SIZE, MADV_WILLNEED), 0,
				 "MADV_WILLNEED");
		ok &= expect(touch_sigbus(p, false),
			     "a populated private page was read");
		munmap(p, FILE_SIZE);
	}
	close(fd);
	return ok;
}

/*
 * Ways into user memory that go through get_user_pages() (or a kernel
 * copy from the user address).  Each returns 0 when it moved the page's
 * first bytes into @out, or an errno.
 */
static int via_process_vm_readv(char *p, char *out)
{
	struct iovec local = { .iov_base = out, .iov_len = PAGE_SIZE };
	struct iovec remote = { .iov_base = p, .iov_len = PAGE_SIZE };

	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) ==
	       PAGE_SIZE ? 0 : errno;
}

static int via_proc_self_mem(char *p, char *out)
{
	int fd = open("/proc/self/mem", O_RDONLY);
	ssize_t r;
	int err;

	if (fd < 0)
		return -1;
	r = pread(fd, out, PAGE_SIZE, (off_t)(uintptr_t)p);
	err = errno;
	close(fd);
	return r == PAGE_SIZE ? 0 : err;
}

static int via_pipe_write(char *p, char *out)
{
	int fds[2], err = 0;

	TEST_ASSERT(!pipe(fds), "pipe failed");
	if (write(fds[1], p, PAGE_SIZE) != PAGE_SIZE)
		err = errno;
	else if (read(fds[0], out, PAGE_SIZE) != PAGE_SIZE)
		err = -1;
	close(fds[0]);
	close(fds[1]);
	return err;
}

static int via_vmsplice(char *p, char *out)
{
	struct iovec iov = { .iov_base = p, .iov_len = PAGE_SIZE };
	int fds[2], err = 0;

	TEST_ASSERT(!pipe(fds), "pipe failed");
	if (vmsplice(fds[1], &iov, 1, 0) != PAGE_SIZE)
		err = errno;
	else if (read(fds[0], out, PAGE_SIZE) != PAGE_SIZE)
		err = -1;
	close(fds[0]);
	close(fds[1]);
	return err;
}

static const struct {
	const char *name;
	int (*fn)(char *p, char *out);
	int private_err;	/* what a private page gets */
} gup_paths[] = {
	{ "process_vm_readv()", via_process_vm_readv, EFAULT },
	{ "pread() of /proc/self/mem", via_proc_self_mem, EIO },
	{ "write() to a pipe", via_pipe_write, EFAULT },
	{ "vmsplice()", via_vmsplice, EFAULT },
};

/* get_user_pages() and kernel copies never reach a private page. */
static bool test_private_pages_not_gupable(void)
{
	int fd = create_gmem(KVM_X86_SW_PROTECTED_VM, FILE_SIZE,
			     GUEST_MEMFD_FLAG_MMAP);
	char *p = map_gmem(fd, FILE_SIZE, 0);
	char *out = malloc(PAGE_SIZE);
	bool ok = true;
	int i, err;

	guest_memfd_allocate(fd, 0, FILE_SIZE);
	for (i = 0; i < ARRAY_SIZE(gup_paths); i++) {
		err = gup_paths[i].fn(p + i * PAGE_SIZE, out);
		ok &= expect(err == gup_paths[i].private_err,
			     "%s of a private page: %s, want %s",
			     gup_paths[i].name, err ? strerror(err) : "success",
			     strerror(gup_paths[i].private_err));
	}
	free(out);
	munmap(p, FILE_SIZE);
	close(fd);
	return ok;
}

/* The same paths work on shared pages, and read what the VMM wrote. */
static bool test_shared_pages_gupable(void)
{
	int fd = create_gmem(KVM_X86_DEFAULT_VM, FILE_SIZE, BOTH_FLAGS);
	char *p = map_gmem(fd, FILE_SIZE, 0);
	char *out = malloc(PAGE_SIZE);
	bool ok = true;
	int i, err;

	fill(p, FILE_SIZE, 2);
	for (i = 0; i < ARRAY_SIZE(gup_paths); i++) {
		memset(out, 0, PAGE_SIZE);
		err = gup_paths[i].fn(p + i * PAGE_SIZE, out);
		ok &= expect(!err, "%s of a shared page: %s", gup_paths[i].name,
			     strerror(err));
		ok &= expect(!err && !memcmp(out, p + i * PAGE_SIZE, PAGE_SIZE),
			     "%s of a shared page read other data",
			     gup_paths[i].name);
	}
	free(out);
	munmap(p, FILE_SIZE);
	close(fd);
	return ok;
}

/* A RAM disk (the distro kernel's): tmpfs has no O_DIRECT in 6.1. */
#define RAMDISK		"/dev/ram0"

/*
 * O_DIRECT I/O pins the user pages it moves data from or into, as
 * upstream's mmap support allows for shared pages: a write from shared
 * pages of the mapping and a read into others move the VMM's data, while
 * private pages are refused with EFAULT and the disk keeps what it had.
 */
static bool test_shared_pages_o_direct(void)
{
	int shared = create_gmem(KVM_X86_DEFAULT_VM, FILE_SIZE, BOTH_FLAGS);
	int private = create_gmem(KVM_X86_SW_PROTECTED_VM, FILE_SIZE,
				  GUEST_MEMFD_FLAG_MMAP);
	int disk = open(RAMDISK, O_RDWR | O_DIRECT);
	char *p = map_gmem(shared, FILE_SIZE, 0);
	char *q = map_gmem(private, FILE_SIZE, 0);
	size_t len = 2 * PAGE_SIZE;
	bool ok = true;
	void *check;

	TEST_ASSERT(disk >= 0, "opening %s with O_DIRECT: %s", RAMDISK,
		    strerror(errno));
	TEST_ASSERT(!posix_memalign(&check, PAGE_SIZE, len), "posix_memalign");

	fill(p, len, 7);
	memset(p + len, 0x77, len);
	ok &= expect(pwrite(disk, p, len, 0) == (ssize_t)len,
		     "O_DIRECT write from shared pages: %s", strerror(errno));
	ok &= expect(pread(disk, p + len, len, 0) == (ssize_t)len,
		     "O_DIRECT read into shared pages: %s", strerror(errno));
	ok &= expect(!memcmp(p, p + len, len),
		     "O_DIRECT read back other data than it wrote");

	guest_memfd_allocate(private, 0, FILE_SIZE);
	ok &= outcome_is(pwrite(disk, q, len, 0), EFAULT,
			 "O_DIRECT write from private pages");
	ok &= outcome_is(pread(disk, q, len, 0), EFAULT,
			 "O_DIRECT read into private pages");
	ok &= expect(pread(disk, check, len, 0) == (ssize_t)len,
		     "O_DIRECT read into anonymous memory: %s", strerror(errno));
	ok &= expect(!memcmp(check, p, len),
		     "the disk lost the shared pages' data");

	free(check);
	munmap(q, FILE_SIZE);
	munmap(p, FILE_SIZE);
	close(disk);
	close(private);
	close(shared);
	return ok;
}

/* A child made by fork() shares the mapping both ways. */
static bool test_fork_shares_mapping(void)
{
	int fd = create_gmem(KVM_X86_DEFAULT_VM, FILE_SIZE, BOTH_FLAGS);
	char *p = map_gmem(fd, FILE_SIZE, 0);
	bool ok = true;
	int status;
	pid_t pid;

	fill(p, FILE_SIZE, 3);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork failed");
	if (!pid) {
		if (!holds(p, FILE_SIZE, 3))
			_exit(1);
		fill(p, FILE_SIZE, 4);
		_exit(0);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid failed");
	ok &= expect(WIFEXITED(status) && !WEXITSTATUS(status),
		     "the child did not see the parent's data");
	ok &= expect(holds(p, FILE_SIZE, 4),
		     "the parent does not see the child's data");
	munmap(p, FILE_SIZE);
	close(fd);
	return ok;
}

/*
 * mremap() moves the mapping with its data; grown past the end of the
 * file, the new part raises SIGBUS.
 */
static bool test_mremap_moves_mapping(void)
{
	int fd = create_gmem(KVM_X86_DEFAULT_VM, FILE_SIZE, BOTH_FLAGS);
	char *p = map_gmem(fd, FILE_SIZE / 2, 0);
	bool ok = true;
	char *q;

	fill(p, FILE_SIZE / 2, 5);
	q = mremap(p, FILE_SIZE / 2, 2 * FILE_SIZE, MREMAP_MAYMOVE);
	TEST_ASSERT(q != MAP_FAILED, "mremap failed: %s", strerror(errno));
	ok &= expect(holds(q, FILE_SIZE / 2, 5), "mremap lost the data");
	ok &= expect(!touch_sigbus(q + FILE_SIZE - 1, true),
		     "the grown part within the file raised SIGBUS");
	ok &= expect(touch_sigbus(q + FILE_SIZE, false),
		     "the grown part past the file did not raise SIGBUS");
	munmap(q, 2 * FILE_SIZE);
	close(fd);
	return ok;
}

/*
 * MADV_DONTNEED drops the page table entries only: the pages stay in the
 * file with their data.  MADV_REMOVE punches a hole.
 */
static bool test_madvise(void)
{
	int fd = create_gmem(KVM_X86_DEFAULT_VM, FILE_SIZE, BOTH_FLAGS);
	char *p = map_gmem(fd, FILE_SIZE, 0);
	bool ok = true;

	fill(p, FILE_SIZE, 6);
	TEST_ASSERT(!madvise(p, FILE_SIZE, MADV_DONTNEED), "MADV_DONTNEED failed");
	ok &= expect(allocated_bytes(fd) == FILE_SIZE,
		     "MADV_DONTNEED freed memory of the file");
	ok &= expect(holds(p, FILE_SIZE, 6), "MADV_DONTNEED lost the data");

	ok &= outcome_is(madvise(p, PAGE_SIZE, MADV_REMOVE), 0, "MADV_REMOVE");
	ok &= expect(allocated_bytes(fd) == FILE_SIZE - PAGE_SIZE,
		     "%lu bytes allocated after MADV_REMOVE of a page",
		     allocated_bytes(fd));
	ok &= expect(all_zero(p, PAGE_SIZE), "MADV_REMOVE left data");
	ok &= expect(holds_range(p, PAGE_SIZE, FILE_SIZE, 6),
		     "MADV_REMOVE of a page lost data of others");
	munmap(p, FILE_SIZE);
	close(fd);
	return ok;
}

/* A punched hole is unmapped: the next access reads a new, zeroed page. */
static bool test_punch_hole_unmaps(void)
{
	int fd = create_gmem(KVM_X86_DEFAULT_VM, FILE_SIZE, BOTH_FLAGS);
	char *p = map_gmem(fd, FILE_SIZE, 0);
	bool ok = true;

	memset(p, 0x77, FILE_SIZE);
	guest_memfd_punch_hole(fd, PAGE_SIZE, 2 * PAGE_SIZE);
	ok &= expect(all_zero(p + PAGE_SIZE, 2 * PAGE_SIZE),
		     "a punched page still shows its data");
	ok &= expect(p[0] == 0x77 && p[3 * PAGE_SIZE] == 0x77,
		     "a punch lost data outside the hole");
	munmap(p, FILE_SIZE);
	close(fd);
	return ok;
}

/* ---------------------------------------------------------------------- */
/* The guest's view                                                        */
/* ---------------------------------------------------------------------- */

struct guest_cmd {
	uint64_t gpa;
	uint64_t write;
	uint64_t val;
};

static struct guest_cmd guest_cmd;

/* One access per round: an optional write, then a read it reports. */
static void guest_code(void)
{
	uint64_t *p;

	for (;;) {
		p = (uint64_t *)READ_ONCE(guest_cmd.gpa);
		if (READ_ONCE(guest_cmd.write))
			WRITE_ONCE(*p, READ_ONCE(guest_cmd.val));
		GUEST_SYNC(READ_ONCE(*p));
	}
}

struct test_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int gmem_fd;
	char *map;		/* the VMM's mapping of the guest_memfd */
	char *hva;		/* the slot's userspace_addr: not the file */
};

/*
 * A VM of @type whose test slot is bound to a guest_memfd created with
 * @flags; userspace_addr points at anonymous memory filled with 0xaa, so
 * that a guest read from it would show.
 */
static void test_vm_create(struct test_vm *t, unsigned long type,
			   uint64_t flags)
{
	t->vm = __vm_create_type_with_vcpus(type, 1, TEST_NPAGES, guest_code,
					    &t->vcpu);
	vm_userspace_mem_region_add(t->vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, TEST_NPAGES, 0);
	t->hva = addr_gpa2hva(t->vm, TEST_GPA);
	memset(t->hva, 0xaa, TEST_SIZE);
	t->gmem_fd = vm_create_guest_memfd(t->vm, TEST_SIZE, flags);
	vm_mem_region_bind_guest_memfd(t->vm, TEST_SLOT, t->gmem_fd, 0);
	t->map = map_gmem(t->gmem_fd, TEST_SIZE, 0);
	virt_map(t->vm, TEST_GPA, TEST_GPA, TEST_NPAGES);
}

static void test_vm_free(struct test_vm *t)
{
	munmap(t->map, TEST_SIZE);
	kvm_vm_free(t->vm);
	close(t->gmem_fd);
}

/* Have the guest access @gpa (writing @val first if @write); its read. */
static uint64_t guest_access(struct test_vm *t, uint64_t gpa, bool write,
			     uint64_t val)
{
	struct ucall uc;

	guest_cmd.gpa = gpa;
	guest_cmd.write = write;
	guest_cmd.val = val;
	sync_global_to_guest(t->vm, guest_cmd);

	vcpu_run(t->vcpu);
	TEST_ASSERT(t->vcpu->run->exit_reason == KVM_EXIT_IO,
		    "want the guest's sync, got exit %s",
		    exit_reason_str(t->vcpu->run->exit_reason));
	switch (get_ucall(t->vcpu, &uc)) {
	case UCALL_SYNC:
		return uc.args[1];
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
	default:
		TEST_FAIL("unexpected ucall");
	}
	return 0;
}

static uint64_t *map_at(struct test_vm *t, uint64_t gpa)
{
	return (uint64_t *)(t->map + (gpa - TEST_GPA));
}

/*
 * A VM without private memory, all of its test slot in a guest_memfd with
 * MMAP | INIT_SHARED: guest and VMM see one page, each the other's writes,
 * and userspace_addr is not where the guest's memory is.
 */
static bool test_guest_and_vmm_share_pages(void)
{
	uint64_t gpa = TEST_GPA + 3 * PAGE_SIZE + 0x40;
	struct test_vm t;
	bool ok = true;
	uint64_t v;

	test_vm_create(&t, KVM_X86_DEFAULT_VM, BOTH_FLAGS);

	*map_at(&t, gpa) = 0x1111;
	v = guest_access(&t, gpa, false, 0);
	ok &= expect(v == 0x1111, "the guest read 0x%lx, the VMM wrote 0x1111",
		     v);
	v = guest_access(&t, gpa, true, 0x2222);
	ok &= expect(*map_at(&t, gpa) == 0x2222,
		     "the VMM reads 0x%lx, the guest wrote 0x2222",
		     *map_at(&t, gpa));
	/* Still mapped in the guest: a later VMM write shows at once. */
	*map_at(&t, gpa) = 0x3333;
	v = guest_access(&t, gpa, false, 0);
	ok &= expect(v == 0x3333, "the guest read 0x%lx after the VMM wrote 0x3333",
		     v);
	ok &= expect(*(uint64_t *)(t.hva + (gpa - TEST_GPA)) ==
		     0xaaaaaaaaaaaaaaaaull, "the guest wrote to userspace_addr");
	ok &= expect(allocated_bytes(t.gmem_fd) == PAGE_SIZE,
		     "%lu bytes in the file, want one page",
		     allocated_bytes(t.gmem_fd));
	test_vm_free(&t);
	return ok;
}

/*
 * A hole punched in a shared page the guest has mapped is zapped from the
 * guest as well: it reads the new, zeroed page.
 */
static bool test_guest_punch_hole_zaps_shared(void)
{
	uint64_t gpa = TEST_GPA + 5 * PAGE_SIZE;
	struct test_vm t;
	bool ok = true;
	uint64_t v;

	test_vm_create(&t, KVM_X86_DEFAULT_VM, BOTH_FLAGS);
	v = guest_access(&t, gpa, true, 0x4444);
	ok &= expect(v == 0x4444, "the guest read back 0x%lx", v);
	guest_memfd_punch_hole(t.gmem_fd, gpa - TEST_GPA, PAGE_SIZE);
	v = guest_access(&t, gpa, false, 0);
	ok &= expect(v == 0, "the guest still reads 0x%lx after a punch", v);
	ok &= expect(*map_at(&t, gpa) == 0, "the VMM reads 0x%lx after a punch",
		     *map_at(&t, gpa));
	test_vm_free(&t);
	return ok;
}

/*
 * A VM with private memory and a guest_memfd with MMAP: the slot serves
 * the GFN from the file whether it is shared or private, so what the guest
 * wrote survives conversions both ways and one page is allocated.  The
 * VMM reaches the page only while KVM_SET_MEMORY_ATTRIBUTES has made its
 * GFN shared: not before (the file starts private), not while private.
 */
static bool test_guest_one_page_both_views(void)
{
	uint64_t gpa = TEST_GPA + 7 * PAGE_SIZE + 0x80;
	uint64_t page = gpa & ~(uint64_t)(PAGE_SIZE - 1);
	struct test_vm t;
	bool ok = true;
	uint64_t v;

	test_vm_create(&t, KVM_X86_SW_PROTECTED_VM, GUEST_MEMFD_FLAG_MMAP);

	v = guest_access(&t, gpa, true, 0x5555);
	ok &= expect(v == 0x5555, "shared: the guest read back 0x%lx", v);
	ok &= expect(touch_sigbus((char *)map_at(&t, gpa), false),
		     "the VMM read a page whose GFN was never made shared");
	vm_mem_set_private(t.vm, page, PAGE_SIZE);
	v = guest_access(&t, gpa, false, 0);
	ok &= expect(v == 0x5555, "private: the guest read 0x%lx, wrote 0x5555 shared",
		     v);
	v = guest_access(&t, gpa, true, 0x6666);
	ok &= expect(v == 0x6666, "private: the guest read back 0x%lx", v);
	ok &= expect(touch_sigbus((char *)map_at(&t, gpa), false),
		     "the VMM read a private page");
	vm_mem_set_shared(t.vm, page, PAGE_SIZE);
	v = guest_access(&t, gpa, false, 0);
	ok &= expect(v == 0x6666, "shared: the guest read 0x%lx, wrote 0x6666 private",
		     v);
	ok &= expect(!touch_sigbus((char *)map_at(&t, gpa), false) &&
		     *map_at(&t, gpa) == 0x6666,
		     "the VMM does not read 0x6666 from the page made shared");

	ok &= expect(allocated_bytes(t.gmem_fd) == PAGE_SIZE,
		     "%lu bytes in the file, want one page",
		     allocated_bytes(t.gmem_fd));
	ok &= expect(*(uint64_t *)(t.hva + (gpa - TEST_GPA)) ==
		     0xaaaaaaaaaaaaaaaaull, "the guest wrote to userspace_addr");
	test_vm_free(&t);
	return ok;
}

/*
 * In place, VMM first: a page made shared is written by the VMM and read
 * by the guest, written by the guest and read by the VMM, and made private
 * again with the guest's data in it.
 */
static bool test_inplace_vmm_and_guest_share(void)
{
	uint64_t gpa = TEST_GPA + 9 * PAGE_SIZE;
	struct test_vm t;
	bool ok = true;
	uint64_t v;

	test_vm_create(&t, KVM_X86_SW_PROTECTED_VM, GUEST_MEMFD_FLAG_MMAP);
	vm_mem_set_shared(t.vm, TEST_GPA, TEST_SIZE);

	*map_at(&t, gpa) = 0x1234;
	v = guest_access(&t, gpa, false, 0);
	ok &= expect(v == 0x1234, "the guest read 0x%lx, the VMM wrote 0x1234", v);
	guest_access(&t, gpa, true, 0x5678);
	ok &= expect(*map_at(&t, gpa) == 0x5678,
		     "the VMM reads 0x%lx, the guest wrote 0x5678",
		     *map_at(&t, gpa));

	vm_mem_set_private(t.vm, TEST_GPA, TEST_SIZE);
	ok &= expect(touch_sigbus((char *)map_at(&t, gpa), true),
		     "the VMM wrote a page made private");
	v = guest_access(&t, gpa, false, 0);
	ok &= expect(v == 0x5678, "private: the guest read 0x%lx, wrote 0x5678", v);
	ok &= expect(allocated_bytes(t.gmem_fd) == PAGE_SIZE,
		     "%lu bytes in the file, want one page",
		     allocated_bytes(t.gmem_fd));
	test_vm_free(&t);
	return ok;
}

/* Hold the page at @p the way a pipe does after vmsplice(): @fds[0] lets go. */
static void pin_with_pipe(char *p, int fds[2])
{
	struct iovec iov = { .iov_base = p, .iov_len = PAGE_SIZE };

	TEST_ASSERT(!pipe(fds), "pipe failed");
	TEST_ASSERT(vmsplice(fds[1], &iov, 1, 0) == PAGE_SIZE,
		    "vmsplice failed: %s", strerror(errno));
}

static void unpin_pipe(int fds[2])
{
	char buf[PAGE_SIZE];

	TEST_ASSERT(read(fds[0], buf, sizeof(buf)) == sizeof(buf),
		    "draining the pipe failed");
	close(fds[0]);
	close(fds[1]);
}

/*
 * A page the host holds (here: a pipe, after vmsplice()) cannot be made
 * private: EAGAIN, and nothing changed, the GFN is still shared and the
 * VMM still reads the page.  Once the pipe lets go, the conversion works.
 */
static bool test_inplace_private_refused_while_pinned(void)
{
	uint64_t gpa = TEST_GPA + 4 * PAGE_SIZE;
	struct test_vm t;
	bool ok = true;
	int fds[2];
	uint64_t v;

	test_vm_create(&t, KVM_X86_SW_PROTECTED_VM, GUEST_MEMFD_FLAG_MMAP);
	vm_mem_set_shared(t.vm, TEST_GPA, TEST_SIZE);
	*map_at(&t, gpa) = 0x7777;

	pin_with_pipe((char *)map_at(&t, gpa), fds);
	ok &= outcome_is(__vm_set_memory_attributes(t.vm, gpa, PAGE_SIZE,
						    KVM_MEMORY_ATTRIBUTE_PRIVATE),
			 EAGAIN, "making a pinned page private");
	ok &= outcome_is(__vm_set_memory_attributes(t.vm, TEST_GPA, TEST_SIZE,
						    KVM_MEMORY_ATTRIBUTE_PRIVATE),
			 EAGAIN, "making a range with a pinned page private");
	ok &= expect(!touch_sigbus((char *)map_at(&t, gpa), false) &&
		     *map_at(&t, gpa) == 0x7777,
		     "a refused conversion took the page from the VMM");
	guest_access(&t, gpa, true, 0x7778);
	ok &= expect(*map_at(&t, gpa) == 0x7778,
		     "after a refused conversion the GFN is not shared (0x%lx)",
		     *map_at(&t, gpa));

	unpin_pipe(fds);
	ok &= outcome_is(__vm_set_memory_attributes(t.vm, gpa, PAGE_SIZE,
						    KVM_MEMORY_ATTRIBUTE_PRIVATE),
			 0, "making the page private once unpinned");
	ok &= expect(touch_sigbus((char *)map_at(&t, gpa), false),
		     "the VMM read the page made private");
	v = guest_access(&t, gpa, false, 0);
	ok &= expect(v == 0x7778, "private: the guest read 0x%lx, want 0x7778", v);
	test_vm_free(&t);
	return ok;
}

/*
 * A page a slot made shared stays so after the slot is gone; a new slot
 * that maps it at a private GFN makes it private first, and fails with
 * EAGAIN while the page is held.
 */
static bool test_inplace_bind_makes_private(void)
{
	const uint64_t gpa_a = TEST_GPA, gpa_b = TEST_GPA + SZ_16M;
	struct kvm_vm *vm = create_vm(KVM_X86_SW_PROTECTED_VM);
	int fd = vm_create_guest_memfd(vm, PAGE_SIZE, GUEST_MEMFD_FLAG_MMAP);
	char *p = map_gmem(fd, PAGE_SIZE, 0);
	bool ok = true;
	int fds[2];

	vm_set_user_memory_region2(vm, 20, KVM_MEM_GUEST_MEMFD, gpa_a,
				   PAGE_SIZE, p, fd, 0);
	vm_mem_set_shared(vm, gpa_a, PAGE_SIZE);
	p[0] = 0x42;
	vm_set_user_memory_region2(vm, 20, 0, gpa_a, 0, NULL, -1, 0);
	ok &= expect(!touch_sigbus(p, false) && p[0] == 0x42,
		     "an unbound shared page was taken from the VMM");

	vm_mem_set_private(vm, gpa_b, PAGE_SIZE);
	pin_with_pipe(p, fds);
	ok &= outcome_is(__vm_set_user_memory_region2(vm, 21, KVM_MEM_GUEST_MEMFD,
			 gpa_b, PAGE_SIZE, p, fd, 0), EAGAIN,
			 "binding a held page at a private GFN");
	unpin_pipe(fds);
	ok &= outcome_is(__vm_set_user_memory_region2(vm, 21, KVM_MEM_GUEST_MEMFD,
			 gpa_b, PAGE_SIZE, p, fd, 0), 0,
			 "binding the page at a private GFN once unpinned");
	ok &= expect(touch_sigbus(p, false),
		     "the VMM read a page bound at a private GFN");

	munmap(p, PAGE_SIZE);
	close(fd);
	kvm_vm_free(vm);
	return ok;
}

/*
 * One page for every kind a GFN had: a guest that writes all of its slot,
 * converts half of it to private and back, and rewrites it, has used one
 * page per GFN, in the guest_memfd, and none at userspace_addr; the VMM
 * reads the guest's last data in every page, and fdinfo counts each page
 * once, as shared or private.
 */
static bool test_inplace_one_copy(void)
{
	uint64_t gpa, v;
	struct test_vm t;
	bool ok = true;
	int i;

	test_vm_create(&t, KVM_X86_SW_PROTECTED_VM, GUEST_MEMFD_FLAG_MMAP);
	vm_mem_set_shared(t.vm, TEST_GPA, TEST_SIZE);
	for (i = 0; i < TEST_NPAGES; i++)
		guest_access(&t, TEST_GPA + i * PAGE_SIZE, true, 0xa000 + i);
	for (i = 0; i < TEST_NPAGES; i += 2)
		vm_mem_set_private(t.vm, TEST_GPA + i * PAGE_SIZE, PAGE_SIZE);
	for (i = 0; i < TEST_NPAGES; i++) {
		gpa = TEST_GPA + i * PAGE_SIZE;
		v = guest_access(&t, gpa, false, 0);
		ok &= expect(v == 0xa000 + i, "page %d lost its data: 0x%lx", i, v);
		guest_access(&t, gpa, true, 0xb000 + i);
	}
	ok &= expect(fdinfo_value(t.gmem_fd, "privmem_shared") ==
		     TEST_SIZE / 2,
		     "fdinfo privmem_shared %ld with half the pages private",
		     fdinfo_value(t.gmem_fd, "privmem_shared"));
	vm_mem_set_shared(t.vm, TEST_GPA, TEST_SIZE);
	ok &= expect(fdinfo_value(t.gmem_fd, "privmem_shared") == TEST_SIZE &&
		     fdinfo_value(t.gmem_fd, "privmem_allocated") == TEST_SIZE,
		     "fdinfo privmem_shared %ld, privmem_allocated %ld, want %lu",
		     fdinfo_value(t.gmem_fd, "privmem_shared"),
		     fdinfo_value(t.gmem_fd, "privmem_allocated"),
		     (unsigned long)TEST_SIZE);
	for (i = 0; i < TEST_NPAGES; i++)
		ok &= expect(*map_at(&t, TEST_GPA + i * PAGE_SIZE) == 0xb000 + i,
			     "the VMM reads 0x%lx in page %d, want 0x%x",
			     *map_at(&t, TEST_GPA + i * PAGE_SIZE), i, 0xb000 + i);
	ok &= expect(allocated_bytes(t.gmem_fd) == TEST_SIZE,
		     "%lu bytes in the file, want %lu", allocated_bytes(t.gmem_fd),
		     (unsigned long)TEST_SIZE);
	for (i = 0; i < TEST_NPAGES; i++)
		ok &= expect(*(uint64_t *)(t.hva + i * PAGE_SIZE) ==
			     0xaaaaaaaaaaaaaaaaull,
			     "the guest wrote page %d at userspace_addr", i);
	test_vm_free(&t);
	return ok;
}

#define TAG_MASK	0xffff000000000000ull
#define SECRET_TAG	0x5ec0000000000000ull
#define PUBLIC_TAG	0x9ab0000000000000ull
#define HOST_TAG	0x4057000000000000ull
#define RACE_ROUNDS	100

struct race {
	uint64_t *p;		/* the page, in the VMM's mapping */
	bool stop;
	unsigned long reads, writes, sigbus, secrets;
};

/* The host, through the mapping: reads and writes whenever it can. */
static void *race_host(void *arg)
{
	struct race *r = arg;
	uint64_t v, n = 0;

	while (!READ_ONCE(r->stop)) {
		if (!access_word(r->p, &v, false)) {
			r->sigbus++;
		} else {
			r->reads++;
			if ((v & TAG_MASK) == SECRET_TAG)
				r->secrets++;
			v = HOST_TAG | n++;
			if (access_word(r->p, &v, true))
				r->writes++;
		}
		sched_yield();
	}
	return NULL;
}

static int set_private_retrying(struct kvm_vm *vm, uint64_t gpa)
{
	int i, r;

	for (i = 0; i < 1000; i++) {
		r = __vm_set_memory_attributes(vm, gpa, PAGE_SIZE,
					       KVM_MEMORY_ATTRIBUTE_PRIVATE);
		if (!r || errno != EAGAIN)
			return r;
		sched_yield();
	}
	return r;
}

/*
 * Conversions racing the host's accesses through the mapping: the host
 * never reads what the guest wrote while the page was private, and no
 * host write lands in the page while it is private.
 */
static bool test_race_conversion_host_access(void)
{
	uint64_t gpa = TEST_GPA + 11 * PAGE_SIZE, v;
	struct race race = {};
	struct test_vm t;
	pthread_t host;
	bool ok = true;
	int i;

	test_vm_create(&t, KVM_X86_SW_PROTECTED_VM, GUEST_MEMFD_FLAG_MMAP);
	vm_mem_set_shared(t.vm, TEST_GPA, TEST_SIZE);
	race.p = map_at(&t, gpa);
	TEST_ASSERT(!pthread_create(&host, NULL, race_host, &race),
		    "pthread_create failed");

	for (i = 0; ok && i < RACE_ROUNDS; i++) {
		ok &= outcome_is(set_private_retrying(t.vm, gpa), 0,
				 "round %d: making the page private", i);
		v = guest_access(&t, gpa, true, SECRET_TAG | i);
		ok &= expect(v == (SECRET_TAG | i),
			     "round %d: the guest read 0x%lx after writing a secret",
			     i, v);
		sched_yield();
		v = guest_access(&t, gpa, false, 0);
		ok &= expect(v == (SECRET_TAG | i),
			     "round %d: a host write reached the private page (0x%lx)",
			     i, v);
		guest_access(&t, gpa, true, PUBLIC_TAG | i);
		vm_mem_set_shared(t.vm, gpa, PAGE_SIZE);
		sched_yield();
	}
	WRITE_ONCE(race.stop, true);
	pthread_join(host, NULL);

	ok &= expect(!race.secrets, "the host read %lu secrets", race.secrets);
	ok &= expect(race.reads && race.sigbus,
		     "no race: %lu reads, %lu SIGBUS", race.reads, race.sigbus);
	ksft_print_msg("race: %lu host reads, %lu writes, %lu SIGBUS\n",
		       race.reads, race.writes, race.sigbus);
	test_vm_free(&t);
	return ok;
}

/* ---------------------------------------------------------------------- */
/* KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd                           */
/* ---------------------------------------------------------------------- */

static int __gmem_set_attributes(int fd, struct kvm_memory_attributes2 *attrs)
{
	return ioctl(fd, KVM_SET_MEMORY_ATTRIBUTES2, attrs);
}

static int gmem_set_attributes(int fd, uint64_t offset, uint64_t size,
			       uint64_t attributes)
{
	struct kvm_memory_attributes2 attrs = {
		.offset = offset,
		.size = size,
		.attributes = attributes,
	};

	return __gmem_set_attributes(fd, &attrs);
}

/* 4.142: the errnos of bad input, and where the ioctl does not exist. */
static bool test_gmem_attributes_errno(void)
{
	static const struct {
		uint64_t offset, size, attributes, flags;
		int reserved;	/* index set to 1, or -1 */
		int err;
	} cases[] = {
		{ 0, 0, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0, -1, EINVAL },
		{ 1, PAGE_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0, -1, EINVAL },
		{ 0, PAGE_SIZE + 1, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0, -1, EINVAL },
		{ FILE_SIZE, PAGE_SIZE, 0, 0, -1, EINVAL },
		{ FILE_SIZE - PAGE_SIZE, 2 * PAGE_SIZE, 0, 0, -1, EINVAL },
		{ ~0ull & ~(uint64_t)(PAGE_SIZE - 1), 2 * PAGE_SIZE, 0, 0, -1,
		  EINVAL },
		{ 0, PAGE_SIZE, 1, 0, -1, EINVAL },
		{ 0, PAGE_SIZE, ~0ull, 0, -1, EINVAL },
		{ 0, PAGE_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE, 1, -1, EINVAL },
		{ 0, PAGE_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE, 2, -1, EINVAL },
		{ 0, PAGE_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0, 0, EINVAL },
		{ 0, PAGE_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0, 10, EINVAL },
		{ 0, FILE_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0, -1, 0 },
		{ PAGE_SIZE, PAGE_SIZE, 0, 0, -1, 0 },
		{ 0, FILE_SIZE, 0, 0, -1, 0 },
	};
	struct kvm_vm *vm = create_vm(KVM_X86_SW_PROTECTED_VM);
	int fd = vm_create_guest_memfd(vm, FILE_SIZE, GUEST_MEMFD_FLAG_MMAP);
	struct kvm_memory_attributes attrs1 = { .size = PAGE_SIZE };
	bool ok = true;
	int i, def;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kvm_memory_attributes2 attrs = {
			.offset = cases[i].offset,
			.size = cases[i].size,
			.attributes = cases[i].attributes,
			.flags = cases[i].flags,
		};

		if (cases[i].reserved >= 0)
			attrs.reserved[cases[i].reserved] = 1;
		ok &= outcome_is(__gmem_set_attributes(fd, &attrs), cases[i].err,
				 "offset 0x%lx, size 0x%lx, attributes 0x%lx, flags 0x%lx, reserved[%d]",
				 cases[i].offset, cases[i].size,
				 cases[i].attributes, cases[i].flags,
				 cases[i].reserved);
	}

	def = create_gmem(KVM_X86_DEFAULT_VM, FILE_SIZE, BOTH_FLAGS);
	ok &= outcome_is(gmem_set_attributes(def, 0, PAGE_SIZE, 0), EINVAL,
			 "a guest_memfd of a VM without private memory");
	ok &= outcome_is(gmem_set_attributes(vm->fd, 0, PAGE_SIZE, 0), ENOTTY,
			 "KVM_SET_MEMORY_ATTRIBUTES2 on the VM");
	ok &= outcome_is(ioctl(fd, KVM_SET_MEMORY_ATTRIBUTES, &attrs1), ENOTTY,
			 "KVM_SET_MEMORY_ATTRIBUTES on the guest_memfd");
	close(def);
	close(fd);
	kvm_vm_free(vm);
	return ok;
}

/*
 * Through the file: the GFNs that a slot maps at the range get the
 * attributes.  With a file without MMAP, shared GFNs read userspace_addr
 * and private ones the file, which tells them apart.
 */
static bool test_gmem_attributes_set_gfns(void)
{
	uint64_t gpa = TEST_GPA + 6 * PAGE_SIZE;
	struct test_vm t;
	bool ok = true;
	uint64_t v;

	t.vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, 1,
					   TEST_NPAGES, guest_code, &t.vcpu);
	vm_userspace_mem_region_add(t.vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, TEST_NPAGES, 0);
	t.hva = addr_gpa2hva(t.vm, TEST_GPA);
	memset(t.hva, 0xaa, TEST_SIZE);
	t.gmem_fd = vm_create_guest_memfd(t.vm, TEST_SIZE, 0);
	vm_mem_region_bind_guest_memfd(t.vm, TEST_SLOT, t.gmem_fd, 0);
	virt_map(t.vm, TEST_GPA, TEST_GPA, TEST_NPAGES);

	v = guest_access(&t, gpa, false, 0);
	ok &= expect(v == 0xaaaaaaaaaaaaaaaaull, "shared: the guest read 0x%lx", v);
	ok &= outcome_is(gmem_set_attributes(t.gmem_fd, gpa - TEST_GPA,
					     PAGE_SIZE,
					     KVM_MEMORY_ATTRIBUTE_PRIVATE), 0,
			 "making a page private through the file");
	v = guest_access(&t, gpa, true, 0x1357);
	ok &= expect(v == 0x1357, "private: the guest read back 0x%lx", v);
	ok &= expect(*(uint64_t *)(t.hva + (gpa - TEST_GPA)) ==
		     0xaaaaaaaaaaaaaaaaull,
		     "a private write went to userspace_addr");
	ok &= outcome_is(gmem_set_attributes(t.gmem_fd, 0, TEST_SIZE, 0), 0,
			 "making the file shared");
	v = guest_access(&t, gpa, false, 0);
	ok &= expect(v == 0xaaaaaaaaaaaaaaaaull,
		     "shared again: the guest read 0x%lx", v);
	kvm_vm_free(t.vm);
	close(t.gmem_fd);
	return ok;
}

/*
 * Through the file, with MMAP: the VMM writes a page made shared, the
 * guest reads it, writes it while private, and the VMM reads that once
 * the page is shared again.
 */
static bool test_gmem_attributes_in_place(void)
{
	uint64_t gpa = TEST_GPA + 2 * PAGE_SIZE;
	uint64_t off = gpa - TEST_GPA;
	struct test_vm t;
	bool ok = true;
	uint64_t v;

	test_vm_create(&t, KVM_X86_SW_PROTECTED_VM, GUEST_MEMFD_FLAG_MMAP);
	ok &= outcome_is(gmem_set_attributes(t.gmem_fd, off, 3 * PAGE_SIZE, 0),
			 0, "making pages shared through the file");
	*map_at(&t, gpa) = 0x9999;
	v = guest_access(&t, gpa, false, 0);
	ok &= expect(v == 0x9999, "the guest read 0x%lx, the VMM wrote 0x9999", v);

	ok &= outcome_is(gmem_set_attributes(t.gmem_fd, off, PAGE_SIZE,
					     KVM_MEMORY_ATTRIBUTE_PRIVATE), 0,
			 "making a page private through the file");
	ok &= expect(touch_sigbus((char *)map_at(&t, gpa), false),
		     "the VMM read a page made private");
	guest_access(&t, gpa, true, 0xaaaa);
	ok &= outcome_is(gmem_set_attributes(t.gmem_fd, off, PAGE_SIZE, 0), 0,
			 "making the page shared again");
	ok &= expect(!touch_sigbus((char *)map_at(&t, gpa), false) &&
		     *map_at(&t, gpa) == 0xaaaa,
		     "the VMM does not read what the guest wrote while private");
	ok &= expect(allocated_bytes(t.gmem_fd) == PAGE_SIZE,
		     "%lu bytes in the file, want one page",
		     allocated_bytes(t.gmem_fd));
	test_vm_free(&t);
	return ok;
}

/*
 * A held page stops a conversion to private: EAGAIN, error_offset names
 * it, and nothing changed; once let go, the conversion works.  The file is
 * bound to no slot: its pages change their kind in the file only.
 */
static bool test_gmem_attributes_eagain_offset(void)
{
	struct kvm_vm *vm = create_vm(KVM_X86_SW_PROTECTED_VM);
	int fd = vm_create_guest_memfd(vm, FILE_SIZE, GUEST_MEMFD_FLAG_MMAP);
	struct kvm_memory_attributes2 attrs = {
		.size = FILE_SIZE,
		.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE,
	};
	char *p = map_gmem(fd, FILE_SIZE, 0);
	bool ok = true;
	int fds[2];

	ok &= outcome_is(gmem_set_attributes(fd, 0, FILE_SIZE, 0), 0,
			 "making an unbound file shared");
	fill(p, FILE_SIZE, 7);
	pin_with_pipe(p + 5 * PAGE_SIZE, fds);
	ok &= outcome_is(__gmem_set_attributes(fd, &attrs), EAGAIN,
			 "making a range with a held page private");
	ok &= expect(attrs.error_offset == 5 * PAGE_SIZE,
		     "error_offset 0x%llx, want 0x%llx", attrs.error_offset,
		     5 * PAGE_SIZE);
	ok &= expect(!touch_sigbus(p, false) && holds(p, FILE_SIZE, 7),
		     "a refused conversion changed the file");
	unpin_pipe(fds);
	ok &= outcome_is(__gmem_set_attributes(fd, &attrs), 0,
			 "making the range private once let go");
	ok &= expect(touch_sigbus(p + 5 * PAGE_SIZE, false),
		     "the VMM read a page made private");
	munmap(p, FILE_SIZE);
	close(fd);
	kvm_vm_free(vm);
	return ok;
}

/* The physical address of @p, mapped in this process, from pagemap. */
static uint64_t phys_of(void *p)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t entry;

	TEST_ASSERT(fd >= 0, "opening /proc/self/pagemap failed");
	TEST_ASSERT(pread(fd, &entry, sizeof(entry),
			  (uintptr_t)p / PAGE_SIZE * sizeof(entry)) ==
		    sizeof(entry), "reading pagemap failed");
	close(fd);
	TEST_ASSERT((entry & BIT_ULL(63)) && (entry & GENMASK_ULL(54, 0)),
		    "no pfn for %p in pagemap (not root?)", p);
	return (entry & GENMASK_ULL(54, 0)) * PAGE_SIZE;
}

/*
 * A page made private in place leaves the direct map, and with it every
 * /dev/mem mapping of it; made shared again, it is back with its content.
 * Only where /dev/mem maps RAM at all (no CONFIG_STRICT_DEVMEM).
 */
static bool test_gmem_attributes_devmem(void)
{
	struct kvm_vm *vm = create_vm(KVM_X86_SW_PROTECTED_VM);
	int fd = vm_create_guest_memfd(vm, FILE_SIZE, GUEST_MEMFD_FLAG_MMAP);
	int mem = open("/dev/mem", O_RDONLY);
	char *p = map_gmem(fd, FILE_SIZE, 0);
	uint64_t phys, word = 0;
	bool ok = true;
	char *dm;

	if (mem < 0) {
		ksft_print_msg("no /dev/mem (errno %d): nothing to revoke\n",
			       errno);
		goto out;
	}
	ok &= outcome_is(gmem_set_attributes(fd, 0, PAGE_SIZE, 0), 0,
			 "making a page shared through the file");
	fill(p, PAGE_SIZE, 11);
	phys = phys_of(p);
	dm = mmap(NULL, PAGE_SIZE, PROT_READ, MAP_SHARED, mem, phys);
	if (dm == MAP_FAILED) {
		ksft_print_msg("/dev/mem refuses RAM (errno %d): nothing to revoke\n",
			       errno);
		goto out;
	}
	ok &= expect(!touch_sigbus(dm, false) && holds(dm, PAGE_SIZE, 11),
		     "/dev/mem does not map the shared page");

	ok &= outcome_is(gmem_set_attributes(fd, 0, PAGE_SIZE,
					     KVM_MEMORY_ATTRIBUTE_PRIVATE), 0,
			 "making the page private in place");
	ok &= expect(touch_sigbus(dm, false),
		     "a /dev/mem mapping still reads a page made private");
	ok &= outcome_is(pread(mem, &word, sizeof(word), phys), EFAULT,
			 "read() of /dev/mem at a private page");
	munmap(dm, PAGE_SIZE);
	dm = mmap(NULL, PAGE_SIZE, PROT_READ, MAP_SHARED, mem, phys);
	ok &= outcome_is(dm == MAP_FAILED ? -1 : 0, EPERM,
			 "mmap() of /dev/mem at a private page");
	if (dm != MAP_FAILED)
		munmap(dm, PAGE_SIZE);

	ok &= outcome_is(gmem_set_attributes(fd, 0, PAGE_SIZE, 0), 0,
			 "making the page shared again");
	ok &= expect(pread(mem, &word, sizeof(word), phys) == sizeof(word) &&
		     word == pattern(0, 11),
		     "read() of /dev/mem at the page shared again: 0x%lx",
		     word);
out:
	munmap(p, FILE_SIZE);
	if (mem >= 0)
		close(mem);
	close(fd);
	kvm_vm_free(vm);
	return ok;
}

/*
 * Once the file is closed and the VMM's mapping gone, a shared access to
 * a guest_memfd-only slot has no memory: KVM_EXIT_MEMORY_FAULT, flags 0.
 */
static bool test_guest_closed_file_exits(void)
{
	uint64_t gpa = TEST_GPA + 2 * PAGE_SIZE;
	struct test_vm t;
	struct kvm_run *run;
	bool ok = true;
	int r;

	test_vm_create(&t, KVM_X86_DEFAULT_VM, BOTH_FLAGS);
	munmap(t.map, TEST_SIZE);
	t.map = MAP_FAILED;
	close(t.gmem_fd);

	guest_cmd.gpa = gpa;
	guest_cmd.write = 0;
	sync_global_to_guest(t.vm, guest_cmd);
	run = t.vcpu->run;
	r = __vcpu_run(t.vcpu);
	ok &= outcome_is(r, EFAULT, "KVM_RUN on a closed guest_memfd");
	ok &= expect(run->exit_reason == KVM_EXIT_MEMORY_FAULT,
		     "exit %s, want KVM_EXIT_MEMORY_FAULT",
		     exit_reason_str(run->exit_reason));
	ok &= expect(run->memory_fault.flags == 0 &&
		     run->memory_fault.gpa == gpa &&
		     run->memory_fault.size == PAGE_SIZE,
		     "memory_fault {flags 0x%llx, gpa 0x%llx, size 0x%llx}",
		     run->memory_fault.flags, run->memory_fault.gpa,
		     run->memory_fault.size);
	kvm_vm_free(t.vm);
	return ok;
}

static const struct {
	bool (*fn)(void);
	const char *name;
	const char *needs;	/* a file the test needs, skipped without */
} tests[] = {
	{ test_flags_cap, "flags_cap" },
	{ test_create_flags, "create_flags" },
	{ test_mmap_errno, "mmap_errno" },
	{ test_shared_pages_are_the_files, "shared_pages_are_the_files" },
	{ test_fault_past_end_sigbus, "fault_past_end_sigbus" },
	{ test_private_pages_sigbus, "private_pages_sigbus" },
	{ test_private_pages_populate_nothing, "private_pages_populate_nothing" },
	{ test_private_pages_not_gupable, "private_pages_not_gupable" },
	{ test_shared_pages_gupable, "shared_pages_gupable" },
	{ test_shared_pages_o_direct, "shared_pages_o_direct", RAMDISK },
	{ test_fork_shares_mapping, "fork_shares_mapping" },
	{ test_mremap_moves_mapping, "mremap_moves_mapping" },
	{ test_madvise, "madvise" },
	{ test_punch_hole_unmaps, "punch_hole_unmaps" },
	{ test_guest_and_vmm_share_pages, "guest_and_vmm_share_pages" },
	{ test_guest_punch_hole_zaps_shared, "guest_punch_hole_zaps_shared" },
	{ test_guest_one_page_both_views, "guest_one_page_both_views" },
	{ test_inplace_vmm_and_guest_share, "inplace_vmm_and_guest_share" },
	{ test_inplace_private_refused_while_pinned,
	  "inplace_private_refused_while_pinned" },
	{ test_inplace_bind_makes_private, "inplace_bind_makes_private" },
	{ test_inplace_one_copy, "inplace_one_copy" },
	{ test_race_conversion_host_access, "race_conversion_host_access" },
	{ test_gmem_attributes_errno, "gmem_attributes_errno" },
	{ test_gmem_attributes_set_gfns, "gmem_attributes_set_gfns" },
	{ test_gmem_attributes_in_place, "gmem_attributes_in_place" },
	{ test_gmem_attributes_eagain_offset, "gmem_attributes_eagain_offset" },
	{ test_gmem_attributes_devmem, "gmem_attributes_devmem" },
	{ test_guest_closed_file_exits, "guest_closed_file_exits" },
};

int main(void)
{
	int i;

	ksft_print_header();
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) &
		     GUEST_MEMFD_FLAG_MMAP);
	TEST_REQUIRE(vm_type_supported(KVM_X86_SW_PROTECTED_VM));
	pin_self_to_cpu(0);
	ksft_set_plan(ARRAY_SIZE(tests));

	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		if (tests[i].needs && access(tests[i].needs, F_OK)) {
			ksft_test_result_skip("%s: no %s\n", tests[i].name,
					      tests[i].needs);
			continue;
		}
		ksft_test_result(tests[i].fn(), "%s\n", tests[i].name);
	}

	ksft_finished();
}
