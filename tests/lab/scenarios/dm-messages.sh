# dm-multipath by hand on the real kernel: table load, fail_path and
# reinstate_path messages, queueing with all paths failed. Every table and
# status line is kept in /results/fixtures/ as input for the status parser's
# unit tests.

step "iSCSI: one LUN through portals 127.0.0.1 and 127.0.0.2"
iscsi_setup 64
A=$(iscsi_disk 127.0.0.1)
B=$(iscsi_disk 127.0.0.2)
W=$(mp_wwid "$A")
[ "$(mp_wwid "$B")" = "$W" ] || fail "the two paths report different WWIDs"

step "map over both iSCSI paths (alua handler if it attaches)"
if mp_create mp_iscsi "$W" alua "$A" "$B"; then
  log "alua attached to the tgt LUN"
else
  # tgt does not report ALUA (no TPGS in INQUIRY): scsi_dh_alua refuses it.
  log "alua does not attach to tgt LUNs: map without hardware handler"
  mp_create mp_iscsi "$W" none "$A" "$B"
fi
save fixtures/iscsi-table.txt dmsetup table mp_iscsi
save fixtures/iscsi-status-fresh.txt dmsetup status mp_iscsi
dio_read /dev/mapper/mp_iscsi 16
save fixtures/iscsi-status-active.txt dmsetup status mp_iscsi
mp_expect mp_iscsi "$A" A
mp_expect mp_iscsi "$B" A

step "fail_path $A by message"
mp_fail mp_iscsi "$A"
save fixtures/iscsi-status-one-failed.txt dmsetup status mp_iscsi
mp_expect mp_iscsi "$A" F
mp_expect mp_iscsi "$B" A

step "I/O flows through $B alone"
a0=$(sectors_read "$A")
b0=$(sectors_read "$B")
dio_read /dev/mapper/mp_iscsi 64 100
expect "reads went to $B only" test "$(sectors_read "$A")" -eq "$a0" -a "$(sectors_read "$B")" -gt "$b0"

step "reinstate_path $A by message"
mp_reinstate mp_iscsi "$A"
save fixtures/iscsi-status-reinstated.txt dmsetup status mp_iscsi
mp_expect mp_iscsi "$A" A

step "all paths failed: I/O queues (queue_if_no_path)"
mp_fail mp_iscsi "$A"
mp_fail mp_iscsi "$B"
save fixtures/iscsi-status-all-failed.txt dmsetup status mp_iscsi
dio_read /dev/mapper/mp_iscsi 1 &
reader=$!
sleep 2
expect "the reader is still waiting (I/O queued in dm)" kill -0 "$reader"
save fixtures/iscsi-status-all-failed-queueing.txt dmsetup status mp_iscsi
save fixtures/iscsi-table-all-failed.txt dmsetup table mp_iscsi

step "reinstate $B: queued I/O completes"
mp_reinstate mp_iscsi "$B"
wait "$reader"
log "queued read completed after reinstate"
mp_reinstate mp_iscsi "$A"
save fixtures/iscsi-status-recovered.txt dmsetup status mp_iscsi

step "scsi_debug: 2 hosts x 1 LUN, ALUA states"
scsi_debug_setup 2 1 16
# With vpd_use_hostno=0 scsi_debug reports the ALUA state host_no % 3
# (0 active/optimized, 1 active/non-optimized, 2 standby): after the two
# iSCSI hosts (0, 1) its hosts are 2 (standby) and 3 (active/optimized).
ACT="" SBY=""
for d in $(scsi_debug_disks); do
  st=$(cat "/sys/block/$d/device/access_state")
  log "$d: ALUA $st, handler $(cat "/sys/block/$d/device/dh_state")"
  case $st in active*) ACT=$d ;; standby) SBY=$d ;; esac
done
[ -n "$ACT" ] && [ -n "$SBY" ] || fail "expected one active and one standby scsi_debug path"
SW=$(mp_wwid "$ACT")

step "map with two path groups (active, standby) and the alua handler"
load_modules dm-multipath dm-service-time
table="0 $(cat "/sys/block/$ACT/size") multipath 1 queue_if_no_path 1 alua 2 1"
table="$table service-time 0 1 2 $(devnum "$ACT") 1 1 service-time 0 1 2 $(devnum "$SBY") 1 1"
log "dmsetup create mp_sdebug: $table"
echo "$table" | dmsetup create mp_sdebug -u "mpath-$SW"
save fixtures/scsi-debug-table.txt dmsetup table mp_sdebug
dio_read /dev/mapper/mp_sdebug 16
save fixtures/scsi-debug-status.txt dmsetup status mp_sdebug
mp_expect mp_sdebug "$ACT" A

step "fail the active path: dm switches to the standby group"
mp_fail mp_sdebug "$ACT"
dio_read /dev/mapper/mp_sdebug 16 &
reader=$!
sleep 3
save fixtures/scsi-debug-status-switched.txt dmsetup status mp_sdebug
if kill -0 "$reader" 2>/dev/null; then
  log "read through the standby group is queued (the standby path failed)"
else
  wait "$reader" && log "read through the standby group completed"
fi

step "reinstate the active path"
mp_reinstate mp_sdebug "$ACT"
wait "$reader" || true
dio_read /dev/mapper/mp_sdebug 16
save fixtures/scsi-debug-status-reinstated.txt dmsetup status mp_sdebug
mp_expect mp_sdebug "$ACT" A

step "all maps, as dmsetup lists them"
save fixtures/dmsetup-table-all.txt dmsetup table
save fixtures/dmsetup-status-all.txt dmsetup status
save fixtures/dmsetup-info.txt dmsetup info -c -o name,uuid,major,minor,open,segments,events
