# Smoke test of the topologies and guest services the other scenarios build
# on: NBD with two connections to one export, scsi_debug 2 hosts x 8 LUNs,
# NVMe/TCP with two controllers to one namespace, the D-Bus system bus, and
# pathkeeper's own binaries in the guest.

step "pathkeeper binaries run in the guest"
pathkeeperd --version
pathkeeperctl --version

step "NBD: one export, two connections"
nbd_setup 32
for n in nbd0 nbd1; do
  log "$n: $(cat /sys/block/$n/size) sectors, served by pid $(cat /sys/block/$n/pid)"
  [ "$(cat /sys/block/$n/size)" -eq 65536 ] || fail "$n has the wrong size"
done
[ "$(cat /sys/block/nbd0/pid)" != "" ] || fail "nbd0 not connected"

step "NBD: data written through nbd0 is read back through nbd1"
dd if=/dev/urandom of=/tmp/pattern bs=4k count=256 2>/dev/null
dd if=/tmp/pattern of=/dev/nbd0 bs=4k count=256 seek=1000 oflag=direct 2>/dev/null
dd if=/dev/nbd1 of=/tmp/readback bs=4k count=256 skip=1000 iflag=direct 2>/dev/null
expect "same 1 MiB through both connections" cmp /tmp/pattern /tmp/readback

step "scsi_debug: 2 hosts x 8 LUNs"
scsi_debug_setup 2 8 8
disks=$(scsi_debug_disks)
n=$(echo $disks | wc -w)
save topo/scsi-debug-wwids.txt sh -c "for d in $(echo $disks); do echo \"\$d \$(cat /sys/block/\$d/device/wwid)\"; done"
w=$(awk '{print $2}' /results/topo/scsi-debug-wwids.txt | sort -u | wc -l)
log "$n disks, $w distinct WWIDs"
[ "$n" -eq 16 ] || fail "expected 16 disks, got $n"
[ "$w" -eq 8 ] || fail "expected 8 distinct WWIDs, got $w"
expect "every WWID has exactly 2 paths" \
  sh -c "awk '{print \$2}' /results/topo/scsi-debug-wwids.txt | sort | uniq -c | awk '\$1 != 2 {exit 1}'"

step "NVMe/TCP: one namespace through two controllers, a map over both"
nvme_setup 32
# shellcheck disable=SC2046  # split into words on purpose
set -- $(nvme_disks)
[ $# -eq 2 ] || fail "expected 2 NVMe namespaces, got $#"
[ "$(cat "/sys/block/$1/wwid")" = "$(cat "/sys/block/$2/wwid")" ] || fail "$1 and $2 report different WWIDs"
mp_create mp_nvme "$(cat "/sys/block/$1/wwid")" none "$1" "$2"
dio_read /dev/mapper/mp_nvme 16
save fixtures/nvme-table.txt dmsetup table mp_nvme
save fixtures/nvme-status.txt dmsetup status mp_nvme

step "D-Bus system bus"
start_dbus
save topo/busctl-list.txt busctl --system list --no-pager
save topo/dbus-getid.txt busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetId
