# Benchmark, path failures: one LUN behind two iSCSI portals. Each daemon in
# turn on the same sessions, configured alike (polling POLL s, tur,
# checker_timeout, no_path_retry queue):
#   detect_s    portal cut with no I/O running until DM shows the path failed
#               (DETECT_REPS times)
#   recover_s   target frozen FREEZE_SECONDS under memory pressure (stress-ng
#               holding all but 64 MiB) while fio writes through the map,
#               then from the thaw until fio's next write completes
#               (sectors_written of the dm device) (APD_REPS times)
#   faults_during_apd, threads_growth_during_apd, heap_growth_during_apd
#               across that freeze, from /proc/PID (minflt+majflt, task/);
#               heap: pathkeeperd's heap_bytes, multipathd's VmRSS growth (KiB)
# Then each daemon with its own defaults: detect_s_defaults (one cut).
# Figures: /results/bench.txt (see common.sh; run-bench prepends it).

DETECT_REPS=${DETECT_REPS:-3}
APD_REPS=${APD_REPS:-3}
FREEZE_SECONDS=${FREEZE_SECONDS:-30}
ISCSI_REPLACEMENT_TIMEOUT=${ISCSI_REPLACEMENT_TIMEOUT:-10}
DAEMONS=${DAEMONS:-"pathkeeperd multipathd"}

step "udev, iSCSI with two portals (replacement_timeout ${ISCSI_REPLACEMENT_TIMEOUT}s)"
start_udev
load_modules dm-multipath dm-service-time dm-round-robin dm-queue-length
# The LUN is filled before the pressure starts (see iscsi_setup_preallocated).
iscsi_setup_preallocated 64
A=$(iscsi_disk 127.0.0.1)
B=$(iscsi_disk 127.0.0.2)
W=$(mp_wwid "$A")
log "paths $A $B, WWID $W; clock $CLOCK"
record env clock "$CLOCK"

both_active() { [ "$(mp_path_state "$W" "$A")" = A ] && [ "$(mp_path_state "$W" "$B")" = A ]; }
both_failed() { [ "$(mp_path_state "$W" "$A")" = F ] && [ "$(mp_path_state "$W" "$B")" = F ]; }
sessions_up() { [ "$(iscsi_state 127.0.0.1)" = LOGGED_IN ] && [ "$(iscsi_state 127.0.0.2)" = LOGGED_IN ]; }

# detect DAEMON KEY: one portal cut, time to F in DM, then restored.
detect_once() {
  portal_cut 127.0.0.2
  _t=$(now)
  wait_for 120 "$B failed in DM" '[ "$(mp_path_state "$W" "$B")" = F ]'
  record "$1" "$2" "$(since "$_t")"
  portal_restore 127.0.0.2
  wait_for 120 "$B reinstated" both_active
  wait_for 60 "sessions logged in" sessions_up
  sleep 2
}

daemon_up() {
  maps_remove
  wait_for 60 "sessions logged in" sessions_up
  daemon_start "$1" "$2"
  wait_for 120 "map $W with two active paths" both_active
  settle
  wait_for 30 "/dev/mapper/$W" "test -b /dev/mapper/$W"
  DM=$(dm_name "$W")
  sleep $((POLL * 2))
}

for d in $DAEMONS; do
  step "$d (alike): portal cut, no I/O, $DETECT_REPS times"
  daemon_up "$d" alike
  r=0
  while [ $r -lt "$DETECT_REPS" ]; do detect_once "$d" detect_s; r=$((r + 1)); done

  r=0
  while [ $r -lt "$APD_REPS" ]; do
    step "$d (alike): target frozen ${FREEZE_SECONDS}s under memory pressure, fio writing ($((r + 1))/$APD_REPS)"
    fio_start "apd-$d-$r" "/dev/mapper/$W" --size=16M --rate=1m
    sleep 4
    f0=$(proc_faults "$DPID"); th0=$(proc_threads "$DPID"); rss0=$(proc_rss_kib "$DPID")
    [ "$d" = pathkeeperd ] && h0=$(pathkeeperctl --json status | jq -r .status.heap_bytes)
    target_freeze
    t_freeze=$(now)
    wait_for $((FREEZE_SECONDS + 60)) "both paths failed" both_failed
    record "$d" detect_all_down_s "$(since "$t_freeze")"
    mem_pressure_start $(( $(mem_available_mb) - 64 ))
    # Sample the thread count every second until the thaw: transient threads
    # (a checker thread per hung check) do not show in the end-point delta.
    thmax=$th0
    while awk -v s="$t_freeze" -v n="$(now)" -v f="$FREEZE_SECONDS" 'BEGIN {exit !(n - s < f)}'; do
      _th=$(proc_threads "$DPID")
      [ "$_th" -gt "$thmax" ] && thmax=$_th
      sleep 1
    done
    record "$d" threads_peak_growth_during_apd $((thmax - th0))
    # shellcheck disable=SC2034  # read in wait_for's eval
    w0=$(sectors_written "$DM")
    target_unfreeze
    t_thaw=$(now)
    wait_for 120 "writes completing through the map" '[ "$(sectors_written "$DM")" -gt "$w0" ]'
    record "$d" recover_s "$(since "$t_thaw")"
    wait_for 120 "both paths reinstated" both_active
    f1=$(proc_faults "$DPID"); th1=$(proc_threads "$DPID"); rss1=$(proc_rss_kib "$DPID")
    record "$d" faults_during_apd $((f1 - f0))
    record "$d" threads_growth_during_apd $((th1 - th0))
    record "$d" rss_growth_kib_during_apd $((rss1 - rss0))
    if [ "$d" = pathkeeperd ]; then
      h1=$(pathkeeperctl --json status | jq -r .status.heap_bytes)
      record "$d" heap_growth_during_apd $((h1 - h0))
    else
      record "$d" heap_growth_during_apd $(((rss1 - rss0) * 1024))
    fi
    mem_pressure_stop
    if fio_finish; then record "$d" fio_ok 1; else record "$d" fio_ok 0; fi
    wait_for 60 "sessions logged in" sessions_up
    r=$((r + 1))
  done
  daemon_stop
done

for d in $DAEMONS; do
  step "$d (defaults): portal cut, no I/O"
  daemon_up "$d" defaults
  detect_once "$d" detect_s_defaults
  daemon_stop
done
maps_remove
