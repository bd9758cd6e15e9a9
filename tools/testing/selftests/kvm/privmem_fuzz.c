// SPDX-License-Identifier: GPL-2.0-only
/*
 * A random sequence fuzzer over the private memory ABI, in the spirit of
 * syzkaller but with an oracle: a seeded PRNG picks calls and arguments
 * (boundary values most of the time), and every result must be a success
 * or an errno that the documentation allows for that call (api.rst
 * sections 4.2, 4.35, 4.138-4.141, 5 and 8.40-8.46 as this series writes
 * them, and upstream's guest_memfd ABI).  Where the documentation says an
 * input must fail (an unknown flag, a non-zero reserved field, a range
 * that is not page aligned, a read of a guest_memfd...), a success is a
 * failure too, and where it says a call works (a valid KVM_CREATE_VM type,
 * a valid KVM_CREATE_GUEST_MEMFD, close()), an error other than running
 * out of memory or descriptors is.
 *
 * Calls: KVM_CREATE_VM (types 0, 1 and others), KVM_CREATE_GUEST_MEMFD,
 * KVM_SET_USER_MEMORY_REGION2 (and v1), KVM_SET_MEMORY_ATTRIBUTES,
 * KVM_PRE_FAULT_MEMORY, KVM_CREATE_VCPU, KVM_CHECK_EXTENSION of caps
 * 231-236 and 244 (whose values are checked exactly), fallocate() in all
 * modes, read/write/pread/pwrite/mmap/ftruncate/splice/sendfile/fstat of
 * guest_memfds, and close() of everything; now and then a call goes to a
 * descriptor of the wrong kind, to one that is not open, or with a
 * pointer that is not mapped.
 *
 * On a violation, a call that does not return within the watchdog time or
 * a signal, the test prints the seed, the call and the calls before it
 * with their arguments and results, and how to replay: the sequence
 * depends only on the seed (and on the kernel's answers).  A kernel crash
 * is seen on the console; the progress lines say how far the run got, and
 * -v prints each call before it is made.
 *
 * After the run, with every descriptor closed, /proc/meminfo's PrivMem
 * (where the kernel has it) must be back to 0, and a health check runs a
 * software-protected VM whose guest writes and reads private memory.
 *
 * The calls and the health check's vCPU run on CPU 0 (see
 * pin_self_to_cpu()); only the watchdog may run elsewhere.
 *
 *   privmem_fuzz [-r SEED] [-n CALLS] [-w WATCHDOG_SECONDS] [-v]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include "privmem_util.h"
#include "privmem_vm.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define DEFAULT_CALLS		10000
#define DEFAULT_WATCHDOG	120
#define RING			48	/* calls shown in a reproducer */

#define MAX_VMS			4	/* VM fds open at once */
#define MAX_VCPUS		4	/* vCPU fds open per VM */
#define MAX_CREATED_VCPUS	16	/* vCPUs created per VM */
#define MAX_GMEMS		10	/* guest_memfds open at once */
#define MAX_SLOTS		64	/* memslots tracked per VM */
#define POOL_SIZE		(32ul << 20)	/* user memory for the slots */
/*
 * Private memory that fallocate() and KVM_PRE_FAULT_MEMORY may have
 * allocated before every guest_memfd is closed to give it back.
 */
#define ALLOC_BUDGET		(256ull << 20)
#define MAX_ALLOC_LEN		(4ull << 20)
#define MAX_PREFAULT_PAGES	256

#define SZ_4K			0x1000ull
#define SZ_2M			(2ull << 20)
#define SZ_1G			(1ull << 30)

/* What a call's result must be, beyond being in its allowed set. */
#define EXPECT_ANY		0	/* success or an allowed errno */
#define EXPECT_FAIL		(-1)	/* an allowed errno, never success */
#define EXPECT_OK		(-2)	/* success, or out of memory/descriptors */
/* > 0: exactly that errno. */

/* ---------------------------------------------------------------------- */
/* Allowed errnos, per call                                                */
/* ---------------------------------------------------------------------- */

/* Out of resources or interrupted: allowed where a call may allocate. */
#define RESOURCE_ERRNOS		ENOMEM, EMFILE, ENFILE, EINTR

/* 4.2: unsupported type; kvm_create_vm() allocations and the fd. */
static const int allowed_create_vm[] = { EINVAL, RESOURCE_ERRNOS, 0 };
/* 4.140: size/flags/reserved; the fd and the file. */
static const int allowed_create_gmem[] = { EINVAL, EFAULT, RESOURCE_ERRNOS, 0 };
/*
 * 4.35 + 4.138: EINVAL, EEXIST, EBADF for the guest_memfd; metadata;
 * EAGAIN for a held page of a mappable guest_memfd (never here: nothing
 * holds one, so a call that must work still must).
 */
static const int allowed_region[] = { EINVAL, EEXIST, EBADF, EFAULT,
				      ENOMEM, EINTR, EAGAIN, 0 };
/* 4.139; EAGAIN as for 4.138. */
static const int allowed_attributes[] = { EINVAL, ENOMEM, EFAULT, EINTR,
					  EAGAIN, 0 };
/* 4.141 (ENOMEM: a page or a page table that could not be allocated). */
static const int allowed_prefault[] = { EINVAL, EOPNOTSUPP, ENOENT, EINTR,
					EAGAIN, EFAULT, ENOMEM, 0 };
/* 4.7: id out of range, id taken, too many vCPUs; allocations. */
static const int allowed_create_vcpu[] = { EINVAL, EEXIST, RESOURCE_ERRNOS, 0 };
/* 4.4: unknown caps give 0; the VM-only ones EINVAL on other fds. */
static const int allowed_check_ext[] = { EINVAL, 0 };
/*
 * 4.140 for guest_memfds, fallocate(2) for the VFS's own checks (EFBIG,
 * ENODEV/ESPIPE on other files) and EINTR/ENOMEM while allocating.
 */
static const int allowed_fallocate[] = { EINVAL, EOPNOTSUPP, EFBIG, EINTR,
					 ENOMEM, ENOSPC, ENODEV, ESPIPE,
					 EBADF, 0 };
/* 4.140: read/write EINVAL; positioned ones ESPIPE (no FMODE_PREAD). */
static const int allowed_read_write[] = { EINVAL, ESPIPE, EBADF, 0 };
/*
 * 4.140: mmap ENODEV without GUEST_MEMFD_FLAG_MMAP, EINVAL for
 * MAP_PRIVATE with it; mmap(2) checks come first (EINVAL, EOVERFLOW,
 * ENOMEM, EOPNOTSUPP for MAP_SHARED_VALIDATE, EAGAIN for MAP_LOCKED),
 * PROT_EXEC on the noexec mount gives EPERM.
 */
static const int allowed_mmap[] = { ENODEV, EINVAL, EACCES, EPERM, ENOMEM,
				    EOVERFLOW, EOPNOTSUPP, EAGAIN, EBADF, 0 };
/* 4.140: size changes EINVAL; ftruncate(2): EFBIG, EPERM. */
static const int allowed_ftruncate[] = { EINVAL, EFBIG, EPERM, EBADF, 0 };
/* No splice_read/splice_write: EINVAL; splice(2)'s own checks. */
static const int allowed_splice[] = { EINVAL, ESPIPE, EBADF, EAGAIN, 0 };
static const int allowed_close[] = { 0 };
static const int allowed_fstat[] = { 0 };
/* An ioctl on a descriptor of another kind, or one that is not open. */
static const int allowed_wrong_fd[] = { ENOTTY, EINVAL, EBADF, EINTR, 0 };

/* ---------------------------------------------------------------------- */
/* State                                                                   */
/* ---------------------------------------------------------------------- */

struct fvm {
	int fd;			/* -1: slot unused */
	unsigned long type;
	uint64_t id;		/* unique, so that guest_memfds know their VM */
	int vcpu_fd[MAX_VCPUS];
	struct kvm_run *run[MAX_VCPUS];
	/* vCPUs outlive their fds: every one created, ids below 64. */
	int nr_created;
	uint64_t ids_created;
	/*
	 * Every memslot the VM has, from the calls that succeeded: later
	 * calls aim at them (pre-faults and attributes inside slots,
	 * deletions of real ones), and they say what a memslot request must
	 * do.  If there were ever more than MAX_SLOTS, the list is not the
	 * whole truth any more and predicts nothing.
	 */
	struct fslot {
		uint32_t slot;		/* as KVM_SET_USER_MEMORY_REGION* took it */
		uint32_t flags;
		uint64_t gpa, size;
		uint64_t gmem_uid;	/* guest_memfd bound at creation, or 0 */
		uint64_t gmem_offset;
	} slots[MAX_SLOTS];
	int nr_slots;
	bool slots_lost;
};

struct fgmem {
	int fd;			/* -1: slot unused */
	uint64_t uid;		/* unique, for the bindings of memslots */
	uint64_t size;
	uint64_t flags;		/* GUEST_MEMFD_FLAG_* it was created with */
	uint64_t vm_id;
};

static struct fvm vms[MAX_VMS];
static struct fgmem gmems[MAX_GMEMS];
static int kvm_fd;
static int pipe_fds[2];
static char *pool;
static char *iobuf;
static uint64_t next_vm_id = 1, next_gmem_uid = 1;
static uint64_t alloc_bytes;
static uint64_t supported_vm_types;

/*
 * Every type but the default one and SEV's plain and SEV-ES ones (which
 * encrypt ordinary memory) has private memory: SW-protected, SNP, TDX.
 */
static bool vm_has_private_mem(const struct fvm *vm)
{
	return vm->type != KVM_X86_DEFAULT_VM && vm->type != KVM_X86_SEV_VM &&
	       vm->type != KVM_X86_SEV_ES_VM;
}

