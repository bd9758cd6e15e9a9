// SPDX-License-Identifier: GPL-2.0-only
/*
 * The attack matrix of TD guests on the TDX-module model: with a victim TD
 * running and an attacker TD next to it, the host asks the module (through
 * KVM's debugfs knob, kvm_tdx/attack) for what it must refuse: the
 * victim's page AUGed or ADDed into the other TD or at another GPA, a free
 * page AUGed at a GPA the victim uses, REMOVE without BLOCK or without
 * TRACK, RECLAIM of a live TD's page, TRACK while a vCPU holds the previous
 * epoch.  Each attempt gets the module's status from the model, the
 * invariant audit stays clean (no private NPT entry the S-EPT does not
 * map, no TD page in the direct map, no page reused without WBINVD), and
 * the victim finds its data intact afterwards.  The audit itself is shown
 * to see a stale entry and a TD page in the direct map.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "privmem_launch.h"
#include "privmem_tdx.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

/* TDX module status codes, with the operand IDs (vendor ABI facts). */
#define OPID_RCX			0x01ull
#define OPID_R8				0x08ull
#define OPID_TDR			0x80ull
#define PREVIOUS_TLB_EPOCH_BUSY		0x8000020100000000ull
#define PAGE_METADATA_INCORRECT		0xC000030000000000ull
#define LIFECYCLE_STATE_INCORRECT	0xC000060700000000ull
#define GPA_RANGE_NOT_BLOCKED		0xC0000B0600000000ull
#define TLB_TRACKING_NOT_DONE		0xC0000B0800000000ull
#define EPT_ENTRY_STATE_INCORRECT	0xC0000B0D00000000ull

/* The victim's pages: one launched (ADDed), one AUGed and accepted. */
#define LAUNCH_GPA	TEST_GPA
#define AUG_GPA		(TEST_GPA + 2 * PAGE_SIZE)
/* Free GPAs in either TD. */
#define FREE_GPA	(TEST_GPA + 5 * PAGE_SIZE)
#define VICTIM_DATA	0x7a3cc3a7u
#define ATTACKER_HELLO	0xa77ac4u
#define FATAL_CODE	0x1dull

static void guest_victim(void)
{
	volatile uint32_t *launched = (void *)LAUNCH_GPA, *aug = (void *)AUG_GPA;

	tdx_guest_report(*launched);
	tdx_guest_report(tdx_guest_tdcall(TDX_GUEST_MEM_PAGE_ACCEPT, AUG_GPA) >> 32);
	*aug = VICTIM_DATA;
	tdx_guest_report(*aug);
	/* The host attacks now; then both pages must read as before. */
	tdx_guest_report(*launched);
	tdx_guest_report(*aug);
	tdx_guest_fatal(FATAL_CODE);
}

static void guest_attacker(void)
{
	tdx_guest_report(ATTACKER_HELLO);
	tdx_guest_fatal(FATAL_CODE);
}

static struct test_vm victim, attacker;
static int victim_hkid, attacker_hkid;
static uint8_t *victim_src;

/* ---- The attacks ---------------------------------------------------------- */

enum attacker_state { ATTACKER_BUILDING, ATTACKER_RUNNING };

struct attack_case {
	const char *name;
	enum attacker_state when;
	const char *op;
	bool victim_only;	/* HKID GPA, or HKID alone for track_busy */
	uint64_t gpa, to_gpa;
	bool to_victim;		/* the target TD is the victim itself */
	uint64_t status;
};

static const struct attack_case attacks[] = {
	{ "ADD of the victim's page into another TD", ATTACKER_BUILDING, "add",
	  .gpa = LAUNCH_GPA, .to_gpa = FREE_GPA,
	  .status = PAGE_METADATA_INCORRECT | OPID_R8 },
	{ "AUG of the victim's launched page into another TD", ATTACKER_RUNNING, "aug",
	  .gpa = LAUNCH_GPA, .to_gpa = FREE_GPA,
	  .status = PAGE_METADATA_INCORRECT | OPID_R8 },
	{ "AUG of the victim's accepted page into another TD", ATTACKER_RUNNING, "aug",
	  .gpa = AUG_GPA, .to_gpa = FREE_GPA,
	  .status = PAGE_METADATA_INCORRECT | OPID_R8 },
	{ "AUG of the victim's page at another of its GPAs", ATTACKER_RUNNING, "aug",
	  .gpa = AUG_GPA, .to_gpa = FREE_GPA, .to_victim = true,
	  .status = PAGE_METADATA_INCORRECT | OPID_R8 },
	{ "AUG of a free page at a GPA the victim uses", ATTACKER_RUNNING, "aug_free",
	  .victim_only = true, .gpa = AUG_GPA,
	  .status = EPT_ENTRY_STATE_INCORRECT | OPID_RCX },
	{ "REMOVE without BLOCK", ATTACKER_RUNNING, "remove",
	  .victim_only = true, .gpa = AUG_GPA,
	  .status = GPA_RANGE_NOT_BLOCKED | OPID_RCX },
	{ "REMOVE after BLOCK without TRACK", ATTACKER_RUNNING, "remove_untracked",
	  .victim_only = true, .gpa = LAUNCH_GPA,
	  .status = TLB_TRACKING_NOT_DONE | OPID_RCX },
	{ "RECLAIM of a running TD's page", ATTACKER_RUNNING, "reclaim",
	  .victim_only = true, .gpa = AUG_GPA,
	  .status = LIFECYCLE_STATE_INCORRECT | OPID_TDR },
	{ "TRACK while a vCPU holds the previous epoch", ATTACKER_RUNNING, "track_busy",
	  .victim_only = true, .status = PREVIOUS_TLB_EPOCH_BUSY },
};

