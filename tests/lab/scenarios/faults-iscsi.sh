# The iSCSI half of the fault kit, under a hand-built map with
# queue_if_no_path: one portal cut and restored under fio, a target restart
# (data kept, both paths back), and memory pressure with a dirty-page flood
# while every path is down.

ISCSI_REPLACEMENT_TIMEOUT=${ISCSI_REPLACEMENT_TIMEOUT:-5}

step "iSCSI (2 portals, 1 LUN, replacement_timeout ${ISCSI_REPLACEMENT_TIMEOUT}s) and a map"
iscsi_setup 128
A=$(iscsi_disk 127.0.0.1)
B=$(iscsi_disk 127.0.0.2)
mp_create mp "$(mp_wwid "$A")" none "$A" "$B"

step "portal 127.0.0.2 cut under fio: its session fails, the kernel fails $B"
fio_start portal /dev/mapper/mp --size=24M --rate=1m
sleep 3
portal_cut 127.0.0.2
t_cut=$(now)
wait_for 30 "session of 127.0.0.2 to fail" '[ "$(iscsi_state 127.0.0.2)" != LOGGED_IN ]'
log "session of 127.0.0.2 $(iscsi_state 127.0.0.2) after $(awk -v a="$t_cut" -v b="$(now)" 'BEGIN {print b - a}') s"
expect "session of 127.0.0.1 still logged in" test "$(iscsi_state 127.0.0.1)" = LOGGED_IN
wait_for 60 "the kernel to fail $B in the map" '[ "$(mp_path_state mp "$B")" = F ]'
log "$B failed in the map after $(awk -v a="$t_cut" -v b="$(now)" 'BEGIN {print b - a}') s, device $(scsi_state "$B")"
save fixtures/iscsi-status-portal-cut.txt dmsetup status mp
mp_expect mp "$A" A

step "portal 127.0.0.2 restored: session back, path reinstated, fio verifies"
portal_restore 127.0.0.2
t_back=$(now)
wait_for 180 "session of 127.0.0.2 logged in, $B running" \
  '[ "$(iscsi_state 127.0.0.2)" = LOGGED_IN ] && [ "$(scsi_state "$B")" = running ]'
log "127.0.0.2 back after $(awk -v a="$t_back" -v b="$(now)" 'BEGIN {print b - a}') s"
mp_reinstate mp "$B"
mp_expect mp "$B" A
fio_wait

step "target restart: data written before is intact after"
fio_start before /dev/mapper/mp --rw=write --size=16M --do_verify=0
fio_wait
# The old tgtd may still count the connection cut above (TCP never told it).
log "tgtd holds $(target_nexus_count) initiator connections"
target_restart
wait_for 180 "both paths to log in to the new tgtd" '[ "$(target_nexus_count)" -ge 2 ]'
keep target-after-restart.txt tgtadm --lld iscsi --op show --mode target
wait_for 30 "both sessions logged in" \
  '[ "$(iscsi_state 127.0.0.1)" = LOGGED_IN ] && [ "$(iscsi_state 127.0.0.2)" = LOGGED_IN ]'
for d in $A $B; do [ "$(mp_path_state mp "$d")" = A ] || mp_reinstate mp "$d"; done
fio_start after /dev/mapper/mp --rw=write --size=16M --verify_only
fio_wait

step "all paths failed: dirty pages pile up, then memory pressure"
mp_fail mp "$A"
mp_fail mp "$B"
avail0=$(mem_available_mb)
dirty0=$(mem_dirty_mb)
dirty_flood /dev/mapper/mp 96
wait_for 30 "64 MiB dirty or under writeback" '[ "$(mem_dirty_mb)" -ge $((dirty0 + 64)) ]'
log "dirty+writeback: ${dirty0} -> $(mem_dirty_mb) MiB, nothing reaches the LUN"
mem_pressure_start 300
wait_for 60 "MemAvailable to fall by 250 MiB" '[ "$(mem_available_mb)" -le $((avail0 - 250)) ]'
log "MemAvailable: ${avail0} -> $(mem_available_mb) MiB, dirty+writeback $(mem_dirty_mb) MiB"
keep mem/meminfo-while-down.txt cat /proc/meminfo
save fixtures/iscsi-status-all-failed-dirty.txt dmsetup status mp

step "paths reinstated: the flood drains, memory comes back"
mp_reinstate mp "$A"
mp_reinstate mp "$B"
t_r=$(now)
wait "$FLOOD_PID"
sync
log "flood written and synced $(awk -v a="$t_r" -v b="$(now)" 'BEGIN {print b - a}') s after reinstate; dirty+writeback $(mem_dirty_mb) MiB"
mem_pressure_stop
expect "dirty pages drained" test "$(mem_dirty_mb)" -lt 16
