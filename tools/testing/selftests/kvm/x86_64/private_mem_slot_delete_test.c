// SPDX-License-Identifier: GPL-2.0-only
/*
 * Punch hole while a guest_memfd memslot is being deleted.
 *
 * Deleting a memslot first installs an INVALID copy of it, then waits for
 * every SRCU reader (here a long KVM_PRE_FAULT_MEMORY on another vCPU),
 * and only then zaps the slot's SPTEs.  A hole punched in that window
 * frees pages that vCPUs may still map: it must zap them itself.  If it
 * did not, the guest would go on writing to freed pages; here it would
 * complete an access to a punched page while the deletion is still
 * waiting.  With the zap, the access faults, finds the slot INVALID and
 * retries until the deletion is over.
 *
 * All threads run on CPU 0 (see pin_self_to_cpu()).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#include "privmem_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define TEST_SLOT	10
#define TEST_GPA	0x100000000ull
#define TEST_SIZE	(2ul << 20)
#define TEST_NPAGES	(TEST_SIZE / PAGE_SIZE)
#define PF_SLOT		11
#define PF_GPA		0x200000000ull
#define PF_SIZE		(8ull << 30)
#define GUEST_MARK	0x6d61726b6d61726bull

static void guest_code(void)
{
	uint64_t i;

	for (i = 0; i < TEST_NPAGES; i++)
		WRITE_ONCE(*(uint64_t *)(TEST_GPA + i * PAGE_SIZE), GUEST_MARK);
	GUEST_SYNC(1);

	/* Run while the slot is being deleted, after the punch. */
	WRITE_ONCE(*(uint64_t *)TEST_GPA, GUEST_MARK + 1);
	GUEST_SYNC(2);

	/* After the slot is back: the punched page is a new, zeroed one. */
	GUEST_SYNC(READ_ONCE(*(uint64_t *)(TEST_GPA + PAGE_SIZE)));
	GUEST_DONE();
}

struct window {
	struct kvm_vm *vm;
	struct kvm_vcpu *pf_vcpu;
	pid_t del_tid;
	atomic_bool pf_done, del_done;
	int pf_ret, pf_errno;
	uint64_t pf_left;
};

static void block_alarm(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* A long SRCU read side: pre-fault gigabytes of shared memory. */
static void *pre_fault_thread(void *arg)
{
	struct window *w = arg;
	struct kvm_pre_fault_memory range = {
		.gpa = PF_GPA,
		.size = PF_SIZE,
	};

	pin_self_to_cpu(0);
	block_alarm();
	w->pf_ret = __vcpu_pre_fault_memory(w->pf_vcpu, &range);
	w->pf_errno = errno;
	w->pf_left = range.size;
	atomic_store(&w->pf_done, true);
	return NULL;
}

static void *delete_thread(void *arg)
{
	struct window *w = arg;

	pin_self_to_cpu(0);
	block_alarm();
	w->del_tid = gettid();
	vm_set_user_memory_region2(w->vm, TEST_SLOT, 0, TEST_GPA, 0, NULL, 0, 0);
	atomic_store(&w->del_done, true);
	return NULL;
}

/* The state letter of thread @tid in /proc: 'D' while it waits for SRCU. */
static char thread_state(pid_t tid)
{
	char path[64], buf[256], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!p)
		return '?';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

static void on_signal(int sig)
{
}

static void arm_alarm_ms(long ms)
{
	struct itimerval t = {
		.it_value = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 },
	};

	TEST_ASSERT(!setitimer(ITIMER_REAL, &t, NULL), "setitimer failed");
}

static uint64_t run_to_sync(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_run(vcpu);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		return uc.args[1];
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	default:
		TEST_FAIL("unexpected exit %s",
			  exit_reason_str(vcpu->run->exit_reason));
	}
	return 0;
}

