// SPDX-License-Identifier: GPL-2.0-only
/*
 * privmem demo: a tiny VMM whose guest keeps a secret in private memory.
 *
 * The VM is a KVM_X86_SW_PROTECTED_VM whose RAM data region is bound to a
 * guest_memfd and private from the start.  The guest writes a secret there,
 * converts one page to shared to exchange messages with the host, converts
 * it back, and checks that its secret is intact.  The host then tries to
 * get at the secret: read(), pread() and mmap() on the guest_memfd must all
 * fail, and the secret must not appear anywhere in the host's view of the
 * region.  One line per fact; exit status 0 only if all of it held.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "privmem_util.h"
#include "kvm_util.h"
#include "processor.h"

#define DATA_SLOT	10
#define DATA_GPA	0x100000000ull
#define DATA_SIZE	(16ul << 20)
#define DATA_NPAGES	(DATA_SIZE >> PAGE_SHIFT)
#define SECRET_GPA	(DATA_GPA + 0x1000)
#define MSG_GPA		(DATA_GPA + 0x8000)

enum {
	STAGE_SECRET_WRITTEN,
	STAGE_MESSAGE,
	STAGE_SECRET_CHECKED,
};

static const char secret[] = "privmem-demo secret: the vault code is 7-3-1-9";
static const char guest_msg[] = "hello host, this one page is shared on purpose";
static const char host_reply[] = "hello guest, message received";

static void guest_code(void)
{
	char *s = (char *)SECRET_GPA;
	char *msg = (char *)MSG_GPA;
	uint64_t ret;

	memcpy(s, secret, sizeof(secret));
	GUEST_SYNC(STAGE_SECRET_WRITTEN);

	ret = guest_map_gpa_range(MSG_GPA, 1, KVM_MAP_GPA_RANGE_DECRYPTED);
	GUEST_ASSERT_1(!ret, ret);
	memcpy(msg, guest_msg, sizeof(guest_msg));
	GUEST_SYNC(STAGE_MESSAGE);
	GUEST_ASSERT(!memcmp(msg, host_reply, sizeof(host_reply)));

	ret = guest_map_gpa_range(MSG_GPA, 1, KVM_MAP_GPA_RANGE_ENCRYPTED);
	GUEST_ASSERT_1(!ret, ret);
	GUEST_ASSERT(!memcmp(s, secret, sizeof(secret)));
	GUEST_SYNC(STAGE_SECRET_CHECKED);
	GUEST_DONE();
}

struct demo {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int gmem_fd;
	uint64_t shared_pages;
	int to_shared;
	int to_private;
	int failures;
};

static void handle_map_gpa_range(struct demo *d)
{
	struct kvm_run *run = d->vcpu->run;
	uint64_t gpa = run->hypercall.args[0];
	uint64_t npages = run->hypercall.args[1];
	uint64_t size = npages * PAGE_SIZE;
	bool private = run->hypercall.args[2] & KVM_MAP_GPA_RANGE_ENCRYPTED;

	TEST_ASSERT(gpa >= DATA_GPA && gpa + size <= DATA_GPA + DATA_SIZE,
		    "guest asked to convert [0x%lx, +0x%lx) outside its RAM",
		    gpa, size);
	if (private) {
		vm_mem_set_private(d->vm, gpa, size);
		d->shared_pages -= npages;
		d->to_private++;
	} else {
		vm_mem_set_shared(d->vm, gpa, size);
		/* Like a real VMM: free the private pages behind it. */
		guest_memfd_punch_hole(d->gmem_fd, gpa - DATA_GPA, size);
		d->shared_pages += npages;
		d->to_shared++;
	}
	printf("guest: converted %lu page(s) at GPA 0x%lx to %s\n", npages, gpa,
	       private ? "private" : "shared");
	run->hypercall.ret = 0;
}

/* Run the guest to its next sync, serving conversions on the way. */
static uint64_t run_to_sync(struct demo *d)
{
	struct kvm_run *run = d->vcpu->run;
	struct ucall uc;

	for (;;) {
		vcpu_run(d->vcpu);
		if (is_map_gpa_range_exit(run)) {
			handle_map_gpa_range(d);
			continue;
		}
		TEST_ASSERT(run->exit_reason == KVM_EXIT_IO,
			    "unexpected exit %s", exit_reason_str(run->exit_reason));
		switch (get_ucall(d->vcpu, &uc)) {
		case UCALL_SYNC:
			return uc.args[1];
		case UCALL_DONE:
			return ~0ull;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT_1(uc, "value 0x%lx");
		default:
			TEST_FAIL("unexpected ucall");
		}
	}
}

static void expect_stage(struct demo *d, uint64_t stage)
{
	uint64_t got = run_to_sync(d);

	TEST_ASSERT(got == stage, "guest at stage %ld, want %ld", got, stage);
}

static void print_memory(struct demo *d, const char *when)
{
	printf("memory %s: %lu pages private, %lu shared\n", when,
	       DATA_NPAGES - d->shared_pages, d->shared_pages);
}

