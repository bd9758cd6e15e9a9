/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for tests of TD guests on the TDX-module model: the invariant
 * audit of the TDX backend (debugfs, kvm_tdx/audit) that every TD test runs
 * after each guest run, its attack knob (kvm_tdx/attack), and a TD that
 * runs: launch, the guest's TDCALLs, the values it reports.
 *
 * The audit checks, for every TD, that each present private NPT entry is
 * derived from a MAPPED leaf of the model's Secure EPT (same GPA, page and
 * at least its size) of a page the PAMT says the TD owns, and counts the
 * TDs' private pages that the host's direct map still reaches.
 */
#ifndef SELFTEST_KVM_PRIVMEM_TDX_H
#define SELFTEST_KVM_PRIVMEM_TDX_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"
#include "privmem_launch.h"
#include "privmem_util.h"
#include "test_util.h"

#define TDX_AUDIT		"/sys/kernel/debug/kvm_tdx/audit"
#define TDX_ATTACK		"/sys/kernel/debug/kvm_tdx/attack"

struct tdx_audit {
	unsigned long checked;		/* private NPT entries */
	unsigned long violations;
	unsigned long guest_pages;	/* the TDs' private pages */
	unsigned long in_direct_map;
	unsigned long unflushed_reuses;	/* pages reused without WBINVD */
	uint64_t hkids;			/* bit N: a TD with HKID N */
};

static inline struct tdx_audit tdx_audit_read(void)
{
	struct tdx_audit a = { ~0ul, ~0ul, ~0ul, ~0ul, ~0ul, 0 };
	FILE *f = fopen(TDX_AUDIT, "r");
	char line[256];
	int hkid;

	TEST_ASSERT(f, "open %s: %s", TDX_AUDIT, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "checked %lu", &a.checked) == 1 ||
		    sscanf(line, "violations %lu", &a.violations) == 1 ||
		    sscanf(line, "guest_pages %lu", &a.guest_pages) == 1 ||
		    sscanf(line, "in_direct_map %lu", &a.in_direct_map) == 1 ||
		    sscanf(line, "unflushed_reuses %lu", &a.unflushed_reuses) == 1)
			continue;
		if (sscanf(line, "vm hkid %d", &hkid) == 1 && hkid > 0 && hkid < 64)
			a.hkids |= 1ull << hkid;
		/* Each violation, for the log. */
		if (!strncmp(line, "violation ", 10))
			fprintf(stderr, "audit: %s", line);
	}
	fclose(f);
	TEST_ASSERT(a.violations != ~0ul && a.in_direct_map != ~0ul &&
		    a.unflushed_reuses != ~0ul, "no totals in %s", TDX_AUDIT);
	return a;
}

/*
 * The audit finds nothing wrong; @when says after what.  Returns it, for
 * tests that want to see what it checked.
 */
static inline struct tdx_audit tdx_audit_assert(const char *when)
{
	struct tdx_audit a = tdx_audit_read();

	TEST_ASSERT(!a.violations, "%s: %lu private NPT entries the S-EPT does not map",
		    when, a.violations);
	TEST_ASSERT(!a.in_direct_map || privmem_keeps_direct_map(),
		    "%s: %lu TD pages in the direct map", when, a.in_direct_map);
	TEST_ASSERT(!a.unflushed_reuses, "%s: %lu pages reused without WBINVD",
		    when, a.unflushed_reuses);
	return a;
}

/*
 * The HKID of the TD that KVM_TDX_INIT_VM created since the audit showed
 * the TDs in @before (a tdx_audit_read().hkids).
 */
static inline int tdx_audit_new_hkid(uint64_t before)
{
	uint64_t added = tdx_audit_read().hkids & ~before;

	TEST_ASSERT(added && !(added & (added - 1)), "%d new TDs, expected one",
		    __builtin_popcountll(added));
	return __builtin_ctzll(added);
}

/*
 * A command for the attack knob.  Returns 0 or the errno of the write;
 * *@status is then what the model returned to the attack.
 */
static inline int __printf(2, 3) tdx_attack(uint64_t *status, const char *fmt, ...)
{
	int fd = open(TDX_ATTACK, O_RDWR), r;
	char out[32], *end;
	va_list ap;
	ssize_t n;

	TEST_ASSERT(fd >= 0, "open %s: %s", TDX_ATTACK, strerror(errno));
	va_start(ap, fmt);
	r = privmem_write_cmd(fd, fmt, ap);
	va_end(ap);
	if (!r) {
		n = pread(fd, out, sizeof(out) - 1, 0);
		TEST_ASSERT(n > 0, "read %s: %s", TDX_ATTACK, strerror(errno));
		out[n] = '\0';
		*status = strtoull(out, &end, 16);
		TEST_ASSERT(end != out, "bad status %s", out);
	}
	close(fd);
	return r;
}

/* ---- A TD that runs ----------------------------------------------------- */

