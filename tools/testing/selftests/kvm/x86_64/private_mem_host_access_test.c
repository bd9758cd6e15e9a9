// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host cannot read guest private memory.  A guest fills its private
 * pages with a sequence only it computes (each word is a key XOR its own
 * GPA), then the host looks for that sequence everywhere it can read:
 * all of RAM through /proc/kcore's direct-map segments, and every mapping
 * of its own address space through /proc/self/mem and process_vm_readv().
 * Private pages are out of the direct map and out of user page tables, so
 * no scan may find a single run.  A page of the host's own memory filled
 * the same way, with another key, proves that each scan does see what is
 * there.  The host must also survive the scans.  Hibernation, which would
 * write all of memory to disk, is refused while private memory exists.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <time.h>

#include "privmem_util.h"
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

/* Set by the host before the guest runs: in shared memory on purpose. */
static uint64_t guest_key;

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

static void test_scan(enum scan_kind kind, uint64_t key)
{
	/* The control page: host memory filled like the guest fills its own. */
	static uint64_t control[PAGE_SIZE / 8] __attribute__((aligned(4096)));
	struct needle ns[2] = {
		{ .key = key, .base = TEST_GPA, .size = TEST_SIZE },
		{ .key = ~key, .base = 0x5000, .size = PAGE_SIZE },
	};
	void *buf = malloc(CHUNK);
	uint64_t bytes, i;

	TEST_ASSERT(buf, "malloc failed");
	for (i = 0; i < ARRAY_SIZE(control); i++)
		WRITE_ONCE(control[i], ~key ^ (0x5000 + i * 8));

	if (kind == SCAN_KCORE)
		bytes = scan_kcore(ns, 2, buf);
	else
		bytes = scan_self(ns, 2, buf, kind == SCAN_VM_READV);
	free(buf);

	ksft_print_msg("%s: %lu MiB read, %lu private runs, %lu control runs\n",
		       scan_names[kind], bytes >> 20, ns[0].hits, ns[1].hits);
	ksft_test_result(ns[0].hits == 0 && ns[1].hits > 0,
			 "%s: no private data, the control page is seen\n",
			 scan_names[kind]);
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
	uint64_t key;
	int fd;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD));
	TEST_REQUIRE(vm_type_supported(KVM_X86_SW_PROTECTED_VM));

	ksft_print_header();
	ksft_set_plan(4);

	vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, 1, TEST_NPAGES,
					 guest_code, &vcpu);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, TEST_NPAGES, 0);
	virt_map(vm, TEST_GPA, TEST_GPA, TEST_NPAGES);
	fd = vm_create_guest_memfd(vm, TEST_SIZE, 0);
	vm_mem_region_bind_guest_memfd(vm, TEST_SLOT, fd, 0);
	vm_mem_set_private(vm, TEST_GPA, TEST_SIZE);

	srandom(getpid() ^ time(NULL));
	key = ((uint64_t)random() << 33) ^ ((uint64_t)random() << 2) ^ 0x9e37;
	guest_key = key;
	sync_global_to_guest(vm, guest_key);
	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC,
		    "guest did not fill its private memory");

	test_scan(SCAN_KCORE, key);
	test_scan(SCAN_PROC_MEM, key);
	test_scan(SCAN_VM_READV, key);
	test_hibernation_refused();

	close(fd);
	kvm_vm_free(vm);
	ksft_finished();
}
