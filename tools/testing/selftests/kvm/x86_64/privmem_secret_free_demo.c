// SPDX-License-Identifier: GPL-2.0-only
/*
 * privmem secret-free VM demo: all guest RAM in one guest_memfd, loaded by
 * the VMM through its mapping while shared, then made private in place, so
 * that the guest runs without the host being able to reach its memory.
 *
 * The VM is a KVM_X86_SW_PROTECTED_VM.  The selftest library builds the
 * guest (code, page tables, descriptor tables) in ordinary memory, which
 * here only serves as the VMM's image; the VMM copies that image into a
 * guest_memfd created with GUEST_MEMFD_FLAG_MMAP, binds the file as the
 * guest's RAM and makes all of it private with KVM_SET_MEMORY_ATTRIBUTES2
 * on the file.  The guest derives a secret at run time (the image holds it
 * only scrambled), reports through port I/O (the library's ucall would
 * need the host to read guest memory), and checks the secret again after
 * the host has tried to get at it.  One line per fact; exit status 0 only
 * if all of it held.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "privmem_util.h"
#include "kvm_util.h"
#include "processor.h"

#define DEMO_PORT	0x3f0
#define SCRAMBLE	0x5a

enum {
	REPORT_SECRET_WRITTEN = 1,
	REPORT_SECRET_INTACT,
	REPORT_SECRET_CHANGED,
};

/* The secret, scrambled: the image the VMM loads never holds it in clear. */
#define SECRET_LEN	40
static const char scrambled[SECRET_LEN] = {
	'p' ^ SCRAMBLE, 'r' ^ SCRAMBLE, 'i' ^ SCRAMBLE, 'v' ^ SCRAMBLE,
	'm' ^ SCRAMBLE, 'e' ^ SCRAMBLE, 'm' ^ SCRAMBLE, ' ' ^ SCRAMBLE,
	's' ^ SCRAMBLE, 'e' ^ SCRAMBLE, 'c' ^ SCRAMBLE, 'r' ^ SCRAMBLE,
	'e' ^ SCRAMBLE, 't' ^ SCRAMBLE, '-' ^ SCRAMBLE, 'f' ^ SCRAMBLE,
	'r' ^ SCRAMBLE, 'e' ^ SCRAMBLE, 'e' ^ SCRAMBLE, ' ' ^ SCRAMBLE,
	'g' ^ SCRAMBLE, 'u' ^ SCRAMBLE, 'e' ^ SCRAMBLE, 's' ^ SCRAMBLE,
	't' ^ SCRAMBLE, ' ' ^ SCRAMBLE, 'k' ^ SCRAMBLE, 'e' ^ SCRAMBLE,
	'y' ^ SCRAMBLE, ' ' ^ SCRAMBLE, '4' ^ SCRAMBLE, '2' ^ SCRAMBLE,
	'-' ^ SCRAMBLE, '1' ^ SCRAMBLE, '7' ^ SCRAMBLE, '-' ^ SCRAMBLE,
	'9' ^ SCRAMBLE, '9' ^ SCRAMBLE, '0' ^ SCRAMBLE, '1' ^ SCRAMBLE,
};

/* Where the guest keeps the secret in clear: its own (private) memory. */
static char guest_secret[SECRET_LEN];

static void guest_report(uint32_t what)
{
	asm volatile("outl %0, %w1" : : "a"(what), "Nd"(DEMO_PORT) : "memory");
}

static void guest_code(void)
{
	bool intact = true;
	int i;

	for (i = 0; i < SECRET_LEN; i++)
		WRITE_ONCE(guest_secret[i], scrambled[i] ^ SCRAMBLE);
	guest_report(REPORT_SECRET_WRITTEN);

	for (i = 0; i < SECRET_LEN; i++)
		intact &= READ_ONCE(guest_secret[i]) == (scrambled[i] ^ SCRAMBLE);
	guest_report(intact ? REPORT_SECRET_INTACT : REPORT_SECRET_CHANGED);
	for (;;)
		asm volatile("hlt");
}

struct demo {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int gmem_fd;
	char *image;		/* the library's build of the guest */
	char *map;		/* the VMM's mapping of the guest_memfd */
	uint64_t gpa, size;
	int failures;
};

/* Run to the guest's next report. */
static uint32_t run_to_report(struct demo *d)
{
	struct kvm_run *run = d->vcpu->run;
	int r;

	do {
		r = __vcpu_run(d->vcpu);
	} while (r == -1 && errno == EINTR);
	TEST_ASSERT(!r, "KVM_RUN failed: %s (exit %s)", strerror(errno),
		    exit_reason_str(run->exit_reason));
	TEST_ASSERT(run->exit_reason == KVM_EXIT_IO &&
		    run->io.port == DEMO_PORT &&
		    run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 4,
		    "unexpected exit %s", exit_reason_str(run->exit_reason));
	return *(uint32_t *)((char *)run + run->io.data_offset);
}

static sigjmp_buf sigbus_env;

static void on_sigbus(int sig)
{
	siglongjmp(sigbus_env, 1);
}

/* Whether the first byte of the VMM's mapping can be read. */
static bool map_readable(struct demo *d)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	bool readable = false;

	sigaction(SIGBUS, &sa, &old);
	if (!sigsetjmp(sigbus_env, 1)) {
		(void)READ_ONCE(d->map[0]);
		readable = true;
	}
	sigaction(SIGBUS, &old, NULL);
	return readable;
}