/* One attack: the model's status, and the audit clean after it. */
static void test_attack(const struct attack_case *c)
{
	uint64_t status = ~0ull;
	struct tdx_audit a;
	int r;

	if (!c->victim_only)
		r = tdx_attack(&status, "%s %d %lx %d %lx", c->op, victim_hkid, c->gpa,
			       c->to_victim ? victim_hkid : attacker_hkid, c->to_gpa);
	else if (c->gpa)
		r = tdx_attack(&status, "%s %d %lx", c->op, victim_hkid, c->gpa);
	else
		r = tdx_attack(&status, "%s %d", c->op, victim_hkid);
	TEST_ASSERT(!r, "%s: the knob refused: %s", c->name, strerror(r));
	TEST_ASSERT(status == c->status, "%s: status %#lx, expected %#lx",
		    c->name, status, c->status);
	a = tdx_audit_assert(c->name);
	/* The victim's two pages are mapped and were checked. */
	TEST_ASSERT(a.checked >= 2, "%s: the audit checked %lu entries", c->name, a.checked);
	ksft_test_result_pass("%s: %#lx, audit clean\n", c->name, status);
}

static void run_attacks(enum attacker_state when)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(attacks); i++)
		if (attacks[i].when == when)
			test_attack(&attacks[i]);
}

/* ---- The audit sees what breaks its invariants ---------------------------- */

/*
 * A host that BLOCKs the victim's page but leaves KVM's NPT entry: the
 * entry is no longer derived from a MAPPED S-EPT leaf, and the audit says
 * so, for exactly that entry, until TRACK and UNBLOCK restore it.
 */
static void test_audit_sees_stale_entry(void)
{
	uint64_t status = ~0ull;
	struct tdx_audit a;

	TEST_ASSERT(!tdx_attack(&status, "block %d %lx", victim_hkid, AUG_GPA) && !status,
		    "BLOCK of the victim's page: %#lx", status);
	a = tdx_audit_read();
	TEST_ASSERT(a.violations == 1, "audit: %lu violations after a BLOCK, expected 1",
		    a.violations);
	TEST_ASSERT(!tdx_attack(&status, "unblock %d %lx", victim_hkid, AUG_GPA) && !status,
		    "UNBLOCK of the victim's page: %#lx", status);
	tdx_audit_assert("UNBLOCK");
	ksft_test_result_pass("the audit reports a private NPT entry the S-EPT blocked\n");
}

/* A TD page put back into the direct map is counted until it is out again. */
static void test_audit_sees_direct_map(void)
{
	uint64_t status;
	struct tdx_audit a;
	int r;

	if (privmem_keeps_direct_map()) {
		ksft_test_result_skip("private memory stays in the direct map\n");
		return;
	}
	r = tdx_attack(&status, "map_direct %d %lx", victim_hkid, AUG_GPA);
	TEST_ASSERT(!r, "map_direct: %s", strerror(r));
	a = tdx_audit_read();
	TEST_ASSERT(a.in_direct_map == 1, "audit: %lu TD pages in the direct map, expected 1",
		    a.in_direct_map);
	r = tdx_attack(&status, "unmap_direct %d %lx", victim_hkid, AUG_GPA);
	TEST_ASSERT(!r, "unmap_direct: %s", strerror(r));
	tdx_audit_assert("unmap_direct");
	ksft_test_result_pass("the audit counts a TD page in the direct map\n");
}

/* ---- The knob's own input --------------------------------------------------- */

struct knob_errno_case {
	const char *cmd;
	int err;
};