static uint64_t gmem_flags_mask;
static int max_vcpu_id;
static int nr_memslots;
static size_t run_size;

static uint64_t seed, rng_state;
static uint64_t nr_calls = DEFAULT_CALLS;
static unsigned int watchdog_seconds = DEFAULT_WATCHDOG;
static bool verbose;

/* The calls made, for the reproducer. */
struct call_rec {
	uint64_t n;
	char text[300];
};
static struct call_rec ring[RING];
static atomic_uint_fast64_t call_no;	/* calls begun */
static atomic_uint_fast64_t calls_done;

/* Per-operation outcome counts, for the summary. */
enum op {
	OP_CREATE_VM, OP_CLOSE_VM, OP_CREATE_VCPU, OP_CLOSE_VCPU,
	OP_CREATE_GMEM, OP_CLOSE_GMEM, OP_REGION2, OP_REGION1,
	OP_ATTRIBUTES, OP_PREFAULT, OP_FALLOCATE, OP_READ_WRITE, OP_MMAP,
	OP_FTRUNCATE, OP_SPLICE, OP_FSTAT, OP_CHECK_EXT, OP_FRAGMENT, NR_OPS,
};

static const char * const op_name[NR_OPS] = {
	[OP_CREATE_VM] = "create_vm", [OP_CLOSE_VM] = "close_vm",
	[OP_CREATE_VCPU] = "create_vcpu", [OP_CLOSE_VCPU] = "close_vcpu",
	[OP_CREATE_GMEM] = "create_gmem", [OP_CLOSE_GMEM] = "close_gmem",
	[OP_REGION2] = "region2", [OP_REGION1] = "region1",
	[OP_ATTRIBUTES] = "attributes", [OP_PREFAULT] = "pre_fault",
	[OP_FALLOCATE] = "fallocate", [OP_READ_WRITE] = "read_write",
	[OP_MMAP] = "mmap", [OP_FTRUNCATE] = "ftruncate",
	[OP_SPLICE] = "splice", [OP_FSTAT] = "fstat",
	[OP_CHECK_EXT] = "check_ext", [OP_FRAGMENT] = "fragment",
};

/* Relative frequency of each operation. */
static const unsigned int op_weight[NR_OPS] = {
	[OP_CREATE_VM] = 3, [OP_CLOSE_VM] = 2,
	[OP_CREATE_VCPU] = 4, [OP_CLOSE_VCPU] = 1,
	[OP_CREATE_GMEM] = 8, [OP_CLOSE_GMEM] = 3,
	[OP_REGION2] = 16, [OP_REGION1] = 2,
	[OP_ATTRIBUTES] = 10, [OP_PREFAULT] = 10, [OP_FALLOCATE] = 12,
	[OP_READ_WRITE] = 3, [OP_MMAP] = 2, [OP_FTRUNCATE] = 1,
	[OP_SPLICE] = 2, [OP_FSTAT] = 2, [OP_CHECK_EXT] = 4,
	[OP_FRAGMENT] = 1,
};

static uint64_t op_ok[NR_OPS], op_err[NR_OPS];
/* Time spent in each kind of call, to see what a slow kernel spends on. */
static double op_secs[NR_OPS];
/* Calls whose outcome was predicted (must fail, must work, this errno). */
static uint64_t nr_predicted;
#define MAX_ERRNO	134
static uint64_t op_errno[NR_OPS][MAX_ERRNO];

/* ---------------------------------------------------------------------- */
/* Random numbers and interesting values                                   */
/* ---------------------------------------------------------------------- */

