/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for tests of SEV-SNP guests on the SNP firmware model: the
 * invariant audit of the SNP backend (debugfs, kvm_snp/audit) that every
 * SNP test runs after each step, and the guest's SNP instructions.
 *
 * The audit checks, for every SNP VM, that each present private NPT entry
 * is one the RMP accepts for an access (the guest's ASID, the entry's GPA
 * and size, mutable) of a page the guest validated, and counts the pages
 * assigned to guests that the host's direct map still reaches.
 */
#ifndef SELFTEST_KVM_PRIVMEM_SNP_H
#define SELFTEST_KVM_PRIVMEM_SNP_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "privmem_util.h"
#include "test_util.h"

#define SNP_AUDIT		"/sys/kernel/debug/kvm_snp/audit"
#define SNP_ATTACK		"/sys/kernel/debug/kvm_snp/attack"

struct snp_audit {
	unsigned long private_leaves;
	unsigned long violations;
	unsigned long direct_mapped;
};

static inline struct snp_audit snp_audit_read(void)
{
	struct snp_audit a = { ~0ul, ~0ul, ~0ul };
	FILE *f = fopen(SNP_AUDIT, "r");
	char line[256];

	TEST_ASSERT(f, "open %s: %s", SNP_AUDIT, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "private_leaves %lu", &a.private_leaves) == 1 ||
		    sscanf(line, "violations %lu", &a.violations) == 1 ||
		    sscanf(line, "direct_mapped %lu", &a.direct_mapped) == 1)
			continue;
		/* The per-VM lines, and each violation, for the log. */
		if (!strncmp(line, "violation ", 10))
			fprintf(stderr, "audit: %s", line);
	}
	fclose(f);
	TEST_ASSERT(a.violations != ~0ul && a.direct_mapped != ~0ul,
		    "no totals in %s", SNP_AUDIT);
	return a;
}

/* How many #VC KVM injected into the SNP guest with @asid so far. */
static inline unsigned long snp_audit_vc(unsigned int asid)
{
	FILE *f = fopen(SNP_AUDIT, "r");
	unsigned long leaves, violations, vc, n = ~0ul;
	unsigned int a;
	char line[256];

	TEST_ASSERT(f, "open %s: %s", SNP_AUDIT, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "vm asid %u private_leaves %lu violations %lu vc %lu",
			   &a, &leaves, &violations, &vc) == 4 && a == asid)
			n = vc;
	}
	fclose(f);
	TEST_ASSERT(n != ~0ul, "no SNP VM with ASID %u in %s", asid, SNP_AUDIT);
	return n;
}

/* The audit finds nothing wrong; @when says after what. */
static inline void snp_audit_assert(const char *when)
{
	struct snp_audit a = snp_audit_read();

	TEST_ASSERT(!a.violations, "%s: %lu private NPT entries the RMP refuses",
		    when, a.violations);
	TEST_ASSERT(!a.direct_mapped || privmem_keeps_direct_map(),
		    "%s: %lu guest pages in the direct map", when, a.direct_mapped);
}

/* A command for the backend's attack knob; returns 0 or an errno. */
static inline int snp_attack(const char *fmt, ...)
{
	int fd = open(SNP_ATTACK, O_WRONLY), r;
	va_list ap;

	TEST_ASSERT(fd >= 0, "open %s: %s", SNP_ATTACK, strerror(errno));
	va_start(ap, fmt);
	r = privmem_write_cmd(fd, fmt, ap);
	va_end(ap);
	close(fd);
	return r;
}

/* PVALIDATE (RAX: the page, RCX: 2 MiB, RDX: validate); CF in *cf. */
static inline uint64_t snp_pvalidate(uint64_t gva, uint64_t huge, uint64_t validate,
				     uint8_t *cf)
{
	uint64_t rax;

	asm volatile(".byte 0xf2, 0x0f, 0x01, 0xff\n\tsetc %1"
		     : "=a"(rax), "=qm"(*cf) : "a"(gva), "c"(huge), "d"(validate)
		     : "cc", "memory");
	return rax;
}

#endif /* SELFTEST_KVM_PRIVMEM_SNP_H */
