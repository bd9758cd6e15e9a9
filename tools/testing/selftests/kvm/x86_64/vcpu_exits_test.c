// SPDX-License-Identifier: GPL-2.0-only
/*
 * Run a vCPU in the booted kernel and check the exits it produces: proves
 * that KVM runs real guests here (under TCG, with emulated nested paging).
 */
#include <stdint.h>
#include <string.h>

#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define TEST_PORT	0x1f0
#define TEST_MMIO_GPA	0xc0000000ull
#define TEST_VALUE	0x5a5a1234u

static void guest_outb(uint16_t port, uint8_t val)
{
	__asm__ __volatile__("outb %b0, %w1" : : "a"(val), "Nd"(port));
}

static void guest_code(void)
{
	volatile uint32_t *mmio = (volatile uint32_t *)TEST_MMIO_GPA;
	uint64_t sum = 0;
	int i;

	/* Some real work first, so the sync below proves the guest computed. */
	for (i = 1; i <= 100; i++)
		sum += i;
	GUEST_SYNC(sum);

	guest_outb(TEST_PORT, 0xab);
	*mmio = TEST_VALUE;
	GUEST_DONE();
}

static void test_ucall_sync(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
		    "want KVM_EXIT_IO, got %s",
		    exit_reason_str(vcpu->run->exit_reason));
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC, "want UCALL_SYNC");
	TEST_ASSERT(uc.args[1] == 5050, "guest computed %lu, want 5050",
		    uc.args[1]);
	ksft_test_result_pass("guest runs and syncs with its result\n");
}

static void test_port_io_exit(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data;

	vcpu_run(vcpu);
	TEST_ASSERT(run->exit_reason == KVM_EXIT_IO, "want KVM_EXIT_IO, got %s",
		    exit_reason_str(run->exit_reason));
	TEST_ASSERT(run->io.port == TEST_PORT, "port 0x%x", run->io.port);
	TEST_ASSERT(run->io.direction == KVM_EXIT_IO_OUT, "want an OUT");
	TEST_ASSERT(run->io.size == 1 && run->io.count == 1, "want one byte");
	data = (uint8_t *)run + run->io.data_offset;
	TEST_ASSERT(*data == 0xab, "guest wrote 0x%x, want 0xab", *data);
	ksft_test_result_pass("port I/O exits with port, size and data\n");
}

static void test_mmio_exit(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t val;

	vcpu_run(vcpu);
	TEST_ASSERT(run->exit_reason == KVM_EXIT_MMIO, "want KVM_EXIT_MMIO, got %s",
		    exit_reason_str(run->exit_reason));
	TEST_ASSERT(run->mmio.phys_addr == TEST_MMIO_GPA, "gpa 0x%llx",
		    run->mmio.phys_addr);
	TEST_ASSERT(run->mmio.is_write && run->mmio.len == 4, "want a 4-byte write");
	memcpy(&val, run->mmio.data, sizeof(val));
	TEST_ASSERT(val == TEST_VALUE, "guest wrote 0x%x", val);
	ksft_test_result_pass("MMIO to an unbacked GPA exits with gpa and data\n");
}

static void test_done(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_DONE, "want UCALL_DONE");
	ksft_test_result_pass("guest reaches its end\n");
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	ksft_print_header();
	ksft_set_plan(4);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	/* Identity-map the MMIO page so the guest's store reaches the GPA. */
	virt_map(vm, TEST_MMIO_GPA, TEST_MMIO_GPA, 1);

	test_ucall_sync(vcpu);
	test_port_io_exit(vcpu);
	test_mmio_exit(vcpu);
	test_done(vcpu);

	kvm_vm_free(vm);
	ksft_finished();
}
