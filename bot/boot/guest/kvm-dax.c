/*
 * kvm-dax: the seed's scenario in the guest.  A KVM guest whose memory is device DAX
 * (ZONE_DEVICE pages), then the DAX device is disabled and must go away in time.
 *
 * 1. Device DAX on the legacy pmem region the kernel made from `memmap=SIZE!OFFSET`, with
 *    sysfs writes only (what `ndctl create-namespace -m devdax` does): unbind the namespace
 *    from its driver, give the region's idle dax seed a uuid, the "pmem" memmap mode and the
 *    namespace, and probe it; the dax driver then creates /dev/daxR.N.
 * 2. One VM (kvm-vm.h) whose memory slot is a mapping of /dev/daxR.N: guest writes and reads,
 *    the dirty log checked, the VM torn down, the mapping and the device closed.
 * 3. The DAX device is disabled (unbound from its driver).  That waits until every page of
 *    the device has dropped its last reference; a reference KVM took and never dropped keeps it
 *    waiting for ever (the dev_pagemap teardown hang fixed upstream by a78986aae9b2, "KVM: MMU:
 *    Do not treat ZONE_DEVICE pages as being reserved").  The unbind runs in a child, so a hang
 *    is reported after DAX_TEARDOWN_TIMEOUT seconds instead of being waited on.
 *
 * Output: progress lines "dax: ...", then "dax=pass", "dax=fail <reason>" or
 * "dax=skipped <reason>" (a kernel without the drivers, a boot without pmem).  Exit 0 unless fail.
 */
#include "kvm-vm.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#define ND "/sys/bus/nd"
#define DAX_BYTES (2UL << 20)           /* one mapping of the device's (2 MiB) alignment */
#define DAX_PAGES 512                   /* of it, the VM's memory slot */
#define DAX_TEARDOWN_TIMEOUT 30         /* seconds; TCG needs well under one */
#define DAX_UUID "c0cc1b07-da70-4d0e-8a5e-5eed0f1a3e01"

static int skipped(const char *why)
{
	printf("dax=skipped %s\n", why);
	return 0;
}

static int write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

static int read_word(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -1;
	ok = fgets(buf, size, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* the basename of /sys/bus/nd/devices/<dev>/driver, or "" when unbound */
static void driver_of(const char *dev, char *drv, size_t size)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), ND "/devices/%s/driver", dev);
	n = readlink(link, target, sizeof(target) - 1);
	drv[0] = 0;
	if (n > 0) {
		target[n] = 0;
		snprintf(drv, size, "%s", strrchr(target, '/') + 1);
	}
}

static int unbind(const char *dev)
{
	char drv[NAME_MAX + 1], path[PATH_MAX];

	driver_of(dev, drv, sizeof(drv));
	if (!drv[0])
		return 0;
	snprintf(path, sizeof(path), ND "/drivers/%s/unbind", drv);
	return write_file(path, dev);
}

/* the first pmem namespace ("namespaceR.N") and its region ("regionR") */
static int find_namespace(char *ns, size_t ns_size, char *region, size_t region_size)
{
	DIR *d = opendir(ND "/devices");
	struct dirent *e;
	int found = 0;

	if (!d)
		return -1;
	while (!found && (e = readdir(d))) {
		unsigned r, n;

		if (sscanf(e->d_name, "namespace%u.%u", &r, &n) == 2) {
			snprintf(ns, ns_size, "%s", e->d_name);
			snprintf(region, region_size, "region%u", r);
			found = 1;
		}
	}
	closedir(d);
	return found ? 0 : -1;
}

/* /dev/daxR.N once the dax driver made it (devtmpfs), within a few seconds */
static int find_dax_node(char *node, size_t size)
{
	for (int tries = 0; tries < 50; tries++) {
		DIR *d = opendir("/dev");
		struct dirent *e;

		if (!d)
			return -1;
		while ((e = readdir(d))) {
			unsigned r, n;

			if (sscanf(e->d_name, "dax%u.%u", &r, &n) == 2) {
				snprintf(node, size, "/dev/%s", e->d_name);
				closedir(d);
				return 0;
			}
		}
		closedir(d);
		usleep(100000);
	}
	return -1;
}

