// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host cannot read guest private memory.  A guest fills its private
 * pages with a sequence only it computes (each word is a key XOR its own
 * GPA), then the host looks for that sequence everywhere it can read:
 * all of RAM through /proc/kcore's direct-map segments and through
 * /dev/mem (read, new mmaps, and mmaps made before the memory became
 * private), every mapping of its own address space through /proc/self/mem,
 * process_vm_readv() and ptrace(PEEKDATA), and its guest memory through
 * vmsplice() and io_uring fixed buffers; the guest_memfd itself refuses
 * O_DIRECT and io_uring reads.  Private pages are out of the direct map
 * and out of user page tables, so no scan may find a single run.  A page
 * of the host's own memory filled the same way, with another key, proves
 * that each scan does see what is there.  The host must also survive the
 * scans.  Hibernation, which would write all of memory to disk, is refused
 * while private memory exists.
 *
 * Where the kernel filters /dev/mem (CONFIG_STRICT_DEVMEM), RAM is refused
 * outright and the /dev/mem cases check that refusal instead.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/stddef.h>
/* The tools copy of stddef.h predates it; io_uring.h needs it. */
#ifndef __DECLARE_FLEX_ARRAY
#define __DECLARE_FLEX_ARRAY(type, name) type name[0]
#endif
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "privmem_util.h"
#include "privmem_vm.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define TEST_SLOT	10
#define TEST_GPA	0x100000000ull
#define TEST_SIZE	(4ul << 20)
#define TEST_NPAGES	(TEST_SIZE / PAGE_SIZE)
#define CHUNK		(1ul << 20)
/* Words of the sequence that must follow each other for a hit. */
#define RUN_WORDS	4

/* /dev/mem is mapped in pieces of this size. */
#define DEVMEM_CHUNK	(2ul << 20)
#define MAX_RAM_RANGES	64

/* Set by the host before the guest runs: in shared memory on purpose. */
static uint64_t guest_key;

/* The control page: host memory filled like the guest fills its own. */
static uint64_t control[PAGE_SIZE / 8] __attribute__((aligned(4096)));

static void guest_code(void)
{
	uint64_t gpa;

	for (gpa = TEST_GPA; gpa < TEST_GPA + TEST_SIZE; gpa += 8)
		WRITE_ONCE(*(uint64_t *)gpa, READ_ONCE(guest_key) ^ gpa);
	GUEST_SYNC(1);
}

struct needle {
	uint64_t key;
	uint64_t base, size;	/* the range of "addresses" mixed in */
	uint64_t hits;
};

/* Count runs of the sequence in @buf, 8-byte aligned. */
static void scan(struct needle *n, const uint64_t *buf, size_t bytes)
{
	size_t i, words = bytes / 8;

	for (i = 0; i + RUN_WORDS <= words; i++) {
		uint64_t v = buf[i] ^ n->key;
		int j;

		if (v < n->base || v >= n->base + n->size || (v & 7))
			continue;
		for (j = 1; j < RUN_WORDS; j++)
			if ((buf[i + j] ^ n->key) != v + 8 * j)
				break;
		if (j == RUN_WORDS) {
			n->hits++;
			i += RUN_WORDS - 1;
		}
	}
}

static void scan_all(struct needle *ns, int nr, const void *buf, size_t bytes)
{
	int i;

	for (i = 0; i < nr; i++)
		scan(&ns[i], buf, bytes);
}

/* Scan [@off, @off + @len) of @fd with pread(); returns bytes read. */
static uint64_t scan_fd_range(int fd, uint64_t off, uint64_t len,
			      struct needle *ns, int nr, void *buf)
{
	uint64_t done = 0;

	while (done < len) {
		size_t want = len - done < CHUNK ? len - done : CHUNK;
		ssize_t got = pread(fd, buf, want, off + done);

		if (got <= 0) {
			/* Unreadable here: skip a page and go on. */
			done += PAGE_SIZE;
			continue;
		}
		scan_all(ns, nr, buf, got);
		done += got;
	}
	return done;
}