static uint64_t file_bytes(int fd)
{
	struct stat st;

	TEST_ASSERT(!fstat(fd, &st), "fstat failed");
	return (uint64_t)st.st_blocks * 512;
}

static int set_file_attributes(struct demo *d, uint64_t attributes)
{
	struct kvm_memory_attributes2 attrs = {
		.offset = 0,
		.size = d->size,
		.attributes = attributes,
	};

	return ioctl(d->gmem_fd, KVM_SET_MEMORY_ATTRIBUTES2, &attrs);
}

/* The VMM loads the guest into the guest_memfd, then gives it away. */
static void load_and_seal(struct demo *d)
{
	struct userspace_mem_region *region = memslot2region(d->vm, 0);
	struct kvm_userspace_memory_region del = region->region;

	d->gpa = region->region.guest_phys_addr;
	d->size = region->region.memory_size;
	d->image = region->host_mem;
	d->gmem_fd = vm_create_guest_memfd(d->vm, d->size, GUEST_MEMFD_FLAG_MMAP);

	demo_fact(&d->failures, !set_file_attributes(d, 0),
		  "VMM: made the new guest_memfd shared through the file");
	d->map = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      d->gmem_fd, 0);
	TEST_ASSERT(d->map != MAP_FAILED, "mmap of the guest_memfd failed");
	memcpy(d->map, d->image, d->size);
	printf("VMM: loaded the %lu KiB guest image through its mapping\n",
	       d->size >> 10);

	del.memory_size = 0;
	vm_ioctl(d->vm, KVM_SET_USER_MEMORY_REGION, &del);
	vm_set_user_memory_region2(d->vm, 0, KVM_MEM_GUEST_MEMFD, d->gpa,
				   d->size, d->map, d->gmem_fd, 0);
	printf("VMM: all guest RAM (GPA 0x%lx, %lu KiB) is now the guest_memfd\n",
	       d->gpa, d->size >> 10);

	demo_fact(&d->failures, !set_file_attributes(d, KVM_MEMORY_ATTRIBUTE_PRIVATE),
		  "VMM: made all of it private in place (KVM_SET_MEMORY_ATTRIBUTES2)");
	demo_fact(&d->failures, !map_readable(d),
		  "VMM: its own mapping of guest RAM now faults (SIGBUS)");
	demo_fact(&d->failures, file_bytes(d->gmem_fd) == d->size,
		  "memory: %lu KiB in the guest_memfd for %lu KiB of RAM, one copy",
		  file_bytes(d->gmem_fd) >> 10, d->size >> 10);
}

/* The host tries what it has to read guest RAM while the secret is in it. */
static void try_reach_guest(struct demo *d)
{
	struct iovec local, remote;
	char *buf = malloc(d->size);
	char needle[SECRET_LEN];
	ssize_t n;
	int fd, i;

	demo_fact(&d->failures, !map_readable(d), "host: read through the mapping: SIGBUS");

	local = (struct iovec){ .iov_base = buf, .iov_len = d->size };
	remote = (struct iovec){ .iov_base = d->map, .iov_len = d->size };
	errno = 0;
	n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	demo_fact(&d->failures, n <= 0, "host: process_vm_readv() of guest RAM: %s (%s)",
		  n > 0 ? "SUCCEEDED" : "refused", strerror(errno));

	fd = open("/proc/self/mem", O_RDONLY);
	errno = 0;
	n = fd < 0 ? -1 : pread(fd, buf, d->size, (off_t)(uintptr_t)d->map);
	demo_fact(&d->failures, n <= 0, "host: /proc/self/mem read of guest RAM: %s (%s)",
		  n > 0 ? "SUCCEEDED" : "refused", strerror(errno));
	if (fd >= 0)
		close(fd);

	/* Only a verifier knows the secret: no literal holds it. */
	for (i = 0; i < SECRET_LEN; i++)
		needle[i] = scrambled[i] ^ SCRAMBLE;
	demo_fact(&d->failures, !memmem(d->image, d->size, needle, SECRET_LEN),
		  "host: the secret is not in the image the VMM loaded");
	free(buf);
}

int main(void)
{
	struct demo d = { .gmem_fd = -1 };
	uint32_t report;

	setbuf(stdout, NULL);
	if (!vm_type_supported(KVM_X86_SW_PROTECTED_VM) ||
	    !(kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) & GUEST_MEMFD_FLAG_MMAP)) {
		printf("secret-free demo: no mappable guest_memfd for SW-protected VMs here\n");
		return 1;
	}
	pin_self_to_cpu(0);

	d.vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, 1, 0,
					   guest_code, &d.vcpu);
	printf("secret-free demo: a SW-protected VM whose RAM is one guest_memfd\n");
	load_and_seal(&d);

	report = run_to_report(&d);
	demo_fact(&d.failures, report == REPORT_SECRET_WRITTEN,
		  "guest: derived its secret into private memory (report %u)", report);
	try_reach_guest(&d);

	report = run_to_report(&d);
	demo_fact(&d.failures, report == REPORT_SECRET_INTACT,
		  "guest: its secret is intact after the host's attempts (report %u)",
		  report);

	munmap(d.map, d.size);
	kvm_vm_free(d.vm);
	close(d.gmem_fd);

	if (d.failures) {
		printf("secret-free demo: FAILED (%d checks)\n", d.failures);
		return 1;
	}
	printf("secret-free demo: OK, the guest ran from memory the host cannot reach\n");
	return 0;
}