static uint64_t rnd(void)
{
	uint64_t x = (rng_state += 0x9e3779b97f4a7c15ull);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* True once in @n. */
static bool one_in(uint64_t n)
{
	return rnd_below(n) == 0;
}

static uint64_t pick(const uint64_t *vals, size_t n)
{
	return vals[rnd_below(n)];
}

#define PICK(arr) pick(arr, ARRAY_SIZE(arr))

/* Sizes and lengths: mostly small and aligned, sometimes at the edges. */
static uint64_t rnd_size(void)
{
	static const uint64_t edges[] = {
		0, 1, SZ_4K - 1, SZ_4K, SZ_4K + 1, 2 * SZ_4K, SZ_2M - SZ_4K,
		SZ_2M, SZ_2M + SZ_4K, 2 * SZ_2M, SZ_1G, SZ_1G - SZ_4K,
		1ull << 40, 1ull << 47, 1ull << 52, 1ull << 62,
		(1ull << 63) - SZ_4K, 1ull << 63, ~0ull & ~(SZ_4K - 1), ~0ull,
	};

	switch (rnd_below(8)) {
	case 0:
		return PICK(edges);
	case 1:
		return rnd();
	case 2:
		return rnd_below(8) * SZ_2M + (one_in(2) ? 0 : SZ_2M);
	default:
		return (1 + rnd_below(64)) * SZ_4K;
	}
}

/* Guest physical addresses: a few regions, their edges, the extremes. */
static uint64_t rnd_gpa(void)
{
	static const uint64_t bases[] = {
		0, 0x100000, 0xc0000000, 0x100000000ull, 0x100200000ull,
		0x140000000ull, 1ull << 36, (1ull << 40) - SZ_2M,
		(1ull << 48) - SZ_2M, (1ull << 52) - SZ_2M,
	};
	static const uint64_t extremes[] = {
		~0ull & ~(SZ_4K - 1), ~0ull, 1ull << 63, (1ull << 63) - SZ_4K,
	};
	uint64_t gpa;

	switch (rnd_below(16)) {
	case 0:
		return PICK(extremes);
	case 1:
		return rnd();
	default:
		gpa = PICK(bases) + rnd_below(16) * SZ_4K;
		if (one_in(16))
			gpa += 1 + rnd_below(SZ_4K - 1);
		return gpa;
	}
}

/* Offsets into a file of @size: inside, at the end, past it, unaligned. */
static uint64_t rnd_offset(uint64_t size)
{
	switch (rnd_below(10)) {
	case 0:
		return size;
	case 1:
		return size + SZ_4K * (1 + rnd_below(4));
	case 2:
		return rnd_size();
	case 3:
		return rnd_below(size) | 1;
	case 4:
		return size > SZ_4K ? size - SZ_4K : 0;
	default:
		if (size > (1ull << 40))
			size = 1ull << 40;
		return rnd_below(size / SZ_4K + 1) * SZ_4K;
	}
}

/* ---------------------------------------------------------------------- */
/* Recording calls, failures and the reproducer                            */
/* ---------------------------------------------------------------------- */

static const char *errname(int err)
{
	const char *s = err ? strerrorname_np(err) : "0";

	return s ? s : "E?";
}

static struct call_rec *cur_call(void)
{
	return &ring[(atomic_load(&call_no) - 1) % RING];
}

/* Describe the call about to be made; it is in the ring before it runs. */
static void __printf(1, 2) call_begin(const char *fmt, ...)
{
	uint64_t n = atomic_fetch_add(&call_no, 1);
	struct call_rec *c = &ring[n % RING];
	va_list ap;

	c->n = n;
	va_start(ap, fmt);
	vsnprintf(c->text, sizeof(c->text), fmt, ap);
	va_end(ap);
	if (verbose) {
		printf("# call %lu: %s\n", n, c->text);
		fflush(stdout);
	}
}

static void call_end(long ret, int err)
{
	struct call_rec *c = cur_call();
	size_t len = strlen(c->text);

	if (ret < 0)
		snprintf(c->text + len, sizeof(c->text) - len, " = -1 %s",
			 errname(err));
	else
		snprintf(c->text + len, sizeof(c->text) - len, " = %ld", ret);
	atomic_fetch_add(&calls_done, 1);
}

/* Write the reproducer with write(2) only: the watchdog calls it too. */
static void put_str(const char *s)
{
	ssize_t r = write(STDOUT_FILENO, s, strlen(s));

	(void)r;
}

static void dump_reproducer(const char *why)
{
	uint64_t n = atomic_load(&call_no), first, i;
	char line[400];

	snprintf(line, sizeof(line),
		 "# privmem_fuzz: %s\n# seed 0x%lx, call %lu of %lu; the last calls, oldest first:\n",
		 why, seed, n ? n - 1 : 0, nr_calls);
	put_str(line);
	first = n > RING ? n - RING : 0;
	for (i = first; i < n; i++) {
		snprintf(line, sizeof(line), "#   %6lu  %s\n", ring[i % RING].n,
			 ring[i % RING].text);
		put_str(line);
	}
	snprintf(line, sizeof(line),
		 "# replay: privmem_fuzz -r 0x%lx -n %lu -v\n", seed, n);
	put_str(line);
}

static void __printf(1, 2) __noreturn fuzz_fail(const char *fmt, ...)
{
	char why[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fflush(stdout);
	dump_reproducer(why);
	ksft_test_result_fail("privmem_fuzz: %s\n", why);
	ksft_exit_fail();
	exit(KSFT_FAIL);
}

static bool errno_allowed(int err, const int *allowed)
{
	for (; *allowed; allowed++)
		if (*allowed == err)
			return true;
	return false;
}

/*
 * Judge a call that returned @ret (negative: failed with @err) against
 * its allowed errnos and what it had to do.
 */
static void check_outcome(enum op op, long ret, int err, const int *allowed,
			  int expect)
{
	call_end(ret, err);
	nr_predicted += expect != EXPECT_ANY;
	if (ret >= 0) {
		op_ok[op]++;
	} else {
		op_err[op]++;
		op_errno[op][err > 0 && err < MAX_ERRNO ? err : 0]++;
	}

	if (ret >= 0) {
		if (expect == EXPECT_FAIL || expect > 0)
			fuzz_fail("%s succeeded where it must fail%s%s", op_name[op],
				  expect > 0 ? " with " : "",
				  expect > 0 ? errname(expect) : "");
		return;
	}
	if (!errno_allowed(err, allowed))
		fuzz_fail("%s failed with %s, which it may not", op_name[op],
			  errname(err));
	if (expect > 0 && err != expect)
		fuzz_fail("%s failed with %s, must fail with %s", op_name[op],
			  errname(err), errname(expect));
	if (expect == EXPECT_OK && err != ENOMEM && err != EMFILE && err != ENFILE &&
	    err != EINTR)
		fuzz_fail("%s failed with %s where it must work", op_name[op],
			  errname(err));
}

/*
 * A call that hangs: the watchdog reports it and ends the test.  It is
 * the one thread not kept on CPU 0: with PREEMPT_NONE, a call spinning in
 * the kernel on CPU 0 would never let it run there.  It runs no vCPU.
 */
static void *watchdog_thread(void *arg)
{
	long i, nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t seen = ~0ull, now;
	unsigned int still = 0;
	cpu_set_t all;

	CPU_ZERO(&all);
	for (i = 0; i < nr_cpus && i < CPU_SETSIZE; i++)
		CPU_SET(i, &all);
	sched_setaffinity(0, sizeof(all), &all);
	for (;;) {
		sleep(1);
		now = atomic_load(&call_no);
		if (now != seen || atomic_load(&calls_done) == now) {
			seen = now;
			still = 0;
			continue;
		}
		if (++still < watchdog_seconds)
			continue;
		dump_reproducer("a call did not return within the watchdog time");
		put_str("not ok 1 privmem_fuzz: hang\n");
		_exit(KSFT_FAIL);
	}
	return NULL;
}

static void crash_handler(int sig)
{
	char line[64];

	snprintf(line, sizeof(line), "signal %d during a call", sig);
	dump_reproducer(line);
	_exit(KSFT_FAIL);
}

/* ---------------------------------------------------------------------- */
/* Picking objects and descriptors                                         */
/* ---------------------------------------------------------------------- */

static struct fvm *pick_vm(void)
{
	int i, n = 0, idx[MAX_VMS];

	for (i = 0; i < MAX_VMS; i++)
		if (vms[i].fd >= 0)
			idx[n++] = i;
	return n ? &vms[idx[rnd_below(n)]] : NULL;
}

static struct fgmem *pick_gmem(void)
{
	int i, n = 0, idx[MAX_GMEMS];

	for (i = 0; i < MAX_GMEMS; i++)
		if (gmems[i].fd >= 0)
			idx[n++] = i;
	return n ? &gmems[idx[rnd_below(n)]] : NULL;
}

/* A vCPU of any open VM: its fd, and its VM and index through the pointers. */
static int pick_vcpu(struct fvm **vm_out, int *idx_out)
{
	int i, j, n = 0;
	struct { int vm, vcpu; } all[MAX_VMS * MAX_VCPUS];

	for (i = 0; i < MAX_VMS; i++)
		for (j = 0; vms[i].fd >= 0 && j < MAX_VCPUS; j++)
			if (vms[i].vcpu_fd[j] >= 0)
				all[n++] = (typeof(all[0])){ i, j };
	if (!n)
		return -1;
	i = rnd_below(n);
	*vm_out = &vms[all[i].vm];
	*idx_out = all[i].vcpu;
	return vms[all[i].vm].vcpu_fd[all[i].vcpu];
}

/* A descriptor number that is not open. */
static int closed_fd(void)
{
	static const int nums[] = { -1, 999, 1023, 4096, 0x7fffffff };
	int fd = nums[rnd_below(ARRAY_SIZE(nums))];

	return fd >= 0 && fcntl(fd, F_GETFD) >= 0 ? -1 : fd;
}

enum fd_kind { FD_VM, FD_VCPU };

/*
 * Now and then, send an ioctl meant for a descriptor of @kind to one of
 * another kind (/dev/kvm, a VM, a vCPU, a guest_memfd, a pipe) or to one
 * that is not open.  Returns the fd to use and sets *wrong.
 */
static int maybe_wrong_fd(int fd, enum fd_kind kind, bool *wrong)
{
	int cand[8], n = 0, i;
	struct fvm *vm;
	struct fgmem *g;

	*wrong = false;
	if (!one_in(32))
		return fd;
	*wrong = true;
	cand[n++] = kvm_fd;
	vm = pick_vm();
	if (vm && kind != FD_VM)
		cand[n++] = vm->fd;
	for (i = 0; vm && kind != FD_VCPU && i < MAX_VCPUS; i++)
		if (vm->vcpu_fd[i] >= 0) {
			cand[n++] = vm->vcpu_fd[i];
			break;
		}
	g = pick_gmem();
	if (g)
		cand[n++] = g->fd;
	cand[n++] = pipe_fds[0];
	cand[n++] = closed_fd();
	return cand[rnd_below(n)];
}

/* Where an ioctl argument points: the real one, or nowhere. */
static void *maybe_bad_ptr(void *arg, bool *bad)
{
	static void * const bad_ptrs[] = {
		NULL, (void *)1, (void *)0xffff888000000000ull,
		(void *)0x7ffffffff000ull,
	};

	*bad = one_in(48);
	return *bad ? bad_ptrs[rnd_below(ARRAY_SIZE(bad_ptrs))] : arg;
}

/* ---------------------------------------------------------------------- */
/* Operations                                                              */
/* ---------------------------------------------------------------------- */

static void forget_gmem(struct fgmem *g)
{
	g->fd = -1;
}

static void do_close(enum op op, int fd, const char *what)
{
	int r;

	call_begin("close(%d) [%s]", fd, what);
	r = close(fd);
	check_outcome(op, r, errno, allowed_close, EXPECT_OK);
}

static void close_vm(struct fvm *vm)
{
	int i;

	for (i = 0; i < MAX_VCPUS; i++) {
		if (vm->vcpu_fd[i] < 0)
			continue;
		munmap(vm->run[i], run_size);
		do_close(OP_CLOSE_VCPU, vm->vcpu_fd[i], "vcpu");
		vm->vcpu_fd[i] = -1;
	}
	do_close(OP_CLOSE_VM, vm->fd, "vm");
	vm->fd = -1;
}

static void close_all_gmems(const char *why)
{
	int i;

	for (i = 0; i < MAX_GMEMS; i++) {
		if (gmems[i].fd < 0)
			continue;
		do_close(OP_CLOSE_GMEM, gmems[i].fd, why);
		forget_gmem(&gmems[i]);
	}
	alloc_bytes = 0;
}

static void op_create_vm(void)
{
	static const uint64_t odd_types[] = {
		2, 3, 4, 5, 6, 7, 31, 32, 63, 64, 0x100, 1ull << 31,
		1ull << 63, ~0ull,
	};
	struct fvm *vm = NULL;
	unsigned long type;
	int i, fd, expect;

	for (i = 0; i < MAX_VMS; i++)
		if (vms[i].fd < 0)
			vm = &vms[i];
	if (!vm) {
		close_vm(pick_vm());
		return;
	}

	switch (rnd_below(8)) {
	case 0:
		type = PICK(odd_types);
		break;
	case 1 ... 3:
		type = KVM_X86_DEFAULT_VM;
		break;
	default:
		type = KVM_X86_SW_PROTECTED_VM;
	}
	expect = (type < 64 && (supported_vm_types & (1ull << type))) ? EXPECT_OK :
		 EINVAL;

	call_begin("ioctl(kvm, KVM_CREATE_VM, %lu)", type);
	fd = ioctl(kvm_fd, KVM_CREATE_VM, type);
	check_outcome(OP_CREATE_VM, fd, errno, allowed_create_vm, expect);
	if (fd < 0)
		return;
	vm->fd = fd;
	vm->type = type;
	vm->id = next_vm_id++;
	vm->nr_created = 0;
	vm->ids_created = 0;
	vm->nr_slots = 0;
	vm->slots_lost = false;
	for (i = 0; i < MAX_VCPUS; i++)
		vm->vcpu_fd[i] = -1;
}

static void op_close_vm(void)
{
	struct fvm *vm = pick_vm();

	if (vm)
		close_vm(vm);
}

static void op_create_vcpu(void)
{
	struct fvm *vm = pick_vm();
	int i, slot = -1, fd, expect = EXPECT_ANY, id;
	bool wrong;

	if (!vm)
		return op_create_vm();
	for (i = 0; i < MAX_VCPUS; i++)
		if (vm->vcpu_fd[i] < 0)
			slot = i;
	if (slot < 0 || vm->nr_created >= MAX_CREATED_VCPUS)
		return;

	switch (rnd_below(8)) {
	case 0:
		id = (int)PICK(((const uint64_t[]){ max_vcpu_id - 1, max_vcpu_id,
			max_vcpu_id + 1, 1023, 1024, 4095, 4096, 0x7fffffff,
			0x80000000u, 0xffffffffu }));
		break;
	case 1:
		id = (int)rnd();
		break;
	default:
		id = rnd_below(MAX_VCPUS + 2);
	}
	/* 4.7: ids from 0 to KVM_CAP_MAX_VCPU_ID - 1, each once per VM. */
	if ((unsigned int)id >= (unsigned int)max_vcpu_id)
		expect = EINVAL;
	else if (id < 64)
		expect = (vm->ids_created & (1ull << id)) ? EEXIST : EXPECT_OK;

	fd = maybe_wrong_fd(vm->fd, FD_VM, &wrong);
	call_begin("ioctl(%d%s, KVM_CREATE_VCPU, %d)", fd, wrong ? " [wrong]" : "",
		   id);
	i = ioctl(fd, KVM_CREATE_VCPU, (unsigned long)(unsigned int)id);
	if (wrong) {
		/* /dev/kvm, a vCPU, a guest_memfd, a pipe, or nothing. */
		check_outcome(OP_CREATE_VCPU, i, errno, allowed_wrong_fd, EXPECT_FAIL);
		return;
	}
	check_outcome(OP_CREATE_VCPU, i, errno, allowed_create_vcpu, expect);
	if (i < 0)
		return;
	vm->nr_created++;
	if (id < 64)
		vm->ids_created |= 1ull << id;
	vm->vcpu_fd[slot] = i;
	vm->run[slot] = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			     i, 0);
	TEST_ASSERT(vm->run[slot] != MAP_FAILED, "mmap of kvm_run failed");
}

static void op_close_vcpu(void)
{
	struct fvm *vm;
	int idx, fd = pick_vcpu(&vm, &idx);

	if (fd < 0)
		return;
	munmap(vm->run[idx], run_size);
	do_close(OP_CLOSE_VCPU, fd, "vcpu");
	vm->vcpu_fd[idx] = -1;
}

static void op_create_gmem(void)
{
	static const uint64_t flag_vals[] = {
		GUEST_MEMFD_FLAG_MMAP, GUEST_MEMFD_FLAG_INIT_SHARED,
		GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, 1ull << 2,
		1ull << 31, 1ull << 63, ~0ull,
	};
	struct kvm_create_guest_memfd args = {};
	struct fvm *vm = pick_vm();
	struct fgmem *g = NULL;
	bool wrong, bad_ptr, valid;
	uint64_t flags_mask;
	void *p;
	int i, fd, r;

	if (!vm)
		return op_create_vm();
	for (i = 0; i < MAX_GMEMS; i++)
		if (gmems[i].fd < 0)
			g = &gmems[i];
	if (!g) {
		g = pick_gmem();
		do_close(OP_CLOSE_GMEM, g->fd, "gmem, to make room");
		forget_gmem(g);
	}

	args.size = one_in(4) ? rnd_size() : (1 + rnd_below(32)) * SZ_2M / 4;
	if (one_in(8))
		args.flags = PICK(flag_vals);
	if (one_in(16))
		args.reserved[rnd_below(6)] = one_in(2) ? 1 : rnd() | 1;

	/* 8.46: no INIT_SHARED where the VM decides what is private. */
	flags_mask = gmem_flags_mask;
	if (vm_has_private_mem(vm))
		flags_mask &= ~GUEST_MEMFD_FLAG_INIT_SHARED;
	valid = args.size && !(args.size & (SZ_4K - 1)) &&
		(int64_t)args.size > 0 && !(args.flags & ~flags_mask);
	for (i = 0; i < 6; i++)
		valid &= !args.reserved[i];

	fd = maybe_wrong_fd(vm->fd, FD_VM, &wrong);
	p = maybe_bad_ptr(&args, &bad_ptr);
	call_begin("ioctl(%d%s, KVM_CREATE_GUEST_MEMFD, %s{size 0x%llx, flags 0x%llx, reserved %llx %llx %llx %llx %llx %llx})",
		   fd, wrong ? " [wrong]" : "", bad_ptr ? "[bad pointer] " : "",
		   args.size, args.flags, args.reserved[0], args.reserved[1],
		   args.reserved[2], args.reserved[3], args.reserved[4],
		   args.reserved[5]);
	r = ioctl(fd, KVM_CREATE_GUEST_MEMFD, p);
	if (wrong) {
		check_outcome(OP_CREATE_GMEM, r, errno, allowed_wrong_fd, EXPECT_FAIL);
		return;
	}
	check_outcome(OP_CREATE_GMEM, r, errno, allowed_create_gmem,
		      bad_ptr ? EFAULT : valid ? EXPECT_OK : EINVAL);
	if (r < 0)
		return;
	g->fd = r;
	g->uid = next_gmem_uid++;
	g->size = args.size;
	g->flags = args.flags;
	g->vm_id = vm->id;
}

static void op_close_gmem(void)
{
	struct fgmem *g = pick_gmem();

	if (!g)
		return;
	do_close(OP_CLOSE_GMEM, g->fd, "gmem");
	forget_gmem(g);
}

static uint32_t rnd_slot(void)
{
	switch (rnd_below(16)) {
	case 0:
		return (uint32_t)PICK(((const uint64_t[]){ 508, 509, 510, 511,
			512, 0x7fff, 0x8000, 0xffff, 0x10000, 0x10001, 0x20000,
			0xffffffff }));
	case 1:
		return (uint32_t)rnd();
	case 2:
		/* Address space 1 (SMM). */
		return (1u << 16) | rnd_below(4);
	default:
		return rnd_below(8);
	}
}

static uint32_t rnd_region_flags(void)
{
	switch (rnd_below(16)) {
	case 0:
		return (uint32_t)rnd();
	case 1:
		return 1u << rnd_below(32);
	case 2:
		return KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES;
	case 3:
		return KVM_MEM_GUEST_MEMFD | KVM_MEM_READONLY;
	case 4:
		return KVM_MEM_LOG_DIRTY_PAGES;
	case 5 ... 6:
		return 0;
	default:
		return KVM_MEM_GUEST_MEMFD;
	}
}

static uint64_t rnd_hva(uint64_t size)
{
	static const uint64_t odd[] = {
		0, SZ_4K, 0x7ffffffff000ull, 0x800000000000ull,
		0xffff888000000000ull, ~0ull & ~(SZ_4K - 1),
	};
	uint64_t off;

	switch (rnd_below(16)) {
	case 0:
		return PICK(odd);
	case 1:
		return (uint64_t)pool + 1 + rnd_below(SZ_4K - 1);
	default:
		off = size < POOL_SIZE ? rnd_below((POOL_SIZE - size) / SZ_4K + 1) : 0;
		return (uint64_t)pool + off * SZ_4K;
	}
}

/* A memslot size: sizes large enough to stress metadata stay rare. */
static uint64_t rnd_slot_size(uint32_t flags)
{
	switch (rnd_below(16)) {
	case 0:
		return 0;
	case 1:
		/* Around KVM_MEM_MAX_NR_PAGES, never with a dirty bitmap. */
		if (flags & KVM_MEM_LOG_DIRTY_PAGES)
			return SZ_4K;
		return PICK(((const uint64_t[]){ ((1ull << 31) - 1) * SZ_4K,
			(1ull << 31) * SZ_4K, 1ull << 40, ~0ull & ~(SZ_4K - 1) }));
	case 2:
		return 1 + rnd_below(SZ_2M);
	case 3 ... 5:
		return (1 + rnd_below(8)) * SZ_2M;
	default:
		return (1 + rnd_below(512)) * SZ_4K;
	}
}

static struct fslot *find_slot(struct fvm *vm, uint32_t slot)
{
	int i;

	for (i = 0; i < vm->nr_slots; i++)
		if (vm->slots[i].slot == slot)
			return &vm->slots[i];
	return NULL;
}

/* A memslot request succeeded: the VM's slots are now these. */
static void remember_slot(struct fvm *vm, const struct fslot *new)
{
	struct fslot *sl = find_slot(vm, new->slot);

	if (!new->size) {
		if (sl)
			*sl = vm->slots[--vm->nr_slots];
		return;
	}
	if (!sl) {
		if (vm->nr_slots == MAX_SLOTS) {
			vm->slots_lost = true;
			return;
		}
		sl = &vm->slots[vm->nr_slots++];
	}
	*sl = *new;
}

/* Whether [hva, hva + size) is user space, as access_ok() sees it. */
static bool in_user_space(uint64_t hva, uint64_t size)
{
	const uint64_t top = 0x7ffffffff000ull;	/* TASK_SIZE_MAX, 4 levels */

	return size <= top && hva <= top - size;
}

/*
 * What a memslot request that passed the sanity checks must do, from the
 * VM's slots (4.35, 4.138): EXPECT_FAIL, EXPECT_OK or EXPECT_ANY where
 * this does not know enough.  @g is the guest_memfd of this VM that it
 * binds, if it binds one.
 */
static int region_prediction(struct fvm *vm, const struct fslot *new,
			     struct fgmem *g)
{
	struct fslot *old = find_slot(vm, new->slot);
	uint64_t end = new->gpa + new->size;
	int i;

	if (vm->slots_lost)
		return EXPECT_ANY;
	/* Deleting: the slot must be there, and then it goes. */
	if (!new->size)
		return old ? EXPECT_OK : EINVAL;
	/* A bound slot is immutable, and no slot gains a guest_memfd. */
	if (old)
		return (old->flags | new->flags) & KVM_MEM_GUEST_MEMFD ?
		       EXPECT_FAIL : EXPECT_ANY;
	for (i = 0; i < vm->nr_slots; i++) {
		struct fslot *sl = &vm->slots[i];

		/* Another slot of the address space at these GPAs. */
		if ((sl->slot >> 16) == (new->slot >> 16) &&
		    new->gpa < sl->gpa + sl->size && sl->gpa < end)
			return EXPECT_FAIL;
		/* Pages of the guest_memfd that back another slot. */
		if (g && sl->gmem_uid == g->uid &&
		    new->gmem_offset < sl->gmem_offset + sl->size &&
		    sl->gmem_offset < new->gmem_offset + new->size)
			return EXPECT_FAIL;
	}
	/*
	 * A new slot that fits: it must work where nothing else can be in
	 * the way: below the 40-bit guest physical limit of this CPU (here
	 * 2^36, to be safe), off the APIC page, within user space.
	 */
	if (end <= (1ull << 36) && (end <= 0xfe000000ull || new->gpa >= 0x100000000ull) &&
	    new->size / SZ_4K < (1ull << 31) && new->size <= 0x7ffffffff000ull)
		return EXPECT_OK;
	return EXPECT_ANY;
}

static struct fslot *pick_slot(struct fvm *vm)
{
	return vm->nr_slots ? &vm->slots[rnd_below(vm->nr_slots)] : NULL;
}

/* A page-aligned range that starts in a remembered slot, if there is one. */
static bool rnd_range_in_slot(struct fvm *vm, uint64_t *gpa, uint64_t *size,
			      uint64_t max_pages)
{
	struct fslot *sl = pick_slot(vm);
	uint64_t pages, first;

	if (!sl || sl->size > (1ull << 40))
		return false;
	pages = sl->size / SZ_4K;
	first = rnd_below(pages);
	*gpa = sl->gpa + first * SZ_4K;
	*size = (1 + rnd_below(one_in(4) ? max_pages : 16)) * SZ_4K;
	return true;
}

static struct fgmem *pick_gmem_of(struct fvm *vm)
{
	int i, n = 0, idx[MAX_GMEMS];

	for (i = 0; i < MAX_GMEMS; i++)
		if (gmems[i].fd >= 0 && gmems[i].vm_id == vm->id)
			idx[n++] = i;
	return n ? &gmems[idx[rnd_below(n)]] : NULL;
}

/*
 * The checks of 4.35 that come before a slot is looked at: flags (with
 * those of 4.138), alignment, the slot id, wrapping.  A request failing
 * one of them must fail, whether it creates, changes or deletes a slot.
 */
static bool region_must_fail(struct fvm *vm, uint32_t slot, uint32_t flags,
			     uint64_t gpa, uint64_t size, uint64_t hva)
{
	/* 4.138: KVM_MEM_GUEST_MEMFD on every VM. */
	uint32_t valid = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY |
			 KVM_MEM_GUEST_MEMFD;

	if (flags & KVM_MEM_GUEST_MEMFD)
		valid &= ~(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY);
	return (flags & ~valid) || ((size | gpa | hva) & (SZ_4K - 1)) ||
	       (slot & 0xffff) >= (uint32_t)nr_memslots || (slot >> 16) >= 2 ||
	       gpa + size < gpa;
}

static void op_region2(void)
{
	struct kvm_userspace_memory_region2 m = {};
	struct fvm *vm = pick_vm();
	struct fgmem *g = pick_gmem();
	bool wrong, bad_ptr, must_fail = false, bind;
	struct fslot new;
	int expect;
	const char *gwhat = "gmem";
	uint64_t isize = 0;
	void *p;
	int fd, r;

	if (!vm)
		return op_create_vm();

	m.slot = rnd_slot();
	m.flags = rnd_region_flags();
	m.memory_size = rnd_slot_size(m.flags);
	m.guest_phys_addr = one_in(4) ? rnd_gpa() : rnd_gpa() & ~(SZ_2M - 1);
	m.userspace_addr = rnd_hva(m.memory_size);

	/*
	 * Half of the time a request that can work: delete a slot that is
	 * there, or create one at its own GPA range, bound to a guest_memfd
	 * of this VM where the VM has private memory.
	 */
	if (one_in(2)) {
		struct fslot *sl = pick_slot(vm);
		struct fgmem *own = pick_gmem_of(vm);

		if (sl && one_in(4)) {
			m.slot = sl->slot;
			m.guest_phys_addr = sl->gpa;
			m.memory_size = 0;
			m.flags = one_in(2) ? KVM_MEM_GUEST_MEMFD : 0;
		} else {
			m.slot = rnd_below(8);
			m.guest_phys_addr = 0x100000000ull + m.slot * (64ull << 20) +
					    rnd_below(16) * SZ_2M;
			m.memory_size = one_in(2) ? (1 + rnd_below(4)) * SZ_2M :
						    (1 + rnd_below(512)) * SZ_4K;
			m.userspace_addr = rnd_hva(m.memory_size) & ~(SZ_4K - 1);
			m.flags = 0;
			if (own && !one_in(4)) {
				g = own;
				m.flags = KVM_MEM_GUEST_MEMFD;
			}
		}
		if (g && m.flags && g->size >= m.memory_size) {
			m.guest_memfd = g->fd;
			m.guest_memfd_offset = rnd_below((g->size - m.memory_size) /
							 SZ_4K + 1) * SZ_4K;
			isize = g->size;
			gwhat = g->vm_id == vm->id ? "gmem" : "gmem of another VM";
			goto decided;
		}
	}

	/* The guest_memfd: one of this VM's mostly, else anything. */
	switch (rnd_below(12)) {
	case 0:
		m.guest_memfd = closed_fd();
		gwhat = "not open";
		break;
	case 1:
		m.guest_memfd = vm->fd;
		gwhat = "a VM";
		break;
	case 2:
		m.guest_memfd = pipe_fds[1];
		gwhat = "a pipe";
		break;
	default:
		if (!g) {
			m.guest_memfd = kvm_fd;
			gwhat = "/dev/kvm";
			break;
		}
		m.guest_memfd = g->fd;
		isize = g->size;
		gwhat = g->vm_id == vm->id ? "gmem" : "gmem of another VM";
	}
	m.guest_memfd_offset = one_in(3) ? rnd_offset(isize) : 0;
decided:
	if (one_in(32))
		m.pad2[rnd_below(14)] = rnd();

	/*
	 * What must fail whatever the slots are (4.35, 4.138): the sanity
	 * checks, and binding anything but a big enough guest_memfd of this
	 * VM at an aligned offset.  Otherwise success depends on the slots
	 * (overlaps, immutability, deleting a slot that is not there).
	 */
	must_fail = region_must_fail(vm, m.slot, m.flags, m.guest_phys_addr,
				     m.memory_size, m.userspace_addr);
	bind = m.memory_size && (m.flags & KVM_MEM_GUEST_MEMFD);
	if (bind) {
		if (strcmp(gwhat, "gmem"))
			must_fail = true;
		if (m.guest_memfd_offset & (SZ_4K - 1))
			must_fail = true;
		if (m.guest_memfd_offset > isize ||
		    m.memory_size > isize - m.guest_memfd_offset)
			must_fail = true;
	}
	new = (struct fslot){
		.slot = m.slot, .flags = m.flags, .gpa = m.guest_phys_addr,
		.size = m.memory_size, .gmem_uid = bind && g ? g->uid : 0,
		.gmem_offset = m.guest_memfd_offset,
	};
	expect = must_fail ? EXPECT_FAIL :
		 region_prediction(vm, &new, bind && !must_fail ? g : NULL);
	if (expect == EXPECT_OK && !in_user_space(m.userspace_addr, m.memory_size))
		expect = EXPECT_ANY;

	fd = maybe_wrong_fd(vm->fd, FD_VM, &wrong);
	p = maybe_bad_ptr(&m, &bad_ptr);
	call_begin("ioctl(%d%s, KVM_SET_USER_MEMORY_REGION2, %s{slot 0x%x, flags 0x%x, gpa 0x%llx, size 0x%llx, hva 0x%llx, guest_memfd %d [%s], offset 0x%llx}) [VM type %lu]",
		   fd, wrong ? " [wrong]" : "", bad_ptr ? "[bad pointer] " : "",
		   m.slot, m.flags, m.guest_phys_addr, m.memory_size,
		   m.userspace_addr, (int)m.guest_memfd, gwhat,
		   m.guest_memfd_offset, vm->type);
	r = ioctl(fd, KVM_SET_USER_MEMORY_REGION2, p);
	if (wrong) {
		check_outcome(OP_REGION2, r, errno, allowed_wrong_fd, EXPECT_FAIL);
		return;
	}
	check_outcome(OP_REGION2, r, errno, allowed_region,
		      bad_ptr ? EFAULT : expect);
	if (!r)
		remember_slot(vm, &new);
}

/* The v1 ioctl: same slots, and it must refuse KVM_MEM_GUEST_MEMFD. */
static void op_region1(void)
{
	struct kvm_userspace_memory_region m = {};
	struct fvm *vm = pick_vm();
	struct fslot new;
	bool must_fail;
	int r, expect;

	if (!vm)
		return op_create_vm();
	m.slot = rnd_slot();
	m.flags = rnd_region_flags();
	m.memory_size = rnd_slot_size(m.flags);
	m.guest_phys_addr = rnd_gpa() & ~(SZ_2M - 1);
	m.userspace_addr = rnd_hva(m.memory_size);
	/* 4.35: the v1 ioctl takes neither KVM_MEM_GUEST_MEMFD nor others. */
	must_fail = (m.flags & ~(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)) ||
		    region_must_fail(vm, m.slot, m.flags, m.guest_phys_addr,
				     m.memory_size, m.userspace_addr);
	new = (struct fslot){
		.slot = m.slot, .flags = m.flags, .gpa = m.guest_phys_addr,
		.size = m.memory_size,
	};
	expect = must_fail ? EXPECT_FAIL : region_prediction(vm, &new, NULL);
	if (expect == EXPECT_OK && !in_user_space(m.userspace_addr, m.memory_size))
		expect = EXPECT_ANY;

	call_begin("ioctl(%d, KVM_SET_USER_MEMORY_REGION, {slot 0x%x, flags 0x%x, gpa 0x%llx, size 0x%llx, hva 0x%llx})",
		   vm->fd, m.slot, m.flags, m.guest_phys_addr, m.memory_size,
		   m.userspace_addr);
	r = ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &m);
	check_outcome(OP_REGION1, r, errno, allowed_region, expect);
	if (!r)
		remember_slot(vm, &new);
}

