// SPDX-License-Identifier: GPL-2.0-only
/*
 * KSM merges the shared view of private GFNs under a running guest.
 *
 * KSM replaces the page behind an HVA through change_pte(), inside an HVA
 * invalidation that does not hold off private faults (they have no HVA).
 * Whatever KSM does to the memslot's userspace_addr, the guest must keep
 * reading its own private data at private GFNs, never the merged page.
 * ksmd runs on the test's CPU (see pin_self_to_cpu()): TLB shootdowns of
 * the VMM's pages then never reach a CPU in guest mode.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
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
#define KEY		0x70726976617465ull	/* "private" */
#define SHARED_FILL	0x5348415245445f5full
#define KSM		"/sys/kernel/mm/ksm/"
#define RUN_SECONDS	20

static void guest_code(void)
{
	uint64_t gpa, pass, got;

	for (gpa = TEST_GPA; gpa < TEST_GPA + TEST_SIZE; gpa += PAGE_SIZE)
		WRITE_ONCE(*(uint64_t *)gpa, gpa ^ KEY);
	for (pass = 1; ; pass++) {
		for (gpa = TEST_GPA; gpa < TEST_GPA + TEST_SIZE; gpa += PAGE_SIZE) {
			got = READ_ONCE(*(uint64_t *)gpa);
			GUEST_ASSERT_2(got == (gpa ^ KEY), gpa, got);
		}
		GUEST_SYNC(pass);
	}
}

static void ksm_write(const char *knob, const char *val)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), KSM "%s", knob);
	f = fopen(path, "w");
	TEST_ASSERT(f && fputs(val, f) >= 0 && !fclose(f), "writing %s failed", path);
}

static long ksm_read(const char *knob)
{
	char path[128];
	long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), KSM "%s", knob);
	f = fopen(path, "r");
	TEST_ASSERT(f, "opening %s failed", path);
	TEST_ASSERT(fscanf(f, "%ld", &val) == 1, "reading %s failed", path);
	fclose(f);
	return val;
}

/* Put ksmd on CPU 0, next to the vCPU. */
static void pin_ksmd(void)
{
	struct dirent *d;
	DIR *proc = opendir("/proc");
	bool found = false;

	TEST_ASSERT(proc, "opening /proc failed");
	while ((d = readdir(proc))) {
		char path[300], comm[32] = {};
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, "ksmd\n")) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(0, &set);
			TEST_ASSERT(!sched_setaffinity(atoi(d->d_name), sizeof(set), &set),
				    "pinning ksmd failed");
			found = true;
		}
		fclose(f);
	}
	closedir(proc);
	TEST_ASSERT(found, "ksmd not found");
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t *shared, i, pass = 0;
	long scans, sharing = 0;
	time_t end;
	bool ok = true;
	int fd;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD));
	TEST_REQUIRE(vm_type_supported(KVM_X86_SW_PROTECTED_VM));
	TEST_REQUIRE(!access(KSM "run", W_OK));

	pin_self_to_cpu(0);
	ksft_print_header();
	ksft_set_plan(1);
	pin_ksmd();

	vm = privmem_vm_create(guest_code, &vcpu, TEST_SLOT, TEST_GPA,
			       TEST_NPAGES, &fd);

	/* The shared view: identical pages, offered to KSM. */
	shared = addr_gpa2hva(vm, TEST_GPA);
	for (i = 0; i < TEST_SIZE / 8; i++)
		shared[i] = SHARED_FILL;
	TEST_ASSERT(!madvise(shared, TEST_SIZE, MADV_MERGEABLE),
		    "madvise(MADV_MERGEABLE) failed");

	ksm_write("pages_to_scan", "2000");
	ksm_write("sleep_millisecs", "0");
	scans = ksm_read("full_scans");
	ksm_write("run", "1");

	end = time(NULL) + RUN_SECONDS;
	while (ok && time(NULL) < end) {
		vcpu_run(vcpu);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			pass++;
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT_2(uc, "gpa 0x%lx read 0x%lx");
			ok = false;
			break;
		default:
			TEST_FAIL("unexpected exit %s",
				  exit_reason_str(vcpu->run->exit_reason));
		}
		if (ksm_read("pages_sharing") > sharing)
			sharing = ksm_read("pages_sharing");
		if (sharing > 0 && ksm_read("full_scans") >= scans + 3)
			break;
	}
	scans = ksm_read("full_scans") - scans;

	/* Unmerge and stop: leave KSM as it was. */
	ksm_write("run", "2");
	ksm_write("run", "0");

	ksft_print_msg("%lu guest passes, %ld KSM scans, up to %ld pages sharing\n",
		       pass, scans, sharing);
	close(fd);
	kvm_vm_free(vm);
	ksft_test_result(ok && pass > 0 && sharing > 0,
			 "private data intact while KSM merges the shared view\n");
	ksft_finished();
}
