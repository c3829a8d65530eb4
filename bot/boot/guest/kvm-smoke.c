/*
 * kvm-smoke: cocci-bot's in-guest KVM smoke test: one VM (kvm-vm.h) on SMOKE_PAGES pages of
 * anonymous memory, created, run to HLT, checked (guest writes, dirty log) and torn down.
 *
 * Output: one line per step on stdout, the last one "kvm_smoke=pass" or
 * "kvm_smoke=fail <reason>".  Exit status 0 on pass, 1 on fail.
 */
#include "kvm-vm.h"

#define SMOKE_PAGES 16
/*
 * A KVM_RUN that never reaches HLT is reported (kvm_smoke_stall=1, then kvm_smoke=fail) rather
 * than hung on; the boot stage decides whether to boot again (see bot/boot/run.py).  Under
 * QEMU 7.2 TCG this happened in about half the boots of a loaded host until the boot stage
 * gave TCG an instruction-counted clock (-icount, see bot/boot/qemu.py).
 */

int main(void)
{
	int kvm, ret;
	uint8_t *mem;

	check_name = "kvm_smoke";
	setvbuf(stdout, NULL, _IOLBF, 0);
	kvm = open_kvm();
	if (kvm < 0)
		return 1;
	mem = mmap(NULL, SMOKE_PAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	ret = vm_run(kvm, mem, SMOKE_PAGES);
	munmap(mem, SMOKE_PAGES * PAGE);
	close(kvm);
	if (ret == STALLED) {
		printf("kvm_smoke_stall=1\n");
		errno = 0;
		return fail("KVM_RUN stalled (no HLT within the timeout)");
	}
	if (ret == PASS)
		printf("kvm_smoke=pass\n");
	return ret == PASS ? 0 : 1;
}