#define TDX_VM_ATTR_SEPT_VE_DISABLE	BIT_ULL(28)
#define TDX_VM_XFAM_FP_SSE		0x3ull
/* TDCALL leaves and TDG.VP.VMCALL<ReportFatalError> (GHCI). */
#define TDX_GUEST_VP_VMCALL		0
#define TDX_GUEST_MEM_PAGE_ACCEPT	6
#define TDX_GUEST_REPORT_FATAL_ERROR	0x10003ull
/* The port a TD reports values on. */
#define TDX_GUEST_REPORT_PORT		0x4243

static inline int __tdx_vm_cmd(int fd, uint32_t id, uint32_t flags, void *data,
			       uint64_t *hw_error)
{
	struct kvm_tdx_cmd cmd = { .id = id, .flags = flags, .data = (uintptr_t)data };
	int r = ioctl(fd, KVM_MEMORY_ENCRYPT_OP, &cmd);

	*hw_error = cmd.hw_error;
	return r;
}

static inline void tdx_vm_cmd(int fd, uint32_t id, uint32_t flags, void *data)
{
	uint64_t hw_error;
	int r = __tdx_vm_cmd(fd, id, flags, data, &hw_error);

	TEST_ASSERT(!r && !hw_error, "TDX command %u: %d (%s), module status %#lx",
		    id, r, strerror(errno), hw_error);
}

/*
 * A TD with @guest on vCPU 0 (identity-mapped TEST_GPA slot) and the
 * @npages source pages at TEST_GPA, measured; finalized unless @build_only.
 */
static inline void tdx_vm_launch(struct test_vm *t, void *guest, void *src, int npages,
				 bool build_only)
{
	struct kvm_tdx_init_mem_region region = {
		.source_addr = (uintptr_t)src,
		.gpa = TEST_GPA,
		.nr_pages = npages,
	};
	struct kvm_tdx_init_vm *init = calloc(1, sizeof(*init));

	TEST_ASSERT(init, "calloc");
	test_vm_create(t, KVM_X86_TDX_VM);
	init->attributes = TDX_VM_ATTR_SEPT_VE_DISABLE;
	init->xfam = TDX_VM_XFAM_FP_SSE;
	tdx_vm_cmd(t->vm->fd, KVM_TDX_INIT_VM, 0, init);
	free(init);
	t->vcpu = vm_vcpu_add(t->vm, 0, guest);
	tdx_vm_cmd(t->vcpu->fd, KVM_TDX_INIT_VCPU, 0, NULL);
	virt_map(t->vm, TEST_GPA, TEST_GPA, TEST_NPAGES);
	tdx_vm_cmd(t->vcpu->fd, KVM_TDX_INIT_MEM_REGION, KVM_TDX_MEASURE_MEMORY_REGION,
		   &region);
	TEST_ASSERT(!region.nr_pages, "INIT_MEM_REGION left %llu pages", region.nr_pages);
	if (!build_only)
		tdx_vm_cmd(t->vm->fd, KVM_TDX_FINALIZE_VM, 0, NULL);
}

/* The next value the TD reports (tdx_guest_report()). */
static inline uint32_t tdx_vm_next_report(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	TEST_ASSERT(!__vcpu_run(vcpu), "KVM_RUN: %s", strerror(errno));
	TEST_ASSERT(run->exit_reason == KVM_EXIT_IO && run->io.size == 4 &&
		    run->io.port == TDX_GUEST_REPORT_PORT &&
		    run->io.direction == KVM_EXIT_IO_OUT,
		    "expected a report, got exit %s", exit_reason_str(run->exit_reason));
	return *(uint32_t *)((uint8_t *)run + run->io.data_offset);
}

/*
 * The TD's registers are its own after FINALIZE, so no ucall: each value
 * is a 32-bit OUT that user space reads from kvm_run.
 */
static inline void tdx_guest_report(uint32_t v)
{
	asm volatile("outl %0, %w1" : : "a"(v), "Nd"(TDX_GUEST_REPORT_PORT) : "memory");
}

/* TDCALL (66 0f 01 cc) with RAX @leaf and RCX @rcx; returns RAX. */
static inline uint64_t tdx_guest_tdcall(uint64_t leaf, uint64_t rcx)
{
	uint64_t rax = leaf;

	asm volatile(".byte 0x66, 0x0f, 0x01, 0xcc"
		     : "+a"(rax), "+c"(rcx)
		     : : "rdx", "r8", "r9", "r10", "r11", "memory");
	return rax;
}

/* The guest's end: TDG.VP.VMCALL<ReportFatalError>, which does not return. */
static inline void __noreturn tdx_guest_fatal(uint64_t code)
{
	register uint64_t r10 asm("r10") = 0;
	register uint64_t r11 asm("r11") = TDX_GUEST_REPORT_FATAL_ERROR;
	register uint64_t r12 asm("r12") = code;

	for (;;)
		asm volatile(".byte 0x66, 0x0f, 0x01, 0xcc"
			     : : "a"((uint64_t)TDX_GUEST_VP_VMCALL), "c"(0ull), "r"(r10),
			       "r"(r11), "r"(r12) : "memory");
}

#endif /* SELFTEST_KVM_PRIVMEM_TDX_H */
