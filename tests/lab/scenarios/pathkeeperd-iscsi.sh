# pathkeeperd over two iSCSI paths on a real kernel, the product's main story:
#  1. it builds one map with two active paths and DM UUID mpath-<wwid>;
#  2. a cut portal is failed in DM and in `show paths`, and reinstated when restored;
#  3. a target frozen FREEZE_SECONDS while fio writes with verify: I/O queues,
#     resumes when the target returns, fio reports no error, verify passes,
#     and the daemon faulted no page, grew no heap and made no thread meanwhile;
#  4. pathkeeperd SIGKILLed while all paths are down: the map keeps queueing,
#     a new pathkeeperd adopts it without a reload and recovers the paths.
# Results: pathkeeperd*.log, pk/*.json (CLI answers), fixtures/*.txt, summary.txt.

FREEZE_SECONDS=${FREEZE_SECONDS:-30}
ISCSI_REPLACEMENT_TIMEOUT=${ISCSI_REPLACEMENT_TIMEOUT:-10}


step "udev, then iSCSI with two portals (replacement_timeout ${ISCSI_REPLACEMENT_TIMEOUT}s)"
start_udev
load_modules dm-multipath dm-service-time dm-round-robin dm-queue-length
iscsi_setup 128
A=$(iscsi_disk 127.0.0.1)
B=$(iscsi_disk 127.0.0.2)
W=$(mp_wwid "$A")
log "paths $A $B, WWID $W"

step "pathkeeperd builds one map with two active paths"
pk_config
t0=$(now)
pk_start pathkeeperd.log --config /etc/pathkeeper/pathkeeper.yaml
wait_for 30 "map $W with two active paths" '[ "$(pk_map paths_active)" = 2 ]'
summary "startup_to_map_s $(since "$t0")"
keep pk/maps-start.json pk show maps
keep pk/paths-start.json pk show paths
keep pk/status-start.json pk status
save fixtures/pk-table.txt dmsetup table "$W"
save fixtures/pk-status.txt dmsetup status "$W"
expect "DM UUID is mpath-$W" sh -c "[ \"\$(dmsetup info -c --noheadings -o uuid '$W')\" = 'mpath-$W' ]"
expect "show maps names the map by WWID" [ "$(pk_map name)" = "$W" ]
expect "$A up by the checker" [ "$(pk_path "$A" state)" = up ]
expect "$B up by the checker" [ "$(pk_path "$B" state)" = up ]
expect "the daemon is sealed: memory locked" [ "$(pk_status memory_locked_bytes)" -gt 0 ]
save pk/topology.txt pathkeeperctl show topology

step "portal 127.0.0.2 cut: its path is failed in DM and in show paths"
portal_cut 127.0.0.2
t_cut=$(now)
wait_for 60 "$B failed in DM" '[ "$(mp_path_state "$W" "$B")" = F ]'
summary "detect_portal_cut_s $(since "$t_cut")"
wait_for 10 "$B not usable in show paths" '[ "$(pk_path $B dm_state)" = failed ]'
log "show paths says $B is $(pk_path $B state), dm $(pk_path $B dm_state)"
expect "$A still active" [ "$(mp_path_state "$W" "$A")" = A ]

step "portal restored: the path is reinstated"
portal_restore 127.0.0.2
t_back=$(now)
wait_for 90 "$B reinstated in DM" '[ "$(mp_path_state "$W" "$B")" = A ]'
summary "reinstate_after_portal_restore_s $(since "$t_back")"
wait_for 10 "$B up in show paths" '[ "$(pk_path $B state)" = up ]'

step "target frozen ${FREEZE_SECONDS}s while fio writes with verify through the map"
DM=$(dm_name "$W")
faults0=$(pk_status minor_faults_since_ready)
heap0=$(pk_status heap_bytes)
threads0=$(pk_status threads)
fio_start ndu "/dev/mapper/$W" --size=32M --rate=1m
sleep 5
expect "fio is writing" test "$(sectors_written "$DM")" -gt 0
target_freeze
t_freeze=$(now)
wait_for $((FREEZE_SECONDS + 30)) "both paths failed in the map" \
  '[ "$(mp_path_state "$W" "$A")" = F ] && [ "$(mp_path_state "$W" "$B")" = F ]'