/* The host tries every way it has to read the guest_memfd. */
static void try_read_guest_memfd(struct demo *d)
{
	char buf[sizeof(secret)];
	ssize_t n;
	void *p;

	errno = 0;
	n = read(d->gmem_fd, buf, sizeof(buf));
	demo_fact(&d->failures, n < 0, "host read() of the guest_memfd: %s, errno %d (%s)",
		  n < 0 ? "refused" : "SUCCEEDED", errno, strerror(errno));

	errno = 0;
	n = pread(d->gmem_fd, buf, sizeof(buf), SECRET_GPA - DATA_GPA);
	demo_fact(&d->failures, n < 0, "host pread() at the secret's offset: %s, errno %d (%s)",
		  n < 0 ? "refused" : "SUCCEEDED", errno, strerror(errno));

	errno = 0;
	p = mmap(NULL, DATA_SIZE, PROT_READ, MAP_SHARED, d->gmem_fd, 0);
	demo_fact(&d->failures, p == MAP_FAILED,
		  "host mmap() of the guest_memfd: %s, errno %d (%s)",
		  p == MAP_FAILED ? "refused" : "SUCCEEDED", errno, strerror(errno));
	if (p != MAP_FAILED) {
		demo_fact(&d->failures, !memmem(p, DATA_SIZE, secret, strlen(secret)),
			  "secret in the mmap()ed guest_memfd: %s",
			  memmem(p, DATA_SIZE, secret, strlen(secret)) ?
			  "FOUND" : "not found");
		munmap(p, DATA_SIZE);
	}
}

int main(void)
{
	struct demo d = { .gmem_fd = -1 };
	char *view, *msg;

	setbuf(stdout, NULL);
	if (!vm_type_supported(KVM_X86_SW_PROTECTED_VM) ||
	    !kvm_has_cap(KVM_CAP_GUEST_MEMFD) ||
	    !(kvm_check_cap(KVM_CAP_EXIT_HYPERCALL) & (1ul << KVM_HC_MAP_GPA_RANGE))) {
		printf("privmem demo: no software-protected VMs with guest_memfd here\n");
		return 1;
	}
	pin_self_to_cpu(0);

	d.vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, 1,
					   DATA_NPAGES, guest_code, &d.vcpu);
	vm_enable_map_gpa_range_exits(d.vm);
	vm_userspace_mem_region_add(d.vm, VM_MEM_SRC_ANONYMOUS, DATA_GPA,
				    DATA_SLOT, DATA_NPAGES, 0);
	d.gmem_fd = vm_create_guest_memfd(d.vm, DATA_SIZE, 0);
	vm_mem_region_bind_guest_memfd(d.vm, DATA_SLOT, d.gmem_fd, 0);
	vm_mem_set_private(d.vm, DATA_GPA, DATA_SIZE);
	virt_map(d.vm, DATA_GPA, DATA_GPA, DATA_NPAGES);
	view = addr_gpa2hva(d.vm, DATA_GPA);
	msg = addr_gpa2hva(d.vm, MSG_GPA);

	printf("privmem demo: SW-protected VM, %lu MiB RAM at GPA 0x%llx on a guest_memfd (fd %d), all private\n",
	       DATA_SIZE >> 20, DATA_GPA, d.gmem_fd);

	expect_stage(&d, STAGE_SECRET_WRITTEN);
	printf("guest: wrote a %zu-byte secret into private memory at GPA 0x%llx\n",
	       strlen(secret), SECRET_GPA);

	expect_stage(&d, STAGE_MESSAGE);
	demo_fact(&d.failures, !strcmp(msg, guest_msg),
		  "host: received \"%.*s\" in the shared page", (int)sizeof(guest_msg), msg);
	print_memory(&d, "while talking");
	memcpy(msg, host_reply, sizeof(host_reply));

	expect_stage(&d, STAGE_SECRET_CHECKED);
	printf("guest: read the host's reply; its secret in private memory is intact\n");
	print_memory(&d, "at the end");
	demo_fact(&d.failures, d.to_shared == 1 && d.to_private == 1,
		  "conversions done: %d (%d to shared, %d to private)",
		  d.to_shared + d.to_private, d.to_shared, d.to_private);
	ASSERT_EQ(run_to_sync(&d), ~0ull);

	try_read_guest_memfd(&d);
	demo_fact(&d.failures, !memmem(view, DATA_SIZE, secret, strlen(secret)),
		  "host scan of its view of all %lu MiB of guest RAM for the secret: %s",
		  DATA_SIZE >> 20,
		  memmem(view, DATA_SIZE, secret, strlen(secret)) ? "FOUND" : "not found");

	kvm_vm_free(d.vm);
	close(d.gmem_fd);

	if (d.failures) {
		printf("privmem demo: FAILED (%d checks)\n", d.failures);
		return 1;
	}
	printf("privmem demo: OK, the host never saw the secret\n");
	return 0;
}