static int setup_devdax(char *dax, size_t dax_size, char *node, size_t node_size)
{
	char ns[NAME_MAX + 1], region[NAME_MAX + 1], path[PATH_MAX], drv[NAME_MAX + 1];
	static const char *const attrs[][2] = {{"uuid", DAX_UUID}, {"mode", "pmem"}};

	if (access(ND, F_OK) != 0)
		return skipped("the kernel has no nvdimm bus (" ND "): build it with LIBNVDIMM, "
			       "X86_PMEM_LEGACY and DEV_DAX_PMEM (the campaign's kernel.config)"), 1;
	if (find_namespace(ns, sizeof(ns), region, sizeof(region)) < 0)
		return skipped("no persistent memory namespace: boot with memmap=SIZE!OFFSET"), 1;
	if (unbind(ns) < 0)
		return fail("unbind the pmem namespace from its driver"), -1;
	snprintf(path, sizeof(path), ND "/devices/%s/dax_seed", region);
	if (read_word(path, dax, dax_size) < 0 || !dax[0])
		return skipped("the pmem region has no dax seed: build with NVDIMM_DAX"), 1;
	for (unsigned i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		snprintf(path, sizeof(path), ND "/devices/%s/%s", dax, attrs[i][0]);
		if (write_file(path, attrs[i][1]) < 0)
			return fail(path), -1;
	}
	snprintf(path, sizeof(path), ND "/devices/%s/namespace", dax);
	if (write_file(path, ns) < 0)
		return fail("give the namespace to the dax device"), -1;
	if (write_file(ND "/drivers_probe", dax) < 0)
		return fail("probe the dax device"), -1;
	driver_of(dax, drv, sizeof(drv));
	if (!drv[0]) {
		errno = 0;
		return fail("no driver took the dax device (DEV_DAX_PMEM?)"), -1;
	}
	if (find_dax_node(node, node_size) < 0) {
		errno = 0;
		return fail("no /dev/daxR.N appeared"), -1;
	}
	printf("dax: %s on %s (%s, driver %s) is %s\n", dax, ns, region, drv, node);
	return 0;
}

static int guest_on_dax(const char *node)
{
	int kvm, fd, ret;
	uint8_t *mem;

	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail(node);
	mem = mmap(NULL, DAX_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		close(fd);
		return fail("mmap the dax device");
	}
	kvm = open_kvm();
	ret = kvm < 0 ? FAIL : vm_run(kvm, mem, DAX_PAGES);
	if (kvm >= 0)
		close(kvm);
	munmap(mem, DAX_BYTES);
	close(fd);
	if (ret == STALLED) {
		errno = 0;
		return fail("KVM_RUN stalled (no HLT within the timeout)");
	}
	if (ret == PASS)
		printf("dax: VM on %s ran, checked and torn down; %s closed\n", node, node);
	return ret;
}

/* disable the dax device in a child; PASS when it and its node are gone in time */
static int disable_dax(const char *dax, const char *node)
{
	pid_t child = fork();
	int status;

	if (child == 0) {
		/* a child stuck in the unbind must not hold the init script's pipe open */
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		_exit(unbind(dax) < 0 ? 1 : 0);
	}
	for (int tenths = 0; tenths < DAX_TEARDOWN_TIMEOUT * 10; tenths++) {
		if (waitpid(child, &status, WNOHANG) == child) {
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				errno = 0;
				return fail("unbinding the dax device from its driver failed");
			}
			if (access(node, F_OK) == 0) {
				errno = 0;
				printf("dax: %s still exists after its device was disabled\n", node);
				return fail("the dax device did not go away");
			}
			printf("dax: %s disabled, %s gone after %d.%d s\n", dax, node,
			       tenths / 10, tenths % 10);
			return PASS;
		}
		usleep(100000);
	}
	printf("dax=fail page reference leak: %s did not go away within %d s of being disabled; its "
	       "teardown waits for every ZONE_DEVICE page to drop its last reference, and a "
	       "reference KVM took on the guest's DAX memory was never dropped "
	       "(the dev_pagemap teardown hang of a78986aae9b2)\n", dax, DAX_TEARDOWN_TIMEOUT);
	return FAIL;
}

int main(void)
{
	char dax[NAME_MAX + 1], node[PATH_MAX];
	int ret;

	check_name = "dax";
	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = setup_devdax(dax, sizeof(dax), node, sizeof(node));
	if (ret != 0)
		return ret < 0 ? 1 : 0;
	if (guest_on_dax(node) != PASS)
		return 1;
	if (disable_dax(dax, node) != PASS)
		return 1;
	printf("dax=pass\n");
	return 0;
}