/* All RAM, through the direct-map segments of /proc/kcore. */
static uint64_t scan_kcore(struct needle *ns, int nr, void *buf)
{
	int fd = open("/proc/kcore", O_RDONLY);
	uint64_t total = 0;
	Elf64_Ehdr eh;
	int i;

	TEST_ASSERT(fd >= 0, "opening /proc/kcore failed (errno %d)", errno);
	TEST_ASSERT(pread(fd, &eh, sizeof(eh), 0) == sizeof(eh),
		    "reading the kcore ELF header failed");
	for (i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		TEST_ASSERT(pread(fd, &ph, sizeof(ph),
				  eh.e_phoff + i * sizeof(ph)) == sizeof(ph),
			    "reading a kcore program header failed");
		/* The direct map: where physical RAM is, at page_offset_base. */
		if (ph.p_type != PT_LOAD || ph.p_vaddr < 0xffff888000000000ull ||
		    ph.p_vaddr >= 0xffffc88000000000ull)
			continue;
		total += scan_fd_range(fd, ph.p_offset, ph.p_filesz, ns, nr, buf);
	}
	close(fd);
	return total;
}

/* Every readable mapping of this process, through @fd or process_vm_readv. */
static uint64_t scan_self(struct needle *ns, int nr, void *buf, bool vm_readv)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	int fd = open("/proc/self/mem", O_RDONLY);
	uint64_t total = 0;
	char line[512];

	TEST_ASSERT(maps && fd >= 0, "opening /proc/self/{maps,mem} failed");
	while (fgets(line, sizeof(line), maps)) {
		unsigned long start, end;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3 ||
		    perms[0] != 'r' || strstr(line, "[vvar]") ||
		    ((uintptr_t)buf >= start && (uintptr_t)buf < end))
			continue;
		if (!vm_readv) {
			total += scan_fd_range(fd, start, end - start, ns, nr, buf);
			continue;
		}
		while (start < end) {
			size_t want = end - start < CHUNK ? end - start : CHUNK;
			struct iovec local = { buf, want };
			struct iovec remote = { (void *)start, want };
			ssize_t got = process_vm_readv(getpid(), &local, 1,
						       &remote, 1, 0);

			if (got <= 0) {
				start += PAGE_SIZE;
				continue;
			}
			scan_all(ns, nr, buf, got);
			total += got;
			start += got;
		}
	}
	close(fd);
	fclose(maps);
	return total;
}

enum scan_kind { SCAN_KCORE, SCAN_PROC_MEM, SCAN_VM_READV };

static const char * const scan_names[] = {
	[SCAN_KCORE] = "/proc/kcore (all RAM)",
	[SCAN_PROC_MEM] = "/proc/self/mem",
	[SCAN_VM_READV] = "process_vm_readv",
};

#define CONTROL_BASE	0x5000

static void fill_control(uint64_t key)
{
	uint64_t i;

	for (i = 0; i < ARRAY_SIZE(control); i++)
		WRITE_ONCE(control[i], ~key ^ (CONTROL_BASE + i * 8));
}

static void needles_init(struct needle *ns, uint64_t key)
{
	ns[0] = (struct needle){ .key = key, .base = TEST_GPA, .size = TEST_SIZE };
	ns[1] = (struct needle){ .key = ~key, .base = CONTROL_BASE,
				 .size = PAGE_SIZE };
}

/* The verdict of a scan that read @bytes: nothing private, the control seen. */
static void report_scan(const char *what, struct needle *ns, uint64_t bytes)
{
	ksft_print_msg("%s: %lu KiB read, %lu private runs, %lu control runs\n",
		       what, bytes >> 10, ns[0].hits, ns[1].hits);
	ksft_test_result(ns[0].hits == 0 && ns[1].hits > 0,
			 "%s: no private data, the control page is seen\n", what);
}

