/*
 * kvm-vm.h: the VM both in-guest checks run (kvm-smoke on anonymous memory, kvm-dax on a
 * device-DAX mapping), included by each program; nothing here is specific to one of them.
 *
 * vm_run() creates a VM whose only memory slot (dirty-page logging on) is the caller's mapping,
 * one vCPU in real mode, and runs guest code that reads a value the host put in one page,
 * writes values to four other pages, and stops with HLT.  It then checks the written values,
 * reads the dirty log (every written page must be dirty, untouched pages must not be) and
 * tears the VM down.  That drives KVM's page fault, refcount (get/put of the pages backing
 * guest memory) and dirty/accessed paths on a real guest.
 *
 * Output: "<check>: ..." progress lines; failures as "<check>=fail <reason>" (check_name).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096UL
#define CODE_PAGE 1
#define INPUT_PAGE 4
#define INPUT_VALUE 0x1233
#define MIN_PAGES 16          /* the guest code touches pages 1..9 */
#define MAX_PAGES 512         /* the dirty-log bitmap below */
#define MAX_RUNS 16
#define RUN_TIMEOUT 10        /* seconds: the guest code needs microseconds */
enum { PASS = 0, FAIL = 1, STALLED = 2 };

static const char *check_name = "kvm";
static volatile sig_atomic_t timed_out;

/* pages the guest code writes, and the 16-bit value it writes there */
static const struct { unsigned page; uint16_t value; } writes[] = {
	{2, 0xbeef}, {3, 0xcafe}, {6, 0x1234 /* INPUT_VALUE + 1 */}, {9, 0xf00d},
};

/* real-mode guest code, loaded at CODE_PAGE * 4096 */
static const uint8_t guest_code[] = {
	0xa1, 0x00, 0x40,                   /* mov ax, [0x4000]     read the input page   */
	0x40,                               /* inc ax                                     */
	0xa3, 0x00, 0x60,                   /* mov [0x6000], ax     write page 6          */
	0xc7, 0x06, 0x00, 0x20, 0xef, 0xbe, /* mov word [0x2000], 0xbeef                  */
	0xc7, 0x06, 0x00, 0x30, 0xfe, 0xca, /* mov word [0x3000], 0xcafe                  */
	0xc7, 0x06, 0x00, 0x90, 0x0d, 0xf0, /* mov word [0x9000], 0xf00d                  */
	0xf4,                               /* hlt                                        */
};

static int fail(const char *what)
{
	printf("%s=fail %s: %s\n", check_name, what, errno ? strerror(errno) : "check failed");
	fflush(stdout);
	return FAIL;
}

static int setup_vcpu(int vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return -1;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ds.base = 0;
	sregs.ds.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return -1;
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_PAGE * PAGE;
	regs.rflags = 0x2;
	return ioctl(vcpu, KVM_SET_REGS, &regs);
}

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static int run_loop(int vcpu, struct kvm_run *run)
{
	for (int i = 0; i < MAX_RUNS; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR && !timed_out)
				continue;
			if (timed_out) {
				printf("%s: KVM_RUN stalled: no HLT within %d s (exit %u)\n",
				       check_name, RUN_TIMEOUT, run->exit_reason);
				return STALLED;
			}
			return fail("KVM_RUN");
		}
		if (run->exit_reason == KVM_EXIT_HLT)
			return PASS;
		printf("%s: unexpected exit reason %u\n", check_name, run->exit_reason);
	}
	errno = 0;
	return fail("guest did not reach HLT");
}

/*
 * A watchdog process that sends SIGALRM after `seconds` (alarm() would need
 * CONFIG_POSIX_TIMERS, which tinyconfig lacks; nanosleep and kill do not).
 */
static pid_t start_watchdog(unsigned seconds)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		sleep(seconds);
		kill(parent, SIGALRM);
		_exit(0);
	}
	return pid;
}

static void stop_watchdog(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static int run_to_hlt(int vcpu, struct kvm_run *run)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	pid_t watchdog;
	int ret;

	timed_out = 0;
	sigaction(SIGALRM, &sa, NULL);   /* no SA_RESTART: KVM_RUN returns EINTR */
	watchdog = start_watchdog(RUN_TIMEOUT);
	ret = run_loop(vcpu, run);
	stop_watchdog(watchdog);
	return ret;
}

