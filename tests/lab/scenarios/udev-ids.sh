# Device identity as a real host sees it: udev properties (ID_SERIAL, ID_WWN)
# from the Debian rules (scsi_id, sg3-utils), sysfs wwid and VPD page 0x83,
# for iSCSI and scsi_debug disks; DM_UUID and by-id links of a multipath map.

step "udev running (systemd-udevd, trigger, settle)"
start_udev

step "disks: iSCSI (2 portals, 1 LUN) and scsi_debug (2 hosts x 2 LUNs)"
iscsi_setup 32
scsi_debug_setup 2 2 8

# show_ids DISK: udev's identity properties and the kernel's, side by side.
show_ids() {
  save "ids/$1-udev.txt" udevadm info --query=property --name="/dev/$1"
  save "ids/$1-wwid.txt" cat "/sys/block/$1/device/wwid"
  save "ids/$1-vpd_pg83.hex" hexdump -C "/sys/block/$1/device/vpd_pg83"
}

# udev_prop DISK NAME: one property from the udev database.
udev_prop() { udevadm info --query=property --name="/dev/$1" | sed -n "s/^$2=//p"; }

# check_ids DISK: udev and sysfs both name the disk. Where the LUN's best
# designator is an NAA name, ID_SERIAL is "3" + its hex and sysfs wwid
# "naa." + the same hex; other designators (scsi_debug's T10 vendor ID wins
# over its locally assigned NAA in the sg3-utils rules) differ, and that is
# what multipathd (uid_attribute ID_SERIAL) would use as WWID.
check_ids() {
  _ci_serial=$(udev_prop "$1" ID_SERIAL)
  _ci_wwn=$(udev_prop "$1" ID_WWN)
  _ci_wwid=$(cat "/sys/block/$1/device/wwid")
  log "$1: ID_SERIAL=$_ci_serial ID_WWN=$_ci_wwn sysfs wwid=$_ci_wwid"
  echo "$1 ID_SERIAL=$_ci_serial ID_WWN=$_ci_wwn wwid=$_ci_wwid" >> /results/ids/summary.txt
  [ -n "$_ci_serial" ] || fail "$1 has no ID_SERIAL"
  [ -n "$_ci_wwn" ] || fail "$1 has no ID_WWN"
  if [ "$_ci_serial" = "3${_ci_wwid#naa.}" ]; then
    log "$1: ID_SERIAL is the sysfs NAA wwid"
  else
    log "$1: ID_SERIAL differs from sysfs wwid (not an NAA-derived serial)"
  fi
}

# same_serial_per_wwid DISK...: paths with one sysfs wwid share one ID_SERIAL.
same_serial_per_wwid() {
  _ss_pairs=$(for _d in "$@"; do echo "$(cat "/sys/block/$_d/device/wwid") $(udev_prop "$_d" ID_SERIAL)"; done | sort -u)
  _ss_w=$(echo "$_ss_pairs" | awk '{print $1}' | sort -u | wc -l)
  _ss_n=$(echo "$_ss_pairs" | wc -l)
  [ "$_ss_w" -eq "$_ss_n" ] || fail "one wwid, several ID_SERIAL: $_ss_pairs"
}

step "iSCSI disks: same identity through both portals"
mkdir -p /results/ids
for p in $ISCSI_PORTALS; do
  show_ids "$(iscsi_disk "$p")"
  check_ids "$(iscsi_disk "$p")"
done
[ "$(udev_prop "$(iscsi_disk 127.0.0.1)" ID_SERIAL)" = "$(udev_prop "$(iscsi_disk 127.0.0.2)" ID_SERIAL)" ] \
  || fail "the two iSCSI paths have different ID_SERIAL"
log "by-id links: $(ls /dev/disk/by-id | tr '\n' ' ')"

step "scsi_debug disks: 2 WWIDs, 2 paths each"
for d in $(scsi_debug_disks); do
  show_ids "$d"
  check_ids "$d"
done
# shellcheck disable=SC2046  # one argument per disk, on purpose
same_serial_per_wwid $(scsi_debug_disks)
n=$(for d in $(scsi_debug_disks); do udev_prop "$d" ID_SERIAL; done | sort -u | wc -l)
[ "$n" -eq 2 ] || fail "expected 2 distinct ID_SERIAL among scsi_debug disks, got $n"

step "a multipath map gets DM_UUID and by-id links from the dm rules"
A=$(iscsi_disk 127.0.0.1)
W=$(mp_wwid "$A")
mp_create mp_iscsi "$W" none "$A" "$(iscsi_disk 127.0.0.2)"
save ids/map-udev.txt udevadm info --query=property --name=/dev/mapper/mp_iscsi
[ "$(udevadm info --query=property --name=/dev/mapper/mp_iscsi | sed -n 's/^DM_UUID=//p')" = "mpath-$W" ] \
  || fail "map has no DM_UUID mpath-$W in udev"
expect "/dev/disk/by-id/dm-uuid-mpath-$W exists" test -e "/dev/disk/by-id/dm-uuid-mpath-$W"