static void test_scan(enum scan_kind kind, uint64_t key)
{
	struct needle ns[2];
	void *buf = malloc(CHUNK);
	uint64_t bytes;

	TEST_ASSERT(buf, "malloc failed");
	needles_init(ns, key);
	if (kind == SCAN_KCORE)
		bytes = scan_kcore(ns, 2, buf);
	else
		bytes = scan_self(ns, 2, buf, kind == SCAN_VM_READV);
	free(buf);
	report_scan(scan_names[kind], ns, bytes);
}

/* The physical address of @addr (present, this process), from pagemap. */
static uint64_t phys_of(void *addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t ent;

	TEST_ASSERT(fd >= 0, "opening /proc/self/pagemap failed");
	TEST_ASSERT(pread(fd, &ent, 8, (uintptr_t)addr / PAGE_SIZE * 8) == 8,
		    "reading pagemap failed");
	close(fd);
	TEST_ASSERT((ent & (1ull << 63)) && (ent & ((1ull << 55) - 1)),
		    "no pfn for %p in pagemap (not root?)", addr);
	return (ent & ((1ull << 55) - 1)) * PAGE_SIZE +
	       (uintptr_t)addr % PAGE_SIZE;
}

struct ram_range {
	uint64_t start, end;	/* [start, end) */
};

static struct ram_range ram[MAX_RAM_RANGES];
static int nr_ram;

/* The top-level "System RAM" ranges of /proc/iomem. */
static void read_ram_ranges(void)
{
	FILE *f = fopen("/proc/iomem", "r");
	char line[256];

	TEST_ASSERT(f, "opening /proc/iomem failed");
	while (fgets(line, sizeof(line), f) && nr_ram < MAX_RAM_RANGES) {
		unsigned long start, end;

		if (line[0] == ' ' || !strstr(line, ": System RAM") ||
		    sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		ram[nr_ram].start = start;
		ram[nr_ram++].end = end + 1;
	}
	fclose(f);
	TEST_ASSERT(nr_ram, "no System RAM in /proc/iomem");
}

struct chunk_iter {
	int range;
	uint64_t phys;
};

/* The next piece of RAM of at most DEVMEM_CHUNK bytes; false after the last. */
static bool next_ram_chunk(struct chunk_iter *it, uint64_t *phys, size_t *len)
{
	for (; it->range < nr_ram; it->range++) {
		const struct ram_range *r = &ram[it->range];

		if (it->phys < r->start)
			it->phys = r->start;
		if (it->phys < r->end) {
			*phys = it->phys;
			*len = r->end - it->phys < DEVMEM_CHUNK ?
			       r->end - it->phys : DEVMEM_CHUNK;
			it->phys += *len;
			return true;
		}
	}
	return false;
}

/*
 * Whether /dev/mem refuses RAM (CONFIG_STRICT_DEVMEM): reading the control
 * page through it fails with EPERM.
 */
static bool devmem_strict(void)
{
	int fd = open("/dev/mem", O_RDONLY);
	uint64_t word;
	ssize_t n;

	TEST_ASSERT(fd >= 0, "opening /dev/mem failed (errno %d)", errno);
	n = pread(fd, &word, 8, phys_of(control));
	close(fd);
	if (n == -1 && errno == EPERM)
		return true;
	TEST_ASSERT(n == 8 && word == control[0],
		    "reading the control page through /dev/mem: %zd (errno %d)",
		    n, errno);
	return false;
}

/* The /dev/mem mappings made before the guest's memory became private. */
struct devmem_map {
	uint64_t *addr;
	size_t len;
};

/* Off the ELF image: the library loads .bss into the guest too. */
#define MAX_PREMAP	8192
static struct devmem_map *premap;
static int nr_premap, nr_premap_refused;

/* Map all RAM through /dev/mem in DEVMEM_CHUNK pieces; count refusals. */
static void map_devmem(void)
{
	int fd = open("/dev/mem", O_RDONLY);
	struct chunk_iter it = {};
	uint64_t phys;
	size_t len;

	premap = calloc(MAX_PREMAP, sizeof(*premap));
	TEST_ASSERT(fd >= 0 && premap, "opening /dev/mem failed (errno %d)", errno);
	while (next_ram_chunk(&it, &phys, &len)) {
		void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, phys);

		if (p == MAP_FAILED) {
			nr_premap_refused++;
			continue;
		}
		TEST_ASSERT(nr_premap < MAX_PREMAP,
			    "more RAM than the test has room for");
		premap[nr_premap].addr = p;
		premap[nr_premap++].len = len;
	}
	close(fd);
}

static sigjmp_buf sigbus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(sigbus_jmp, 1);
}

/*
 * Scan a /dev/mem mapping page by page: a page whose mapping was zapped
 * raises SIGBUS (the mapping has no fault handler) and is counted in
 * @gone.
 */
static void scan_mapping(struct needle *ns, uint64_t *addr, size_t len,
			 volatile uint64_t *read, volatile uint64_t *gone)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	volatile size_t off;

	sigaction(SIGBUS, &sa, &old);
	for (off = 0; off < len; off += PAGE_SIZE) {
		if (sigsetjmp(sigbus_jmp, 1)) {
			(*gone)++;
			continue;
		}
		scan_all(ns, 2, (char *)addr + off, PAGE_SIZE);
		*read += PAGE_SIZE;
	}
	sigaction(SIGBUS, &old, NULL);
}

/*
 * Mappings of RAM made before it became private lose it.  STRICT_DEVMEM
 * lets only the first megabyte through.
 */
static void test_devmem_premapped(uint64_t key, bool strict)
{
	volatile uint64_t read = 0, gone = 0;
	struct needle ns[2];
	int i;

	needles_init(ns, key);
	for (i = 0; i < nr_premap; i++) {
		scan_mapping(ns, premap[i].addr, premap[i].len, &read, &gone);
		munmap(premap[i].addr, premap[i].len);
	}
	ksft_print_msg("/dev/mem mapped before: %d pieces, %d refused, %lu pages revoked\n",
		       nr_premap, nr_premap_refused, (unsigned long)gone);
	if (strict) {
		ksft_test_result(nr_premap_refused && !ns[0].hits,
				 "/dev/mem mmap made before (STRICT_DEVMEM): RAM refused\n");
		return;
	}
	TEST_ASSERT(gone >= TEST_NPAGES,
		    "only %lu pages of the earlier /dev/mem mappings were revoked",
		    (unsigned long)gone);
	report_scan("/dev/mem mmap made before", ns, read);
}

/* New mappings of RAM that holds private pages are refused. */
static void test_devmem_mmap(uint64_t key, bool strict)
{
	int fd = open("/dev/mem", O_RDONLY);
	volatile uint64_t read = 0, gone = 0;
	struct chunk_iter it = {};
	uint64_t refused = 0, phys;
	struct needle ns[2];
	size_t len;

	TEST_ASSERT(fd >= 0, "opening /dev/mem failed");
	needles_init(ns, key);
	while (next_ram_chunk(&it, &phys, &len)) {
		void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, phys);

		if (p == MAP_FAILED) {
			TEST_ASSERT(errno == EPERM, "mmap of /dev/mem at %lx: errno %d",
				    (unsigned long)phys, errno);
			refused++;
			continue;
		}
		scan_mapping(ns, p, len, &read, &gone);
		munmap(p, len);
	}
	close(fd);
	ksft_print_msg("/dev/mem mmap: %lu pieces refused, %lu pages gone\n",
		       (unsigned long)refused, (unsigned long)gone);
	if (strict) {
		ksft_test_result(refused && !ns[0].hits,
				 "/dev/mem mmap (STRICT_DEVMEM): RAM refused\n");
		return;
	}
	TEST_ASSERT(refused && !gone,
		    "/dev/mem mmap: %lu refused, %lu pages gone", refused,
		    (unsigned long)gone);
	report_scan("/dev/mem mmap", ns, read);
}