static void op_attributes(void)
{
	struct kvm_memory_attributes a = {};
	struct fvm *vm = pick_vm();
	uint64_t gpa, size;
	bool wrong, bad_ptr, valid;
	uint64_t supported;
	void *p;
	int fd, r;

	if (!vm)
		return op_create_vm();

	a.address = rnd_gpa();
	switch (rnd_below(8)) {
	case 0:
		a.size = rnd_size();
		break;
	case 1:
		/* Up to the top, or wrapping past it. */
		a.size = -a.address + (one_in(2) ? 0 : SZ_4K);
		break;
	default:
		a.size = (1 + rnd_below(1024)) * SZ_4K;
	}
	if (one_in(2) && rnd_range_in_slot(vm, &gpa, &size, 1024)) {
		a.address = gpa;
		a.size = size;
	}
	switch (rnd_below(10)) {
	case 0:
		a.attributes = 1ull << rnd_below(64);
		break;
	case 1:
		a.attributes = rnd();
		break;
	case 2 ... 4:
		a.attributes = 0;
		break;
	default:
		a.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE;
	}
	if (one_in(16))
		a.flags = one_in(2) ? 1ull << rnd_below(64) : rnd();

	/* 4.139 and 8.42: everything but ENOMEM is decided by the input. */
	supported = vm_has_private_mem(vm) ?
		    KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	valid = !a.flags && !(a.attributes & ~supported) && a.size &&
		!((a.address | a.size) & (SZ_4K - 1)) &&
		a.address + a.size > a.address;

	fd = maybe_wrong_fd(vm->fd, FD_VM, &wrong);
	p = maybe_bad_ptr(&a, &bad_ptr);
	call_begin("ioctl(%d%s, KVM_SET_MEMORY_ATTRIBUTES, %s{address 0x%llx, size 0x%llx, attributes 0x%llx, flags 0x%llx}) [VM type %lu]",
		   fd, wrong ? " [wrong]" : "", bad_ptr ? "[bad pointer] " : "",
		   a.address, a.size, a.attributes, a.flags, vm->type);
	r = ioctl(fd, KVM_SET_MEMORY_ATTRIBUTES, p);
	if (wrong)
		check_outcome(OP_ATTRIBUTES, r, errno, allowed_wrong_fd, EXPECT_FAIL);
	else
		check_outcome(OP_ATTRIBUTES, r, errno, allowed_attributes,
			      bad_ptr ? EFAULT : valid ? EXPECT_OK : EINVAL);
}