summary "detect_all_paths_down_s $(since "$t_freeze")"
keep fixtures/pk-status-all-down.txt dmsetup status "$W"
keep fixtures/pk-table-all-down.txt dmsetup table "$W"
expect "the map queues (queue_if_no_path in the table)" sh -c "dmsetup table '$W' | grep -q queue_if_no_path"
expect "show maps says queueing" [ "$(pk_map queueing)" = true ]
expect "fio waits, it did not fail" kill -0 "$FIO_PID"
rest=$(awk -v f="$FREEZE_SECONDS" -v e="$(since "$t_freeze")" 'BEGIN {r = f - e; print (r > 0 ? r : 0)}')
sleep "$rest"
keep pk/status-frozen.json pk status

step "target back: paths reinstated, I/O flows, verify passes"
# shellcheck disable=SC2034  # read in wait_for's eval
w0=$(sectors_written "$DM")
target_unfreeze
t_thaw=$(now)
wait_for 120 "writes completing through the map" '[ "$(sectors_written "$DM")" -gt "$w0" ]'
summary "recover_io_after_target_return_s $(since "$t_thaw")"
wait_for 120 "both paths reinstated" \
  '[ "$(mp_path_state "$W" "$A")" = A ] && [ "$(mp_path_state "$W" "$B")" = A ]'
summary "reinstate_both_after_target_return_s $(since "$t_thaw")"
if fio_finish; then fio_rc=0; else fio_rc=1; fi
summary "fio_ok $([ $fio_rc -eq 0 ] && echo yes || echo no)"
faults1=$(pk_status minor_faults_since_ready)
summary "daemon_faults_during_freeze $((faults1 - faults0))"
summary "daemon_heap_growth_during_freeze $(( $(pk_status heap_bytes) - heap0 ))"
summary "daemon_thread_growth_during_freeze $(( $(pk_status threads) - threads0 ))"
keep pk/status-after.json pk status
[ "$fio_rc" -eq 0 ] || fail "fio reported an error or its verify failed"

step "pathkeeperd SIGKILLed while all paths are down; the map keeps queueing"
fio_start restart "/dev/mapper/$W" --size=16M --rate=1m
sleep 3
target_freeze
wait_for $((FREEZE_SECONDS + 30)) "both paths failed" \
  '[ "$(mp_path_state "$W" "$A")" = F ] && [ "$(mp_path_state "$W" "$B")" = F ]'
kill -KILL "$PK_PID"
wait "$PK_PID" 2>/dev/null || true
log "pathkeeperd killed"
sleep 5
expect "with no daemon the map still queues" sh -c "dmsetup table '$W' | grep -q queue_if_no_path"
expect "fio still waits" kill -0 "$FIO_PID"
save fixtures/pk-table-orphan.txt dmsetup table "$W"

step "a new pathkeeperd adopts the map and recovers the paths"
pk_start pathkeeperd-restart.log --config /etc/pathkeeper/pathkeeper.yaml
expect "the map was adopted, not created" grep -q "adopted $W" /results/pathkeeperd-restart.log
if grep -q "reloaded $W" /results/pathkeeperd-restart.log; then fail "the adopted map was reloaded"; fi
target_unfreeze
t_thaw=$(now)
wait_for 120 "both paths reinstated by the new daemon" \
  '[ "$(mp_path_state "$W" "$A")" = A ] && [ "$(mp_path_state "$W" "$B")" = A ]'
summary "restart_recover_s $(since "$t_thaw")"
if fio_finish; then summary "fio_restart_ok yes"; else summary "fio_restart_ok no"; fail "fio failed across the daemon restart"; fi
dm_errors=$(dmesg | grep -c "I/O error, dev $DM" || true)
summary "dm_io_errors $dm_errors"
[ "$dm_errors" -eq 0 ] || fail "I/O errors on the multipath device"
pk_stop