/* All RAM through read() of /dev/mem: private pages read as -EFAULT. */
static void test_devmem_read(uint64_t key, bool strict)
{
	int fd = open("/dev/mem", O_RDONLY);
	void *buf = malloc(CHUNK);
	struct needle ns[2];
	uint64_t bytes = 0;
	int i;

	TEST_ASSERT(fd >= 0 && buf, "opening /dev/mem failed");
	needles_init(ns, key);
	if (strict) {
		uint64_t word;

		ksft_test_result(pread(fd, &word, 8, phys_of(control)) == -1 &&
				 errno == EPERM,
				 "/dev/mem read (STRICT_DEVMEM): RAM refused\n");
		goto out;
	}
	for (i = 0; i < nr_ram; i++)
		bytes += scan_fd_range(fd, ram[i].start,
				       ram[i].end - ram[i].start, ns, 2, buf);
	report_scan("/dev/mem read", ns, bytes);
out:
	free(buf);
	close(fd);
}

/*
 * A child attaches to this process with ptrace() and peeks the control
 * page and the slot's host view word by word.  The results come back
 * through a pipe.
 */
static void test_ptrace_peek(uint64_t key, uint64_t *hva)
{
	struct needle ns[2];
	uint64_t bytes = 0;
	int pipefd[2], status;
	pid_t child;

	needles_init(ns, key);
	TEST_ASSERT(!pipe(pipefd), "pipe failed");
	child = fork();
	TEST_ASSERT(child >= 0, "fork failed");
	if (!child) {
		pid_t parent = getppid();
		uint64_t *words = malloc(TEST_SIZE);
		uint64_t i, n = TEST_SIZE / 8;

		if (!words || ptrace(PTRACE_ATTACH, parent, 0, 0) ||
		    waitpid(parent, &status, __WALL) != parent)
			_exit(1);
		for (i = 0; i < ARRAY_SIZE(control); i++)
			words[i] = ptrace(PTRACE_PEEKDATA, parent, &control[i], 0);
		scan_all(ns, 2, words, PAGE_SIZE);
		for (i = 0; i < n; i++)
			words[i] = ptrace(PTRACE_PEEKDATA, parent, &hva[i], 0);
		scan_all(ns, 2, words, TEST_SIZE);
		ptrace(PTRACE_DETACH, parent, 0, 0);
		bytes = PAGE_SIZE + TEST_SIZE;
		if (write(pipefd[1], ns, sizeof(ns)) != sizeof(ns) ||
		    write(pipefd[1], &bytes, 8) != 8)
			_exit(1);
		_exit(0);
	}
	TEST_ASSERT(waitpid(child, &status, 0) == child &&
		    WIFEXITED(status) && !WEXITSTATUS(status),
		    "the ptrace child failed (status %x)", status);
	TEST_ASSERT(read(pipefd[0], ns, sizeof(ns)) == sizeof(ns) &&
		    read(pipefd[0], &bytes, 8) == 8, "reading the pipe failed");
	close(pipefd[0]);
	close(pipefd[1]);
	report_scan("ptrace(PEEKDATA)", ns, bytes);
}

/* vmsplice() the control page and the slot's host view, read them back. */
static void test_vmsplice(uint64_t key, uint64_t *hva)
{
	struct iovec iov[] = {
		{ control, PAGE_SIZE },
		{ hva, TEST_SIZE },
	};
	void *buf = malloc(CHUNK);
	struct needle ns[2];
	uint64_t bytes = 0;
	int pipefd[2], i;

	needles_init(ns, key);
	TEST_ASSERT(buf && !pipe(pipefd), "pipe failed");
	for (i = 0; i < (int)ARRAY_SIZE(iov); i++) {
		size_t off;

		for (off = 0; off < iov[i].iov_len; off += 16 * PAGE_SIZE) {
			struct iovec piece = {
				(char *)iov[i].iov_base + off,
				iov[i].iov_len - off < 16 * PAGE_SIZE ?
				iov[i].iov_len - off : 16 * PAGE_SIZE,
			};
			ssize_t in = vmsplice(pipefd[1], &piece, 1, 0), out;

			TEST_ASSERT(in > 0, "vmsplice failed (errno %d)", errno);
			out = read(pipefd[0], buf, in);
			TEST_ASSERT(out == in, "reading the pipe failed");
			scan_all(ns, 2, buf, out);
			bytes += out;
		}
	}
	free(buf);
	close(pipefd[0]);
	close(pipefd[1]);
	report_scan("vmsplice", ns, bytes);
}

