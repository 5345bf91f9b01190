# The map lifecycle on a real kernel, pathkeeperd then Debian's multipathd in
# the same guest, over scsi_debug 2 hosts x 2 LUNs (each LUN one WWID, two
# paths). The LUNs report 1 GiB (virtual_gb) over a store of 2050 MiB, so
# growing them to 2 GiB never wraps onto data already written.
#  (a) every path of an unused map deleted (/sys/block/sdX/device/delete):
#      the map is gone;
#  (b) a mounted map: `pathkeeperctl remove map` is refused, the data intact;
#  (c) the LUN grown to 2 GiB (virtual_gb, then device/rescan of each path)
#      under the mounted ext4 with fio writing and verifying: the map grows
#      by itself (auto_resize: grow) and resize2fs grows the file system
#      online; after umount, remove map works.
# multipathd (multipath-tools 0.9.4) runs (a) and (c) alike; what it does on
# its own is recorded, then `multipathd resize map`. Results in lifecycle/;
# lifecycle/summary.txt side by side.

OUT=/results/lifecycle
mkdir -p "$OUT" /mnt/onmap
SUMMARY=$OUT/summary.txt
: > "$SUMMARY"
SECONDS_SINCE() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }
note() { echo "$*" >> "$SUMMARY"; log "SUMMARY $*"; }
dm_has() { dmsetup info "$1" > /dev/null 2>&1; }
dm_sectors() { dmsetup table "$1" | awk '{print $2}'; }
map_dev() { if [ -e "/dev/mapper/$1" ]; then echo "/dev/mapper/$1"; else echo "/dev/$(dm_name "$1")"; fi; }
pk_map_of() { pk show maps | jq -r --arg w "$1" '.maps[] | select(.wwid == $w and .in_kernel) | .name'; }
pk_paths_of() { pk show maps | jq -r --arg w "$1" '.maps[] | select(.wwid == $w) | .paths_active'; }
mpd_has_map() { multipathd show maps raw format %w | grep -qx "$1"; }
fs_kib() { df -kP /mnt/onmap | awk 'NR == 2 {print $2}'; }  # -P: one line, however long the device name
# poll_until TIMEOUT_S CODE: like wait_for, but a timeout is an answer (status
# 1), not a failure: what the peer does is recorded, not judged.
poll_until() {
  _pu_end=$(awk -v n="$(now)" -v t="$1" 'BEGIN {print n + t}')
  while ! eval "$2" > /dev/null 2>&1; do
    awk -v n="$(now)" -v e="$_pu_end" 'BEGIN {exit !(n > e)}' && return 1
    sleep 0.2
  done
}

# kpartx_one MAP: an MBR with one Linux partition (from sector 2048 to the
# end of the first 512 MiB) and its kpartx map, MAP-part1, whose UUID
# part1-mpath-<wwid> ties it to MAP; it holds MAP open once.
kpartx_one() {
  _kp_dev=$(map_dev "$1")
  # Partition entry 1 at byte 446: not bootable, type 0x83, LBA 2048, 1046528 sectors.
  printf '\000\000\000\000\203\000\000\000\000\010\000\000\000\370\017\000' |
    dd of="$_kp_dev" bs=1 seek=446 conv=notrunc 2> /dev/null
  printf '\125\252' | dd of="$_kp_dev" bs=1 seek=510 conv=notrunc 2> /dev/null
  sync
  # udev's kpartx rule may have made it already (the write's close raises a
  # change uevent): then kpartx -a meets the UUID taken (EBUSY).
  kpartx -a -p -part "$_kp_dev" 2> /dev/null || log "kpartx -a: made by udev's kpartx rule already"
  wait_for 30 "$1-part1" "dmsetup info '$1-part1' > /dev/null 2>&1"
  settle  # udev's probes of the new partition done: nothing holds it open
  log "$1-part1: uuid $(dmsetup info -c --noheadings -o uuid "$1-part1"), open count of $1: $(dmsetup info -c --noheadings -o open "$1")"
}

# A file of random data whose checksum is kept: "intact" means it reads back
# the same from the disk (caches dropped).
data_write() {
  dd if=/dev/urandom of=/mnt/onmap/data bs=1M count=16 2> /dev/null
  sync
  DATA_SUM=$(md5sum < /mnt/onmap/data)
}
data_intact() {
  sync
  echo 3 > /proc/sys/vm/drop_caches
  [ "$(md5sum < /mnt/onmap/data)" = "$DATA_SUM" ]
}

step "udev, scsi_debug 2 hosts x 2 LUNs of 1 GiB"
start_udev
load_modules dm-multipath dm-service-time
scsi_debug_setup 2 2 2050 virtual_gb=1
L0=$(scsi_debug_lun_disks 0 | tr '\n' ' ')
L1=$(scsi_debug_lun_disks 1 | tr '\n' ' ')
W0=$(mp_wwid "${L0%% *}")
W1=$(mp_wwid "${L1%% *}")
log "LUN 0 $W0 on $L0; LUN 1 $W1 on $L1; $(disk_sectors "${L1%% *}") sectors each"