/*
 * Attributes in pieces: every other page of a range made private (or
 * shared again), one KVM_SET_MEMORY_ATTRIBUTES per page, as a guest that
 * converts page by page does.  KVM keeps a record per run of equal pages,
 * so this is what makes its bookkeeping big; the VM is destroyed with it
 * sooner or later.  Recorded as one call: the ioctls, and where the
 * first one that failed stopped it.
 */
static void op_fragment(void)
{
	struct kvm_memory_attributes a = {};
	struct fvm *vm = pick_vm();
	uint64_t n, i, base, attributes;
	int r = 0, err = 0, expect;

	if (!vm)
		return op_create_vm();
	/* Long runs are rare: under a debug kernel each ioctl takes milliseconds. */
	n = one_in(64) ? 4096 + rnd_below(4096) : 16 + rnd_below(256);
	base = (1ull << 36) + rnd_below(64) * SZ_1G;
	attributes = vm_has_private_mem(vm) && !one_in(4) ?
		     KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	/* 4.139: valid input works unless the memory for the record runs out. */
	expect = EXPECT_OK;

	call_begin("%lu x ioctl(%d, KVM_SET_MEMORY_ATTRIBUTES, {address 0x%lx + 2 * i * 4K, size 0x1000, attributes 0x%lx, flags 0}) [VM type %lu]",
		   n, vm->fd, base, attributes, vm->type);
	for (i = 0; i < n; i++) {
		a.address = base + 2 * i * SZ_4K;
		a.size = SZ_4K;
		a.attributes = attributes;
		r = ioctl(vm->fd, KVM_SET_MEMORY_ATTRIBUTES, &a);
		if (r) {
			err = errno;
			break;
		}
	}
	if (r) {
		struct call_rec *c = cur_call();
		size_t len = strlen(c->text);

		snprintf(c->text + len, sizeof(c->text) - len, " [stopped at %lu]", i);
	}
	check_outcome(OP_FRAGMENT, r, err, allowed_attributes, expect);
}