struct uring {
	int fd;
	struct io_uring_params p;
	void *sq, *cq;
	struct io_uring_sqe *sqes;
};

static int uring_setup(struct uring *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = syscall(__NR_io_uring_setup, 4, &r->p);
	if (r->fd < 0)
		return -errno;
	r->sq = mmap(NULL, r->p.sq_off.array + r->p.sq_entries * 4,
		     PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		     IORING_OFF_SQ_RING);
	r->cq = mmap(NULL, r->p.cq_off.cqes +
		     r->p.cq_entries * sizeof(struct io_uring_cqe),
		     PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		     IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, r->p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		       IORING_OFF_SQES);
	TEST_ASSERT(r->sq != MAP_FAILED && r->cq != MAP_FAILED &&
		    r->sqes != MAP_FAILED, "mapping the io_uring rings failed");
	return 0;
}

/* Submit one SQE and return its CQE's result. */
static int uring_run(struct uring *r, const struct io_uring_sqe *sqe)
{
	uint32_t *sq_tail = r->sq + r->p.sq_off.tail;
	uint32_t *sq_array = r->sq + r->p.sq_off.array;
	uint32_t *cq_head = r->cq + r->p.cq_off.head;
	uint32_t *cq_tail = r->cq + r->p.cq_off.tail;
	struct io_uring_cqe *cqes = r->cq + r->p.cq_off.cqes;
	uint32_t mask = *(uint32_t *)(r->sq + r->p.sq_off.ring_mask);
	uint32_t tail = *sq_tail, head;
	int res;

	r->sqes[tail & mask] = *sqe;
	sq_array[tail & mask] = tail & mask;
	__atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
	TEST_ASSERT(syscall(__NR_io_uring_enter, r->fd, 1, 1,
			    IORING_ENTER_GETEVENTS, NULL, 0) == 1,
		    "io_uring_enter failed (errno %d)", errno);
	head = *cq_head;
	TEST_ASSERT(head != __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE),
		    "no io_uring completion");
	res = cqes[head & *(uint32_t *)(r->cq + r->p.cq_off.ring_mask)].res;
	__atomic_store_n(cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

/*
 * io_uring: a read of the guest_memfd is refused; the control page and the
 * slot's host view, registered as fixed buffers, are written to a memfd
 * and read back.
 */
static void test_io_uring(uint64_t key, uint64_t *hva, int gmem_fd)
{
	struct iovec bufs[] = {
		{ control, PAGE_SIZE },
		{ hva, TEST_SIZE },
	};
	int memfd = memfd_create("host-access", 0);
	void *buf = malloc(TEST_SIZE);
	struct io_uring_sqe sqe;
	struct needle ns[2];
	struct uring r;
	int res, i;

	TEST_ASSERT(memfd >= 0 && buf, "memfd_create failed");
	res = uring_setup(&r);
	if (res == -ENOSYS) {
		ksft_test_result_skip("io_uring: not built in\n");
		goto out;
	}
	TEST_ASSERT(!res, "io_uring_setup failed (%d)", res);
	needles_init(ns, key);

	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_READ;
	sqe.fd = gmem_fd;
	sqe.addr = (uintptr_t)buf;
	sqe.len = PAGE_SIZE;
	res = uring_run(&r, &sqe);
	ksft_print_msg("io_uring read of the guest_memfd: %d\n", res);
	TEST_ASSERT(res == -EINVAL, "io_uring read of the guest_memfd: %d", res);

	TEST_ASSERT(!syscall(__NR_io_uring_register, r.fd,
			     IORING_REGISTER_BUFFERS, bufs, ARRAY_SIZE(bufs)),
		    "registering fixed buffers failed (errno %d)", errno);
	for (i = 0; i < (int)ARRAY_SIZE(bufs); i++) {
		memset(&sqe, 0, sizeof(sqe));
		sqe.opcode = IORING_OP_WRITE_FIXED;
		sqe.fd = memfd;
		sqe.addr = (uintptr_t)bufs[i].iov_base;
		sqe.len = bufs[i].iov_len;
		sqe.buf_index = i;
		res = uring_run(&r, &sqe);
		TEST_ASSERT(res == (int)bufs[i].iov_len,
			    "io_uring write of fixed buffer %d: %d", i, res);
		TEST_ASSERT(pread(memfd, buf, res, 0) == res,
			    "reading the memfd back failed");
		scan_all(ns, 2, buf, res);
	}
	close(r.fd);
	report_scan("io_uring fixed buffers", ns, PAGE_SIZE + TEST_SIZE);
out:
	free(buf);
	close(memfd);
}

/* O_DIRECT cannot be set on the guest_memfd, nor used to reopen it. */
static void test_o_direct(int gmem_fd)
{
	char path[64], *buf = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	int setfl, reopen_errno = 0, fd;
	ssize_t n = -1;

	setfl = fcntl(gmem_fd, F_SETFL, O_DIRECT);
	TEST_ASSERT(setfl == -1 && errno == EINVAL,
		    "F_SETFL O_DIRECT on a guest_memfd: %d (errno %d)",
		    setfl, errno);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", gmem_fd);
	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		reopen_errno = errno;
	} else {
		n = pread(fd, buf, PAGE_SIZE, 0);
		close(fd);
	}
	free(buf);
	ksft_print_msg("O_DIRECT: F_SETFL EINVAL, reopen errno %d, read %zd\n",
		       reopen_errno, n);
	ksft_test_result(n < 0, "O_DIRECT on the guest_memfd: nothing read\n");
}