# ------------------------------------------------------------------ pathkeeperd

step "pathkeeperd builds a map per LUN"
pk_config
pk_start pathkeeperd.log --config /etc/pathkeeper/pathkeeper.yaml
wait_for 60 "both maps with two active paths" '[ "$(pk_paths_of "$W0")" = 2 ] && [ "$(pk_paths_of "$W1")" = 2 ]'
A=$(pk_map_of "$W0")
B=$(pk_map_of "$W1")
settle
save lifecycle/pk-maps-start.txt pathkeeperctl show maps

step "pathkeeperd (a): every path of the unused map $A (with a kpartx partition) deleted"
kpartx_one "$A"
t0=$(now)
for d in $L0; do scsi_delete "$d" > /dev/null; done
wait_for 30 "$A gone from DM" '! dm_has "$A"'
t_a=$(SECONDS_SINCE "$t0")
expect "pathkeeperd no longer has a map for LUN 0" [ -z "$(pk_map_of "$W0")" ]
expect "its partition went first" grep -q "$A: removed its partition $A-part1" /results/pathkeeperd.log
expect "$A-part1 gone from DM" sh -c "! dmsetup info '$A-part1' > /dev/null 2>&1"
expect "the log says why it went" grep -q "its last path is gone and nothing holds it open" /results/pathkeeperd.log
grep -E "$A|sd[a-z]+ removed" /results/pathkeeperd.log | grep -vE 'debug|check' > "$OUT/pk-a-log.txt" || true
note "pathkeeperd (a) last path of an unused map (one kpartx partition) deleted -> map and partition removed: yes, ${t_a} s after the first delete"

step "pathkeeperd (b): ext4 on $B, mounted; remove map is refused"
DEV_B=$(map_dev "$B")
/usr/sbin/mke2fs -q -t ext4 -F "$DEV_B"
mount -t ext4 "$DEV_B" /mnt/onmap
data_write
if pathkeeperctl remove map "$B" > "$OUT/pk-remove-refused.txt" 2>&1; then
  fail "remove map $B succeeded while it is mounted"
fi
cat "$OUT/pk-remove-refused.txt"
expect "refused: it is open" grep -q "is not removed: it is open" "$OUT/pk-remove-refused.txt"
expect "$B is still in DM" dm_has "$B"
expect "and still queues (queue_if_no_path)" sh -c "dmsetup table '$B' | grep -q queue_if_no_path"
expect "the data is intact" data_intact
note "pathkeeperd (b) remove map of a mounted map: refused ($(tail -1 "$OUT/pk-remove-refused.txt")); data intact"

step "pathkeeperd (c): LUN 1 grown to 2 GiB under the mounted ext4, fio writing"
fio_start pk-grow /mnt/onmap/fio.dat --size=48M --rate=2m
sleep 4
before=$(dm_sectors "$B")
kib_before=$(fs_kib)
t0=$(now)
scsi_debug_resize 2 $L1
t_rescans=$(SECONDS_SINCE "$t0")
t1=$(now)
wait_for 60 "$B grew" '[ "$(dm_sectors "$B")" -gt "$before" ]'
t_c=$(SECONDS_SINCE "$t1")
after=$(dm_sectors "$B")
expect "the first rescan left the paths disagreeing, and that was said" \
  grep -q "its usable paths say different sizes; nothing changes until they agree" /results/pathkeeperd.log
save lifecycle/pk-table-grown.txt dmsetup table "$B"
expect "grown to the LUN's size" [ "$after" -eq "$(disk_sectors "${L1%% *}")" ]
expect "the log names the growth" grep -q "$B grew from $before to $after sectors" /results/pathkeeperd.log
resize2fs "$DEV_B" > "$OUT/pk-resize2fs.txt" 2>&1 || { cat "$OUT/pk-resize2fs.txt"; fail "resize2fs failed"; }
kib_after=$(fs_kib)
expect "the file system grew online" [ "$kib_after" -gt $((kib_before * 3 / 2)) ]
fio_wait
expect "the data is intact" data_intact
note "pathkeeperd (c) LUN grown 1 -> 2 GiB, both paths rescanned (${t_rescans} s with udev settle): map grew by itself ($before -> $after sectors), ${t_c} s after the last rescan returned; resize2fs online ${kib_before} -> ${kib_after} KiB; fio verify passed; data intact"

step "pathkeeperd: after umount, remove map works"
umount /mnt/onmap
settle
pathkeeperctl remove map "$B" > "$OUT/pk-remove-done.txt" 2>&1 || { cat "$OUT/pk-remove-done.txt"; fail "remove map $B failed"; }
cat "$OUT/pk-remove-done.txt"
expect "$B gone from DM" sh -c "! dmsetup info '$B' > /dev/null 2>&1"
expect "pathkeeperd keeps it out of the kernel" [ -z "$(pk_map_of "$W1")" ]
note "pathkeeperd (b) after umount: remove map $B: $(cat "$OUT/pk-remove-done.txt")"
save lifecycle/pk-maps-end.txt pathkeeperctl show maps
save lifecycle/pk-status-end.json pk status
expect "no page fault since READY" [ "$(pk_status minor_faults_since_ready)" -eq 0 ]
pk_stop