static void op_prefault(void)
{
	struct kvm_pre_fault_memory range = {}, in;
	struct fvm *vm = NULL;
	uint64_t gpa, size;
	int idx, fd, r, err;
	bool wrong, bad_ptr, valid;
	void *p;

	fd = pick_vcpu(&vm, &idx);
	if (fd < 0)
		return op_create_vcpu();

	range.gpa = rnd_gpa();
	switch (rnd_below(10)) {
	case 0:
		/* Invalid sizes only: a valid huge one could allocate a lot. */
		range.size = PICK(((const uint64_t[]){ 0, 1, SZ_4K - 1,
			SZ_4K + 1, -range.gpa + SZ_4K, ~0ull }));
		break;
	case 1 ... 3:
		range.size = (1 + rnd_below(one_in(4) ? MAX_PREFAULT_PAGES : 16)) *
			     SZ_4K;
		break;
	default:
		/* (Not through pointers to the __u64 fields: aliasing.) */
		if (rnd_range_in_slot(vm, &gpa, &size, MAX_PREFAULT_PAGES)) {
			range.gpa = gpa;
			range.size = size;
		} else {
			range.size = SZ_4K;
		}
	}
	if (one_in(16))
		range.flags = 1ull << rnd_below(64);
	if (one_in(16))
		range.padding[rnd_below(5)] = rnd() | 1;

	/* 4.141: these are checked before anything is looked at. */
	valid = !range.flags && !range.padding[0] && !range.padding[1] &&
		!range.padding[2] && !range.padding[3] && !range.padding[4] &&
		range.size && !((range.gpa | range.size) & (SZ_4K - 1)) &&
		range.gpa + range.size > range.gpa;
	in = range;

	fd = maybe_wrong_fd(fd, FD_VCPU, &wrong);
	p = maybe_bad_ptr(&range, &bad_ptr);
	call_begin("ioctl(%d%s, KVM_PRE_FAULT_MEMORY, %s{gpa 0x%llx, size 0x%llx, flags 0x%llx, padding %llx %llx %llx %llx %llx}) [VM type %lu]",
		   fd, wrong ? " [wrong]" : "", bad_ptr ? "[bad pointer] " : "",
		   range.gpa, range.size, range.flags, range.padding[0],
		   range.padding[1], range.padding[2], range.padding[3],
		   range.padding[4], vm->type);
	r = ioctl(fd, KVM_PRE_FAULT_MEMORY, p);
	err = errno;
	if (wrong) {
		check_outcome(OP_PREFAULT, r, err, allowed_wrong_fd, EXPECT_FAIL);
		return;
	}
	check_outcome(OP_PREFAULT, r, err, allowed_prefault,
		      bad_ptr ? EFAULT : valid ? EXPECT_ANY : EINVAL);
	if (bad_ptr)
		return;
	if (valid)
		alloc_bytes += in.size;

	/* Progress is reported in the range: forwards, and only on success. */
	if (r < 0 && (range.gpa != in.gpa || range.size != in.size))
		fuzz_fail("KVM_PRE_FAULT_MEMORY failed but moved the range to {gpa 0x%llx, size 0x%llx}",
			  range.gpa, range.size);
	if (r == 0 && (range.gpa + range.size != in.gpa + in.size ||
		       range.gpa <= in.gpa || range.size >= in.size))
		fuzz_fail("KVM_PRE_FAULT_MEMORY succeeded with {gpa 0x%llx, size 0x%llx} left of {0x%llx, 0x%llx}",
			  range.gpa, range.size, in.gpa, in.size);
}