static void test_punch_during_slot_delete(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct kvm_vcpu *vcpus[2];
	struct window w = {};
	pthread_t pf, del;
	void *hva, *pf_hva;
	bool in_window, completed;
	uint64_t got;
	int fd, ret, i;

	/* No SA_RESTART: the signals must interrupt KVM_RUN and pre-fault. */
	TEST_ASSERT(!sigaction(SIGALRM, &sa, NULL) && !sigaction(SIGUSR1, &sa, NULL),
		    "sigaction failed");

	w.vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, 2,
					   TEST_NPAGES, guest_code, vcpus);
	w.pf_vcpu = vcpus[1];
	vm_userspace_mem_region_add(w.vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, TEST_NPAGES, 0);
	virt_map(w.vm, TEST_GPA, TEST_GPA, TEST_NPAGES);
	fd = vm_create_guest_memfd(w.vm, TEST_SIZE, 0);
	vm_mem_region_bind_guest_memfd(w.vm, TEST_SLOT, fd, 0);
	vm_mem_set_private(w.vm, TEST_GPA, TEST_SIZE);
	hva = addr_gpa2hva(w.vm, TEST_GPA);

	/* Never touched by the host: pre-faulting it maps the zero page. */
	pf_hva = mmap(NULL, PF_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(pf_hva != MAP_FAILED, "mmap of the pre-fault slot failed");
	vm_set_user_memory_region2(w.vm, PF_SLOT, 0, PF_GPA, PF_SIZE, pf_hva,
				   0, 0);

	/* The guest maps and writes every private page. */
	TEST_ASSERT(run_to_sync(vcpus[0]) == 1, "guest out of step");

	TEST_ASSERT(!pthread_create(&pf, NULL, pre_fault_thread, &w),
		    "pthread_create failed");
	usleep(100 * 1000);
	TEST_ASSERT(!pthread_create(&del, NULL, delete_thread, &w),
		    "pthread_create failed");

	/* The deletion waits for the pre-fault's SRCU read side. */
	for (i = 0; i < 500; i++) {
		if (w.del_tid && thread_state(w.del_tid) == 'D')
			break;
		usleep(10 * 1000);
	}
	TEST_ASSERT(i < 500 && !atomic_load(&w.del_done),
		    "the memslot deletion never waited for SRCU");

	guest_memfd_punch_hole(fd, 0, TEST_SIZE);

	in_window = !atomic_load(&w.del_done) && !atomic_load(&w.pf_done);
	TEST_ASSERT(in_window, "pre-fault too short: the window closed early");

	/* The guest writes a punched page while the deletion still waits. */
	arm_alarm_ms(500);
	ret = __vcpu_run(vcpus[0]);
	completed = ret == 0 && vcpus[0]->run->exit_reason == KVM_EXIT_IO;
	arm_alarm_ms(0);
	in_window = !atomic_load(&w.del_done);

	pthread_kill(pf, SIGUSR1);
	pthread_join(pf, NULL);
	pthread_join(del, NULL);
	ksft_print_msg("pre-fault: ret %d errno %d, %lu MiB left of %llu\n",
		       w.pf_ret, w.pf_ret ? w.pf_errno : 0, w.pf_left >> 20,
		       PF_SIZE >> 20);

	ksft_test_result(!completed && ret == -1 && errno == EINTR && in_window,
			 "no access to a punched page while its memslot is being deleted\n");

	/* Put the slot back: the guest goes on, on new zeroed pages. */
	vm_set_user_memory_region2(w.vm, TEST_SLOT, KVM_MEM_GUEST_MEMFD,
				   TEST_GPA, TEST_SIZE, hva, fd, 0);
	/* Unless it already did, the interrupted write completes now. */
	if (!completed)
		TEST_ASSERT(run_to_sync(vcpus[0]) == 2, "guest out of step");
	got = run_to_sync(vcpus[0]);
	ksft_test_result(got == 0, "punched data is gone after the slot is back (read 0x%lx)\n",
			 got);

	close(fd);
	kvm_vm_free(w.vm);
	munmap(pf_hva, PF_SIZE);
}

int main(void)
{
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD));
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_PRE_FAULT_MEMORY));
	TEST_REQUIRE(vm_type_supported(KVM_X86_SW_PROTECTED_VM));

	pin_self_to_cpu(0);
	ksft_print_header();
	ksft_set_plan(2);

	test_punch_during_slot_delete();

	ksft_finished();
}