# ------------------------------------------------------------------ multipathd

step "multipathd: LUN 0 back, both LUNs 1 GiB again"
echo 1 > "$SD_SYSFS/virtual_gb"
for h in $(for _h in "$SD_SYSFS"/adapter*/host*; do echo "${_h##*/}"; done); do scsi_rescan "$h"; done
wait_for 60 "LUN 0 on both hosts again" '[ "$(scsi_debug_lun_disks 0 | wc -w)" -eq 2 ]'
L0=$(scsi_debug_lun_disks 0 | tr '\n' ' ')
for d in $L1; do echo 1 > "/sys/block/$d/device/rescan"; done
settle
expect "LUN 1 is 1 GiB again" [ "$(disk_sectors "${L1%% *}")" -eq 2097152 ]
multipathd -d -s -v3 > /results/multipathd.log 2>&1 &
MPD_PID=$!
wait_for 60 "multipathd: maps for both LUNs" 'mpd_has_map "$W0" && mpd_has_map "$W1"'
settle
save lifecycle/mpd-maps-start.txt multipathd show maps

step "multipathd (a): every path of the unused map $W0 (with a kpartx partition) deleted"
kpartx_one "$W0"
t0=$(now)
for d in $L0; do scsi_delete "$d" > /dev/null; done
if poll_until 30 '! dm_has "$W0"'; then
  note "multipathd (a) last path of an unused map (one kpartx partition) deleted -> map removed: yes, $(SECONDS_SINCE "$t0") s after the first delete; partition $(dm_has "$W0-part1" && echo kept || echo removed)"
else
  note "multipathd (a) last path of an unused map (one kpartx partition) deleted -> map removed: no, still there after 30 s; partition $(dm_has "$W0-part1" && echo kept || echo removed); table: $(dmsetup table "$W0")"
  # A map left queueing with no path makes every udev probe of it wait
  # (udevadm settle then times out): taken away by hand, as an admin would.
  dmsetup message "$W0" 0 fail_if_no_path
  dm_has "$W0-part1" && dmsetup remove "$W0-part1"
  dmsetup remove "$W0"
  settle
  note "multipathd (a) removed by hand: dmsetup message fail_if_no_path, dmsetup remove of the partition and the map"
fi
grep -E "$W0" /results/multipathd.log | tail -20 > "$OUT/mpd-a-log.txt" || true

step "multipathd (c): ext4 on $W1, LUN 1 grown to 2 GiB, fio writing"
DEV_B=$(map_dev "$W1")
/usr/sbin/mke2fs -q -t ext4 -F "$DEV_B"
mount -t ext4 "$DEV_B" /mnt/onmap
data_write
fio_start mpd-grow /mnt/onmap/fio.dat --size=48M --rate=2m
sleep 4
before=$(dm_sectors "$W1")
kib_before=$(fs_kib)
t0=$(now)
scsi_debug_resize 2 $L1
t_rescans=$(SECONDS_SINCE "$t0")
t1=$(now)
if poll_until 20 '[ "$(dm_sectors "$W1")" -gt "$before" ]'; then
  note "multipathd (c) LUN grown, both paths rescanned (${t_rescans} s): map grew by itself, $(SECONDS_SINCE "$t1") s after the last rescan returned"
else
  note "multipathd (c) LUN grown, both paths rescanned (${t_rescans} s): map did not grow by itself within 20 s ($(dm_sectors "$W1") sectors)"
  t0=$(now)
  multipathd resize map "$W1" > "$OUT/mpd-resize.txt" 2>&1 || true
  wait_for 30 "$W1 grew after multipathd resize map" '[ "$(dm_sectors "$W1")" -gt "$before" ]'
  note "multipathd (c) 'multipathd resize map': $(cat "$OUT/mpd-resize.txt"), grew to $(dm_sectors "$W1") sectors in $(SECONDS_SINCE "$t0") s"
fi
save lifecycle/mpd-table-grown.txt dmsetup table "$W1"
resize2fs "$DEV_B" > "$OUT/mpd-resize2fs.txt" 2>&1 || { cat "$OUT/mpd-resize2fs.txt"; fail "resize2fs failed"; }
kib_after=$(fs_kib)
expect "the file system grew online" [ "$kib_after" -gt $((kib_before * 3 / 2)) ]
fio_wait
expect "the data is intact" data_intact
note "multipathd (c) resize2fs online ${kib_before} -> ${kib_after} KiB; fio verify passed; data intact"
umount /mnt/onmap
kill "$MPD_PID" 2> /dev/null || true
wait "$MPD_PID" 2> /dev/null || true
cat "$SUMMARY"
