#!/bin/sh
# cocci-bot guest init (PID 1 in the initramfs).
# Reports on the verdict channel, the second serial port (ttyS1), one "cocci-bot: ..." line per
# fact, and echoes every line on the console too; then ends the guest with `reboot -f`
# (QEMU runs with -no-reboot, so a reboot ends QEMU).
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() {
	echo "cocci-bot: $*"
	echo "cocci-bot: $*" > /dev/ttyS1
}
say begin
say kernel=$(uname -r)
if [ -c /dev/kvm ]; then say dev_kvm=present; else say dev_kvm=missing; fi
if [ "@SMOKE@" = yes ]; then
	/bin/kvm-smoke 2>&1 | while read -r line; do say "$line"; done
fi
if [ "@DAX@" = yes ]; then
	/bin/kvm-dax 2>&1 | while read -r line; do say "$line"; done
fi
@GUEST_CMD@
say end
reboot -f