static int check_memory(const uint8_t *mem)
{
	for (unsigned i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		uint16_t got;

		memcpy(&got, mem + writes[i].page * PAGE, sizeof(got));
		if (got != writes[i].value) {
			printf("%s: page %u holds 0x%x, expected 0x%x\n", check_name,
			       writes[i].page, got, writes[i].value);
			errno = 0;
			return fail("guest memory writes not visible to the host");
		}
	}
	printf("%s: guest writes visible in %zu pages\n", check_name,
	       sizeof(writes) / sizeof(writes[0]));
	return PASS;
}

static int is_written(unsigned page)
{
	for (unsigned i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
		if (writes[i].page == page)
			return 1;
	return 0;
}

static int check_dirty_log(int vm, unsigned pages)
{
	uint64_t bitmap[MAX_PAGES / 64] = {0};
	struct kvm_dirty_log log = {.slot = 0, .dirty_bitmap = bitmap};

	if (ioctl(vm, KVM_GET_DIRTY_LOG, &log) < 0)
		return fail("KVM_GET_DIRTY_LOG");
	for (unsigned page = 0; page < pages; page++) {
		int dirty = (bitmap[page / 64] >> (page % 64)) & 1;
		/* read-only pages (code, input) may or may not be logged; written must be, idle must not */
		if (is_written(page) && !dirty) {
			printf("%s: written page %u not in the dirty log\n", check_name, page);
			errno = 0;
			return fail("dirty log");
		}
		if (!is_written(page) && page != CODE_PAGE && page != INPUT_PAGE && dirty) {
			printf("%s: untouched page %u in the dirty log\n", check_name, page);
			errno = 0;
			return fail("dirty log");
		}
	}
	printf("%s: dirty log bitmap 0x%llx\n", check_name, (unsigned long long)bitmap[0]);
	return PASS;
}

/* vCPU setup, run and checks of one VM whose memory slot is already set */
static int vm_vcpu_run(int kvm, int vm, uint8_t *mem, unsigned pages)
{
	int vcpu, ret;
	long run_size;
	struct kvm_run *run;

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0) {
		close(vcpu);
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	}
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED) {
		close(vcpu);
		return fail("mmap kvm_run");
	}
	if (setup_vcpu(vcpu) < 0)
		ret = fail("set up vCPU registers");
	else {
		printf("%s: VM created, %u pages with dirty logging, running guest\n",
		       check_name, pages);
		ret = run_to_hlt(vcpu, run);
	}
	if (ret == PASS)
		ret = check_memory(mem) || check_dirty_log(vm, pages) ? FAIL : PASS;
	munmap(run, run_size);
	close(vcpu);
	return ret;
}

/*
 * One VM on `mem` (pages * 4096 bytes, MIN_PAGES..MAX_PAGES) from creation to teardown:
 * PASS, FAIL (verdict printed) or STALLED (only a progress line printed).  The caller's
 * mapping stays; every KVM file descriptor is closed before this returns.
 */
static int vm_run(int kvm, uint8_t *mem, unsigned pages)
{
	uint16_t input = INPUT_VALUE;
	int vm, ret;

	if (pages < MIN_PAGES || pages > MAX_PAGES) {
		errno = EINVAL;
		return fail("guest memory size");
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	memset(mem, 0, pages * PAGE);
	memcpy(mem + CODE_PAGE * PAGE, guest_code, sizeof(guest_code));
	memcpy(mem + INPUT_PAGE * PAGE, &input, sizeof(input));
	struct kvm_userspace_memory_region region = {
		.slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES, .guest_phys_addr = 0,
		.memory_size = pages * PAGE, .userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		ret = fail("KVM_SET_USER_MEMORY_REGION");
	else
		ret = vm_vcpu_run(kvm, vm, mem, pages);
	close(vm);
	return ret;
}

static int open_kvm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (kvm < 0)
		return fail("open /dev/kvm"), -1;
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		close(kvm);
		return fail("KVM_GET_API_VERSION"), -1;
	}
	return kvm;
}
