# The SCSI half of the fault kit, on scsi_debug paths under a hand-built map:
# device offline/online, delete/rescan, injected transport and medium errors,
# injected delay. Each fault is checked to do what it claims.

step "scsi_debug: 2 hosts x 1 LUN, map over both paths"
scsi_debug_setup 2 1 16
# shellcheck disable=SC2046  # split into words on purpose
set -- $(scsi_debug_disks)
P=$1 Q=$2
for d in $P $Q; do log "$d: ALUA $(cat "/sys/block/$d/device/access_state")"; done
W=$(mp_wwid "$P")
mp_create mp "$W" alua "$P" "$Q"
dio_read /dev/mapper/mp 16
mp_expect mp "$P" A
mp_expect mp "$Q" A

step "offline $P: the kernel fails the path on I/O, I/O goes on through $Q"
scsi_offline "$P"
expect "$P is offline" test "$(scsi_state "$P")" = offline
dio_read /dev/mapper/mp 256
save fixtures/scsi-debug-status-kernel-failed.txt dmsetup status mp
mp_expect mp "$P" F
mp_expect mp "$Q" A

step "online $P, reinstate: I/O reaches $P again"
scsi_online "$P"
dio_read "/dev/$P" 16
mp_reinstate mp "$P"
mp_expect mp "$P" A
p0=$(sectors_read "$P")
dio_read /dev/mapper/mp 256 300
expect "reads reach $P" test "$(sectors_read "$P")" -gt "$p0"

step "delete $Q: the device is gone, the kernel fails its path"
host=$(scsi_delete "$Q")
expect "$Q left sysfs" test ! -e "/sys/block/$Q"
dio_read /dev/mapper/mp 256 600
mp_expect mp "$P" A
failed=$(dmsetup status mp | awk '{n = 0; for (i = 1; i <= NF; i++) if ($i == "F") n++; print n}')
expect "one path failed in the map" test "$failed" -eq 1

step "rescan $host: the LUN returns, reload the map with it (noflush)"
scsi_rescan "$host"
wait_for 30 "2 scsi_debug disks again" '[ "$(scsi_debug_disks | wc -w)" -eq 2 ]'
Q=$(scsi_debug_disks | grep -vx "$P")
expect "$Q has the same WWID" test "$(mp_wwid "$Q")" = "$W"
mp_table "$(cat "/sys/block/$P/size")" alua "$P" "$Q" | dmsetup reload mp
dmsetup suspend --noflush mp
dmsetup resume mp
dio_read /dev/mapper/mp 16
save fixtures/scsi-debug-status-after-reload.txt dmsetup status mp
mp_expect mp "$Q" A

step "transport errors on every command: both paths fail, I/O queues"
sd_inject 1 16
dio_read /dev/mapper/mp 1 900 &
reader=$!
wait_for 60 "both paths failed by the kernel" \
  '[ "$(dmsetup status mp | grep -o " F " | wc -l)" -eq 2 ]'
save fixtures/scsi-debug-status-all-failed-by-kernel.txt dmsetup status mp
expect "the reader waits (queued)" kill -0 "$reader"

step "injection off, paths reinstated: the queued read completes"
sd_inject_stop
mp_reinstate mp "$P"
mp_reinstate mp "$Q"
wait "$reader"
log "queued read completed"

step "medium error: reported to the reader, no path failed"
sd_inject 1 2
# scsi_debug's medium error range starts at LBA 0x1234 (4660); 4 KiB block 583
# covers LBAs 4664-4671.
if dio_read /dev/mapper/mp 1 583; then fail "read of the bad block succeeded"; fi
log "read of the bad block failed as it should"
sd_inject_stop
mp_expect mp "$P" A
mp_expect mp "$Q" A

step "delay 100 ms per command: 20 reads take at least 2 s"
sd_delay 100
t0=$(now)
dio_read "/dev/$P" 20 2000
t1=$(now)
sd_delay 0
t2=$(now)
dio_read "/dev/$P" 20 2000
t3=$(now)
log "20 direct reads: $(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}') s delayed, $(awk -v a="$t2" -v b="$t3" 'BEGIN {print b - a}') s without delay"
expect "delay took effect" awk -v a="$t0" -v b="$t1" 'BEGIN {exit !(b - a >= 2)}'