/* %d is the victim's HKID. */
static const struct knob_errno_case knob_errnos[] = {
	{ "no_such_attack %d 100000000", EINVAL },
	{ "remove %d", EINVAL },
	{ "remove %d 100000010", EINVAL },
	{ "aug %d 100000000", EINVAL },
	{ "aug %d 100000000 %d 100000010", EINVAL },
	{ "remove 64 100000000", ESRCH },
	/* A GPA of the victim where nothing is mapped. */
	{ "remove %d 100003000", ENOENT },
	/* A page map_direct did not map. */
	{ "unmap_direct %d 100000000", ENOENT },
};

static void test_knob_errnos(void)
{
	uint64_t status;
	int i, r;

	for (i = 0; i < ARRAY_SIZE(knob_errnos); i++) {
		r = tdx_attack(&status, knob_errnos[i].cmd, victim_hkid, victim_hkid);
		TEST_ASSERT(r == knob_errnos[i].err, "\"%s\": %s, expected %s",
			    knob_errnos[i].cmd, strerror(r), strerror(knob_errnos[i].err));
	}
	ksft_test_result_pass("the attack knob refuses %zu bad commands with their errnos\n",
			      ARRAY_SIZE(knob_errnos));
}

/* ---- Before and after ------------------------------------------------------ */

/* The victim runs up to its attack window: its pages mapped and in use. */
static void victim_start(void)
{
	uint64_t hkids = tdx_audit_read().hkids;
	uint32_t v;

	victim_src = source_pages(1, 0x6b);
	tdx_vm_launch(&victim, guest_victim, victim_src, 1, false);
	victim_hkid = tdx_audit_new_hkid(hkids);
	v = tdx_vm_next_report(victim.vcpu);
	TEST_ASSERT(v == *(uint32_t *)victim_src, "launched page reads %#x", v);
	v = tdx_vm_next_report(victim.vcpu);
	TEST_ASSERT(!v, "ACCEPT: status %#x", v);
	v = tdx_vm_next_report(victim.vcpu);
	TEST_ASSERT(v == VICTIM_DATA, "accepted page reads %#x", v);
	tdx_audit_assert("the victim's run");
}

static void attacker_build(void)
{
	uint64_t hkids = tdx_audit_read().hkids;
	uint8_t *src = source_pages(1, 0x2f);

	tdx_vm_launch(&attacker, guest_attacker, src, 1, true);
	attacker_hkid = tdx_audit_new_hkid(hkids);
	munmap(src, PAGE_SIZE);
}

static void attacker_run(void)
{
	uint32_t v;

	tdx_vm_cmd(attacker.vm->fd, KVM_TDX_FINALIZE_VM, 0, NULL);
	v = tdx_vm_next_report(attacker.vcpu);
	TEST_ASSERT(v == ATTACKER_HELLO, "the attacker reports %#x", v);
	tdx_audit_assert("the attacker's run");
}

/* After all the attacks the victim reads its pages as it left them. */
static void test_victim_intact(void)
{
	uint32_t launched, aug;

	launched = tdx_vm_next_report(victim.vcpu);
	aug = tdx_vm_next_report(victim.vcpu);
	TEST_ASSERT(launched == *(uint32_t *)victim_src && aug == VICTIM_DATA,
		    "victim reads %#x and %#x, expected %#x and %#x", launched, aug,
		    *(uint32_t *)victim_src, VICTIM_DATA);
	tdx_audit_assert("the victim's last run");
	ksft_test_result_pass("the victim's launched and accepted pages are intact\n");
}

/* Both TDs gone: every private page back, none reused without WBINVD. */
static void test_teardown_clean(unsigned long guest_pages_before)
{
	struct tdx_audit a;

	test_vm_free(&attacker);
	test_vm_free(&victim);
	a = tdx_audit_assert("teardown");
	TEST_ASSERT(a.guest_pages == guest_pages_before,
		    "teardown: %lu TD pages, %lu before", a.guest_pages, guest_pages_before);
	TEST_ASSERT(!(a.hkids & (1ull << victim_hkid | 1ull << attacker_hkid)),
		    "teardown: the TDs are still listed");
	ksft_test_result_pass("teardown gives every page back, written back\n");
}

int main(int argc, char *argv[])
{
	unsigned long guest_pages;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & (1 << KVM_X86_TDX_VM));
	TEST_REQUIRE(!access(TDX_ATTACK, W_OK));

	ksft_print_header();
	ksft_set_plan(ARRAY_SIZE(attacks) + 5);
	guest_pages = tdx_audit_assert("the start").guest_pages;
	victim_start();
	attacker_build();
	run_attacks(ATTACKER_BUILDING);
	attacker_run();
	run_attacks(ATTACKER_RUNNING);
	test_audit_sees_stale_entry();
	test_audit_sees_direct_map();
	test_knob_errnos();
	test_victim_intact();
	test_teardown_clean(guest_pages);
	ksft_finished();
}