static void op_fallocate(void)
{
	static const int modes[] = {
		FALLOC_FL_KEEP_SIZE, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
		0, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE,
		FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
		FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE,
		FALLOC_FL_UNSHARE_RANGE, FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE,
		0x80, 0x7fffffff,
	};
	struct fgmem *g = pick_gmem();
	int64_t off, len;
	int mode, fd, r, expect = EXPECT_ANY;
	bool aligned, inside, wrong = false;

	if (!g)
		return op_create_gmem();

	switch (rnd_below(12)) {
	case 0 ... 1:
		mode = modes[2 + rnd_below(ARRAY_SIZE(modes) - 2)];
		break;
	case 2 ... 6:
		mode = modes[0];
		break;
	default:
		mode = modes[1];
	}
	off = rnd_offset(g->size);
	switch (rnd_below(8)) {
	case 0:
		len = rnd_size();
		break;
	case 1:
		len = g->size - off;
		break;
	default:
		len = (1 + rnd_below(one_in(4) ? 512 : 16)) * SZ_4K;
	}

	aligned = !((off | len) & (SZ_4K - 1));
	inside = off >= 0 && len > 0 && (uint64_t)off <= g->size &&
		 (uint64_t)len <= g->size - off;
	/*
	 * A real allocation is kept small: files can be huge.  When too
	 * much may be allocated, give it all back first.
	 */
	if (mode == FALLOC_FL_KEEP_SIZE && aligned && inside) {
		if (len > (int64_t)MAX_ALLOC_LEN)
			len = MAX_ALLOC_LEN;
		if (alloc_bytes + len > ALLOC_BUDGET) {
			close_all_gmems("gmem, giving memory back");
			return;
		}
		alloc_bytes += len;
	}

	/* 4.140 and fallocate(2). */
	if (off < 0 || len <= 0)
		expect = EINVAL;
	else if (mode != FALLOC_FL_KEEP_SIZE &&
		 mode != (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		expect = EXPECT_FAIL;
	else if (!aligned)
		expect = EXPECT_FAIL;
	else if (mode == FALLOC_FL_KEEP_SIZE)
		expect = inside ? EXPECT_OK : EXPECT_FAIL;
	else if (inside)
		expect = EXPECT_OK;
	/* A punch past the end: upstream succeeds, older docs said EINVAL. */

	fd = g->fd;
	if (one_in(32)) {
		wrong = true;
		fd = one_in(2) ? pipe_fds[0] : one_in(2) ? kvm_fd : closed_fd();
		expect = EXPECT_FAIL;
	}
	call_begin("fallocate(%d%s, 0x%x, 0x%lx, 0x%lx) [size 0x%lx]", fd,
		   wrong ? " [wrong]" : "", mode, off, len, g->size);
	r = fallocate(fd, mode, off, len);
	check_outcome(OP_FALLOCATE, r, errno, allowed_fallocate, expect);
}

/* Nothing may ever come out of, or go into, a guest_memfd. */
static void op_read_write(void)
{
	struct fgmem *g = pick_gmem();
	size_t count = PICK(((const uint64_t[]){ 0, 1, 8, SZ_4K }));
	off_t off = (off_t)rnd_offset(g ? g->size : SZ_4K);
	int fd, how = rnd_below(4);
	ssize_t r;

	if (!g)
		return op_create_gmem();
	fd = one_in(32) ? closed_fd() : g->fd;
	memset(iobuf, 0xa5, SZ_4K);
	switch (how) {
	case 0:
		call_begin("read(%d, buf, %zu)", fd, count);
		r = read(fd, iobuf, count);
		break;
	case 1:
		call_begin("write(%d, buf, %zu)", fd, count);
		r = write(fd, iobuf, count);
		break;
	case 2:
		call_begin("pread(%d, buf, %zu, 0x%lx)", fd, count, off);
		r = pread(fd, iobuf, count, off);
		break;
	default:
		call_begin("pwrite(%d, buf, %zu, 0x%lx)", fd, count, off);
		r = pwrite(fd, iobuf, count, off);
	}
	check_outcome(OP_READ_WRITE, r, errno, allowed_read_write, EXPECT_FAIL);
}

static void op_mmap(void)
{
	static const int prots[] = {
		PROT_READ, PROT_READ | PROT_WRITE, PROT_NONE, PROT_WRITE,
		PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC,
	};
	static const int flags[] = {
		MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE,
		MAP_SHARED | MAP_POPULATE, MAP_PRIVATE | MAP_POPULATE,
		MAP_SHARED | MAP_LOCKED, MAP_SHARED | MAP_NORESERVE,
		MAP_SHARED_VALIDATE | MAP_SYNC,
	};
	struct fgmem *g = pick_gmem();
	bool may_map;
	size_t len;
	off_t off;
	void *m;
	int fd, prot, fl;

	if (!g)
		return op_create_gmem();
	len = one_in(4) ? (size_t)rnd_size() : SZ_4K * (1 + rnd_below(4));
	off = one_in(2) ? 0 : (off_t)rnd_offset(g->size);
	prot = prots[rnd_below(ARRAY_SIZE(prots))];
	fl = flags[rnd_below(ARRAY_SIZE(flags))];
	fd = one_in(32) ? closed_fd() : g->fd;

	call_begin("mmap(NULL, 0x%zx, 0x%x, 0x%x, %d, 0x%lx)", len, prot, fl,
		   fd, off);
	/*
	 * 4.140: only a file created with GUEST_MEMFD_FLAG_MMAP, only shared,
	 * never executable.  What the mapping reaches is checked where it is
	 * touched (guest_memfd_mmap_test), not here.
	 */
	may_map = fd == g->fd && (g->flags & GUEST_MEMFD_FLAG_MMAP) &&
		  (fl & MAP_TYPE) != MAP_PRIVATE && !(prot & PROT_EXEC);
	m = mmap(NULL, len, prot, fl, fd, off);
	check_outcome(OP_MMAP, m == MAP_FAILED ? -1 : 0, errno, allowed_mmap,
		      may_map ? EXPECT_ANY : EXPECT_FAIL);
	if (m != MAP_FAILED)
		munmap(m, len);
}

static void op_ftruncate(void)
{
	struct fgmem *g = pick_gmem();
	off_t len;
	int r;

	if (!g)
		return op_create_gmem();
	len = one_in(4) ? (off_t)rnd_size() : (off_t)rnd_offset(g->size);
	call_begin("ftruncate(%d, 0x%lx) [size 0x%lx]", g->fd, len, g->size);
	r = ftruncate(g->fd, len);
	check_outcome(OP_FTRUNCATE, r, errno, allowed_ftruncate, EXPECT_FAIL);
}

static void op_splice(void)
{
	struct fgmem *g = pick_gmem();
	size_t len = PICK(((const uint64_t[]){ 0, 1, SZ_4K, SZ_2M }));
	loff_t off = 0;
	ssize_t r;
	int how = rnd_below(4);

	if (!g)
		return op_create_gmem();
	switch (how) {
	case 0:
		call_begin("splice(%d, NULL, pipe, NULL, %zu, NONBLOCK)", g->fd, len);
		r = splice(g->fd, NULL, pipe_fds[1], NULL, len, SPLICE_F_NONBLOCK);
		break;
	case 1:
		call_begin("splice(pipe, NULL, %d, NULL, %zu, NONBLOCK)", g->fd, len);
		r = splice(pipe_fds[0], NULL, g->fd, NULL, len, SPLICE_F_NONBLOCK);
		break;
	case 2:
		call_begin("sendfile(pipe, %d, &0, %zu)", g->fd, len);
		r = sendfile(pipe_fds[1], g->fd, &off, len);
		break;
	default:
		call_begin("splice(%d, &0, pipe, NULL, %zu, NONBLOCK)", g->fd, len);
		r = splice(g->fd, &off, pipe_fds[1], NULL, len, SPLICE_F_NONBLOCK);
	}
	/* Zero bytes asked, zero moved: splice(2) returns 0 before looking. */
	if (!len && r == 0) {
		call_end(r, 0);
		op_ok[OP_SPLICE]++;
		return;
	}
	check_outcome(OP_SPLICE, r, errno, allowed_splice, EXPECT_FAIL);
}

/* fstat: the size given at creation, and never more blocks than that. */
static void op_fstat(void)
{
	struct fgmem *g = pick_gmem();
	struct stat st;
	int r;

	if (!g)
		return op_create_gmem();
	call_begin("fstat(%d) [size 0x%lx]", g->fd, g->size);
	r = fstat(g->fd, &st);
	check_outcome(OP_FSTAT, r, errno, allowed_fstat, EXPECT_OK);
	if (r)
		return;
	if ((uint64_t)st.st_size != g->size)
		fuzz_fail("fstat: st_size 0x%lx, created with 0x%lx", st.st_size,
			  g->size);
	if ((uint64_t)st.st_blocks > g->size / 512)
		fuzz_fail("fstat: st_blocks %ld for a file of 0x%lx bytes",
			  st.st_blocks, g->size);
}

/* 8.40-8.46: the value each fd must report. */
static void op_check_ext(void)
{
	static const uint64_t caps[] = {
		KVM_CAP_USER_MEMORY2, KVM_CAP_MEMORY_FAULT_INFO,
		KVM_CAP_MEMORY_ATTRIBUTES, KVM_CAP_GUEST_MEMFD, KVM_CAP_VM_TYPES,
		KVM_CAP_PRE_FAULT_MEMORY, KVM_CAP_GUEST_MEMFD_FLAGS,
	};
	const uint64_t known_flags = GUEST_MEMFD_FLAG_MMAP |
				     GUEST_MEMFD_FLAG_INIT_SHARED;
	struct fvm *vm = one_in(3) ? NULL : pick_vm();
	long cap = one_in(8) ? (long)rnd_below(300) : (long)PICK(caps);
	bool sw = vm && vm_has_private_mem(vm);
	int fd = vm ? vm->fd : kvm_fd;
	long r, want = -1;

	call_begin("ioctl(%d [%s], KVM_CHECK_EXTENSION, %ld)", fd,
		   vm ? (sw ? "private-memory VM" : "default VM") : "kvm", cap);
	r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
	check_outcome(OP_CHECK_EXT, r, errno, allowed_check_ext, EXPECT_ANY);
	if (r < 0)
		return;

	switch (cap) {
	case KVM_CAP_USER_MEMORY2:
	case KVM_CAP_MEMORY_FAULT_INFO:
	case KVM_CAP_PRE_FAULT_MEMORY:
		want = 1;
		break;
	case KVM_CAP_MEMORY_ATTRIBUTES:
		want = !vm || sw ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
		break;
	case KVM_CAP_GUEST_MEMFD:
		want = 1;
		break;
	case KVM_CAP_VM_TYPES:
		want = supported_vm_types;
		break;
	case KVM_CAP_GUEST_MEMFD_FLAGS:
		if (r & ~known_flags)
			fuzz_fail("KVM_CAP_GUEST_MEMFD_FLAGS 0x%lx has unknown flags", r);
		want = gmem_flags_mask;
		if (sw)
			want &= ~GUEST_MEMFD_FLAG_INIT_SHARED;
		break;
	}
	if (want >= 0 && r != want)
		fuzz_fail("KVM_CHECK_EXTENSION(%ld) = 0x%lx, want 0x%lx", cap, r,
			  want);
}

static void (* const op_fn[NR_OPS])(void) = {
	[OP_CREATE_VM] = op_create_vm, [OP_CLOSE_VM] = op_close_vm,
	[OP_CREATE_VCPU] = op_create_vcpu, [OP_CLOSE_VCPU] = op_close_vcpu,
	[OP_CREATE_GMEM] = op_create_gmem, [OP_CLOSE_GMEM] = op_close_gmem,
	[OP_REGION2] = op_region2, [OP_REGION1] = op_region1,
	[OP_ATTRIBUTES] = op_attributes, [OP_PREFAULT] = op_prefault,
	[OP_FALLOCATE] = op_fallocate, [OP_READ_WRITE] = op_read_write,
	[OP_MMAP] = op_mmap, [OP_FTRUNCATE] = op_ftruncate,
	[OP_SPLICE] = op_splice, [OP_FSTAT] = op_fstat,
	[OP_CHECK_EXT] = op_check_ext, [OP_FRAGMENT] = op_fragment,
};

static enum op pick_op(void)
{
	unsigned int total = 0, r, i;

	for (i = 0; i < NR_OPS; i++)
		total += op_weight[i];
	r = rnd_below(total);
	for (i = 0; i < NR_OPS; i++) {
		if (r < op_weight[i])
			return i;
		r -= op_weight[i];
	}
	return OP_CHECK_EXT;
}

/* ---------------------------------------------------------------------- */
/* After the run                                                           */
/* ---------------------------------------------------------------------- */

static void close_everything(void)
{
	int i;

	for (i = 0; i < MAX_VMS; i++)
		if (vms[i].fd >= 0)
			close_vm(&vms[i]);
	close_all_gmems("gmem, at the end");
}

/* kB of private memory in /proc/meminfo, or -1 if the kernel has no line. */
static long privmem_kb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "PrivMem: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

#define HEALTH_SLOT	10
#define HEALTH_GPA	0x100000000ull
#define HEALTH_PAGES	64
#define HEALTH_TAG	0x4845414c5448ull

static void health_guest(void)
{
	uint64_t *p = (uint64_t *)HEALTH_GPA;
	uint64_t i, n = HEALTH_PAGES * PAGE_SIZE / sizeof(*p);

	for (i = 0; i < n; i++)
		GUEST_ASSERT_2(READ_ONCE(p[i]) == 0, i, p[i]);
	for (i = 0; i < n; i++)
		WRITE_ONCE(p[i], HEALTH_TAG ^ i);
	for (i = 0; i < n; i++)
		GUEST_ASSERT_2(READ_ONCE(p[i]) == (HEALTH_TAG ^ i), i, p[i]);
	GUEST_DONE();
}

/* A guest still gets private memory, zeroed, that keeps what it wrote. */
static bool health_check(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t *shared, i;
	int gmem, r;
	bool ok = true;

	vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, 1, HEALTH_PAGES,
					 health_guest, &vcpu);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, HEALTH_GPA,
				    HEALTH_SLOT, HEALTH_PAGES, 0);
	gmem = vm_create_guest_memfd(vm, HEALTH_PAGES * PAGE_SIZE, 0);
	vm_mem_region_bind_guest_memfd(vm, HEALTH_SLOT, gmem, 0);
	vm_mem_set_private(vm, HEALTH_GPA, HEALTH_PAGES * PAGE_SIZE);
	virt_map(vm, HEALTH_GPA, HEALTH_GPA, HEALTH_PAGES);
	shared = addr_gpa2hva(vm, HEALTH_GPA);
	memset(shared, 0, HEALTH_PAGES * PAGE_SIZE);

	r = _vcpu_run(vcpu);
	ok &= expect(!r && vcpu->run->exit_reason == KVM_EXIT_IO,
		     "health check: KVM_RUN %d (%s), exit %s", r,
		     r ? strerror(errno) : "ok",
		     exit_reason_str(vcpu->run->exit_reason));
	if (ok) {
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_DONE:
			break;
		case UCALL_ABORT:
			ksft_print_msg("health check: guest: %s at word %lu (0x%lx)\n",
				       (const char *)uc.args[GUEST_ERROR_STRING],
				       GUEST_ASSERT_ARG(uc, 0),
				       GUEST_ASSERT_ARG(uc, 1));
			ok = false;
			break;
		default:
			ksft_print_msg("health check: unexpected ucall %lu\n", uc.cmd);
			ok = false;
		}
	}
	for (i = 0; ok && i < HEALTH_PAGES * PAGE_SIZE / sizeof(*shared); i++)
		ok &= expect(!shared[i], "health check: private data 0x%lx in the shared view at +0x%lx",
			     shared[i], i * sizeof(*shared));

	close(gmem);
	kvm_vm_free(vm);
	return ok;
}