/* With a guest_memfd open, writing "disk" to /sys/power/state fails. */
static void test_hibernation_refused(void)
{
	char states[128] = {};
	ssize_t n;
	int fd;

	/* /sys/power/disk exists only with CONFIG_HIBERNATION. */
	if (access("/sys/power/disk", F_OK)) {
		ksft_test_result_skip("hibernation: not built in\n");
		return;
	}
	fd = open("/sys/power/state", O_RDWR);
	TEST_ASSERT(fd >= 0, "opening /sys/power/state failed");
	n = read(fd, states, sizeof(states) - 1);
	TEST_ASSERT(n >= 0, "reading /sys/power/state failed");
	ksft_print_msg("/sys/power/state offers: %s", states);
	n = pwrite(fd, "disk", 4, 0);
	ksft_test_result(n == -1 && errno == EPERM && !strstr(states, "disk"),
			 "hibernation refused while private memory exists\n");
	close(fd);
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t key, *hva;
	bool strict;
	int fd;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD));
	TEST_REQUIRE(vm_type_supported(KVM_X86_SW_PROTECTED_VM));

	ksft_print_header();
	ksft_set_plan(11);

	srandom(getpid() ^ time(NULL));
	key = ((uint64_t)random() << 33) ^ ((uint64_t)random() << 2) ^ 0x9e37;
	fill_control(key);
	read_ram_ranges();
	strict = devmem_strict();
	/* Before any private memory exists: all of RAM, if /dev/mem lets us. */
	map_devmem();

	vm = privmem_vm_create(guest_code, &vcpu, TEST_SLOT, TEST_GPA,
			       TEST_NPAGES, &fd);
	hva = addr_gpa2hva(vm, TEST_GPA);

	guest_key = key;
	sync_global_to_guest(vm, guest_key);
	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC,
		    "guest did not fill its private memory");

	/* First, so that the other scans do not walk these mappings. */
	test_devmem_premapped(key, strict);
	test_devmem_mmap(key, strict);
	test_devmem_read(key, strict);
	test_scan(SCAN_KCORE, key);
	test_scan(SCAN_PROC_MEM, key);
	test_scan(SCAN_VM_READV, key);
	test_ptrace_peek(key, hva);
	test_vmsplice(key, hva);
	test_io_uring(key, hva, fd);
	test_o_direct(fd);
	test_hibernation_refused();

	close(fd);
	kvm_vm_free(vm);
	ksft_finished();
}
