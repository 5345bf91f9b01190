# Non-disruptive upgrade of the array, the lab's main story: fio writes with
# crc32c verify through a multipath map (queue_if_no_path) over two iSCSI
# paths; the target freezes for FREEZE_SECONDS (both sessions fail, the
# keeper fails both paths, I/O queues in dm); the target returns, the keeper
# reinstates the paths, fio finishes without an error and its verify passes.
#
# Variables (run-guest -e): FREEZE_SECONDS (30), ISCSI_REPLACEMENT_TIMEOUT
# (10), KEEPER (shell; see keeper.sh). Results: summary.txt, keeper.log,
# fio-ndu.txt.

FREEZE_SECONDS=${FREEZE_SECONDS:-30}
ISCSI_REPLACEMENT_TIMEOUT=${ISCSI_REPLACEMENT_TIMEOUT:-10}
KEEPER=${KEEPER:-shell}


step "iSCSI (2 portals, replacement_timeout ${ISCSI_REPLACEMENT_TIMEOUT}s) and a queueing map"
iscsi_setup 128
A=$(iscsi_disk 127.0.0.1)
B=$(iscsi_disk 127.0.0.2)
mp_create ndu "$(mp_wwid "$A")" none "$A" "$B"
DM=$(dm_name ndu)

step "path keeper: $KEEPER"
keeper_start ndu $ISCSI_PORTALS

step "fio: random writes with crc32c verify through the map"
# Rate-limited so writes are still going on when the target comes back.
fio_start ndu /dev/mapper/ndu --size=32M --rate=1m
sleep 5
expect "fio is writing" test "$(sectors_written "$DM")" -gt 0

step "target frozen for ${FREEZE_SECONDS}s"
target_freeze
t_freeze=$(now)
wait_for $((FREEZE_SECONDS + 30)) "both paths failed in the map" \
  '[ "$(mp_path_state ndu "$A")" = F ] && [ "$(mp_path_state ndu "$B")" = F ]'
log "both paths failed $(since "$t_freeze") s after the freeze; I/O queues in dm"
keep fixtures/ndu-status-frozen.txt dmsetup status ndu
expect "fio is still running (waiting, not failed)" kill -0 "$FIO_PID"
rest=$(awk -v f="$FREEZE_SECONDS" -v e="$(since "$t_freeze")" 'BEGIN {r = f - e; print (r > 0 ? r : 0)}')
sleep "$rest"
log "sessions: $(iscsi_state 127.0.0.1) $(iscsi_state 127.0.0.2), devices: $(scsi_state "$A") $(scsi_state "$B")"

step "target back: paths reinstated, I/O flows"
# shellcheck disable=SC2034  # read in wait_for's eval
w0=$(sectors_written "$DM")
target_unfreeze
t_thaw=$(now)
wait_for 120 "writes completing through the map" '[ "$(sectors_written "$DM")" -gt "$w0" ]'
t_flow=$(now)
wait_for 120 "both paths reinstated" \
  '[ "$(mp_path_state ndu "$A")" = A ] && [ "$(mp_path_state ndu "$B")" = A ]'
t_paths=$(now)

step "fio completes, verify passes"
if fio_finish; then fio_rc=0; else fio_rc=1; fi
keeper_stop
dm_errors=$(dmesg | grep -c "I/O error, dev $DM" || true)
path_errors=$(dmesg | grep -cE "I/O error, dev ($A|$B)," || true)
summary "keeper=$KEEPER freeze_seconds=$FREEZE_SECONDS replacement_timeout=$ISCSI_REPLACEMENT_TIMEOUT"
summary "fio=$([ "$fio_rc" -eq 0 ] && echo "no-error verify-passed" || echo FAILED)"
summary "io_errors_on_map=$dm_errors io_errors_on_paths=$path_errors (path errors are expected: the kernel fails in-flight I/O after replacement_timeout and dm retries it)"
summary "thaw_to_io_flowing_s=$(since "$t_thaw" "$t_flow") thaw_to_both_paths_active_s=$(since "$t_thaw" "$t_paths")"
[ "$fio_rc" -eq 0 ] || fail "fio failed or its verify did not pass"
[ "$dm_errors" -eq 0 ] || fail "$dm_errors I/O errors reached the map's users"
