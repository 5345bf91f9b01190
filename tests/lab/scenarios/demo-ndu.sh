# The demo: pathkeeperd keeps a disk alive through a storage array upgrade.
# Two iSCSI paths to one LUN, fio writing with crc32c verify through the map
# pathkeeperd builds; the target freezes for FREEZE_SECONDS (both paths go
# down, I/O queues), then returns. pathkeeperctl shows the topology before,
# during and after; the summary says whether any I/O failed, whether verify
# passed and how long I/O took to flow again once the target was back.

FREEZE_SECONDS=${FREEZE_SECONDS:-30}
ISCSI_REPLACEMENT_TIMEOUT=${ISCSI_REPLACEMENT_TIMEOUT:-10}

show() {  # show TITLE: the topology as an operator sees it
  echo
  echo "---- pathkeeperctl show topology: $1"
  pathkeeperctl show topology | sed 's/^/    /'
  echo
}

step "an array with two portals (iSCSI over loopback) and pathkeeperd"
start_udev
load_modules dm-multipath dm-service-time
iscsi_setup 128
A=$(iscsi_disk 127.0.0.1)
# shellcheck disable=SC2034  # read in wait_for's eval
B=$(iscsi_disk 127.0.0.2)
mkdir -p /etc/pathkeeper
cat > /etc/pathkeeper/pathkeeper.yaml <<YAML
timing: {polling_interval: 2s, failed_polling_interval: 1s, checker_timeout: 5s}
defaults: {no_path_retry: 5m}
YAML
pk_start pathkeeperd.log --config /etc/pathkeeper/pathkeeper.yaml
W=$(mp_wwid "$A")
wait_for 30 "map with two active paths" '[ "$(pk_map paths_active)" = 2 ]'
show "before: two paths up"

step "fio writes with verify through /dev/mapper/$W"
DM=$(dm_name "$W")
fio_start demo "/dev/mapper/$W" --size=32M --rate=1m
sleep 5

step "the array upgrades its firmware: target frozen ${FREEZE_SECONDS}s"
target_freeze
t_freeze=$(now)
wait_for $((FREEZE_SECONDS + 30)) "both paths failed" \
  '[ "$(mp_path_state "$W" "$A")" = F ] && [ "$(mp_path_state "$W" "$B")" = F ]'
show "during: no path, I/O queued ($(since "$t_freeze") s into the freeze)"
rest=$(awk -v f="$FREEZE_SECONDS" -v e="$(since "$t_freeze")" 'BEGIN {r = f - e; print (r > 0 ? r : 0)}')
sleep "$rest"

step "the array is back"
# shellcheck disable=SC2034  # read in wait_for's eval
w0=$(sectors_written "$DM")
target_unfreeze
t_thaw=$(now)
wait_for 120 "writes completing through the map" '[ "$(sectors_written "$DM")" -gt "$w0" ]'
flow=$(since "$t_thaw")
wait_for 120 "both paths reinstated" \
  '[ "$(mp_path_state "$W" "$A")" = A ] && [ "$(mp_path_state "$W" "$B")" = A ]'
paths=$(since "$t_thaw")
show "after: paths reinstated"
if fio_finish; then verify=passed; else verify=FAILED; fi
errors=$(dmesg | grep -c "I/O error, dev $DM" || true)

summary "target frozen:                        ${FREEZE_SECONDS} s"
summary "I/O errors on /dev/mapper/$W:  $errors"
summary "fio crc32c verify:                    $verify"
summary "target back -> I/O flowing:           $flow s"
summary "target back -> both paths active:     $paths s"
summary "daemon page faults since READY:       $(pk_status minor_faults_since_ready)"
summary "daemon heap growth since READY:       $(( $(pk_status heap_bytes) - $(pk_status heap_bytes_at_ready) )) bytes"
pk_stop
[ "$verify" = passed ] && [ "$errors" -eq 0 ] || fail "I/O failed or verify did not pass"