/* ---------------------------------------------------------------------- */

static void usage(const char *name)
{
	printf("usage: %s [-r SEED] [-n CALLS] [-w SECONDS] [-v]\n"
	       "  -r  seed (default: from the clock, printed)\n"
	       "  -n  number of calls (default %d)\n"
	       "  -w  watchdog: a call taking longer fails the test (default %d)\n"
	       "  -v  print every call before making it\n",
	       name, DEFAULT_CALLS, DEFAULT_WATCHDOG);
}

int main(int argc, char *argv[])
{
	struct sigaction sa = { .sa_handler = crash_handler };
	uint64_t n, progress_every, last_progress = 0, errs = 0, oks = 0;
	struct timespec t0, t1, c0, c1;
	enum op op;
	pthread_t watchdog;
	long before_kb, after_kb;
	struct kvm_vm *probe;
	int opt, i;

	while ((opt = getopt(argc, argv, "r:n:w:vh")) != -1) {
		switch (opt) {
		case 'n':
			nr_calls = strtod(optarg, NULL);
			break;
		case 'w':
			watchdog_seconds = strtoul(optarg, NULL, 0);
			break;
		default:
			privmem_common_opt(opt, argv[0], usage, &seed, &verbose);
		}
	}
	if (!seed) {
		clock_gettime(CLOCK_REALTIME, &t0);
		seed = (uint64_t)t0.tv_sec * 1000003 ^ t0.tv_nsec ^ getpid();
	}
	rng_state = seed;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_GUEST_MEMFD));
	TEST_REQUIRE(vm_type_supported(KVM_X86_SW_PROTECTED_VM));

	pin_self_to_cpu(0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	ksft_print_header();
	ksft_set_plan(3);
	ksft_print_msg("seed 0x%lx, %lu calls\n", seed, nr_calls);

	kvm_fd = open_kvm_dev_path_or_exit();
	supported_vm_types = kvm_check_cap(KVM_CAP_VM_TYPES);
	gmem_flags_mask = kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS);
	nr_memslots = kvm_check_cap(KVM_CAP_NR_MEMSLOTS);
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	probe = vm_create_barebones();
	max_vcpu_id = vm_check_cap(probe, KVM_CAP_MAX_VCPU_ID);
	kvm_vm_free(probe);
	TEST_ASSERT(max_vcpu_id > 0, "KVM_CAP_MAX_VCPU_ID is %d", max_vcpu_id);

	TEST_ASSERT(!pipe2(pipe_fds, O_NONBLOCK), "pipe2 failed");
	iobuf = calloc(1, SZ_4K);
	TEST_ASSERT(iobuf && write(pipe_fds[1], iobuf, SZ_4K) == SZ_4K,
		    "filling the pipe failed");
	pool = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(pool != MAP_FAILED, "mmap of the memory pool failed");
	for (i = 0; i < MAX_VMS; i++)
		vms[i].fd = -1;
	for (i = 0; i < MAX_GMEMS; i++)
		gmems[i].fd = -1;
	before_kb = privmem_kb();

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
	TEST_ASSERT(!pthread_create(&watchdog, NULL, watchdog_thread, NULL),
		    "pthread_create failed");

	/*
	 * Progress on the console: if the kernel dies, the last line says
	 * how far the run got, and replaying up to the next one with -v
	 * shows the calls.
	 */
	progress_every = nr_calls / 200 > 500 ? nr_calls / 200 : 500;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((n = atomic_load(&call_no)) < nr_calls) {
		if (n / progress_every > last_progress) {
			last_progress = n / progress_every;
			ksft_print_msg("%lu calls (if the kernel dies now: replay with -r 0x%lx -n %lu -v)\n",
				       n, seed, n + progress_every);
		}
		/* What fallocate() and pre-faults may have allocated, back. */
		if (alloc_bytes > ALLOC_BUDGET)
			close_all_gmems("gmem, giving memory back");
		op = pick_op();
		clock_gettime(CLOCK_MONOTONIC, &c0);
		op_fn[op]();
		clock_gettime(CLOCK_MONOTONIC, &c1);
		op_secs[op] += c1.tv_sec - c0.tv_sec +
			       (c1.tv_nsec - c0.tv_nsec) / 1e9;
	}
	close_everything();
	clock_gettime(CLOCK_MONOTONIC, &t1);

	for (i = 0; i < NR_OPS; i++) {
		char line[256];
		int len, e;

		len = snprintf(line, sizeof(line), "  %-12s %6.1f s %6lu ok",
			       op_name[i], op_secs[i], op_ok[i]);
		for (e = 0; e < MAX_ERRNO; e++)
			if (op_errno[i][e] && len < (int)sizeof(line))
				len += snprintf(line + len, sizeof(line) - len,
						", %lu %s", op_errno[i][e],
						e ? errname(e) : "other");
		ksft_print_msg("%s\n", line);
		oks += op_ok[i];
		errs += op_err[i];
	}
	ksft_print_msg("%lu calls in %.1f s: %lu succeeded, %lu failed as allowed; %lu outcomes predicted\n",
		       atomic_load(&call_no),
		       t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9,
		       oks, errs, nr_predicted);
	ksft_test_result_pass("every result was allowed (seed 0x%lx)\n", seed);

	after_kb = privmem_kb();
	if (after_kb < 0)
		ksft_test_result_skip("no PrivMem line in /proc/meminfo\n");
	else
		ksft_test_result(after_kb == 0,
				 "private memory given back: PrivMem %ld kB before, %ld kB after closing everything\n",
				 before_kb, after_kb);

	ksft_test_result(health_check(),
			 "health check: a SW-protected guest writes and reads private memory\n");
	ksft_finished();
}
