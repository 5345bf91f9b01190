# A flapping link: portal B cut and restored at FLAP_HZ (1 Hz: cut half a
# second, up half a second) for FLAP_SECONDS while fio writes with crc32c
# verify through the map. Run on the same devices, each run when in RUNS:
#   pk       pathkeeperd with its default marginal_paths (on: more than 2
#            failures within 1m holds the path until healthy for 2m); a
#            half-second cut breaks the iSCSI connection only a few times a
#            minute, and the default must catch that;
#   pk-loose pathkeeperd with marginal_paths {failures: 4, within: 1m}, the
#            threshold the default once had (not in RUNS unless asked);
#   mpd      multipathd with Debian's defaults (no flaky-path detection);
#   mpd-san  multipathd with san_path_err_threshold 4, forget_rate 30 checks
#            (60 s at polling_interval 2), recovery_time 120.
# Each run: 0 I/O errors and verify passed; dmsetup status sampled every
# second; writes that reached portal B's disk after the threshold; for
# pathkeeperd, B is `marginal` in show paths and JSON once marked.
# iSCSI noop-out every second with a 1 s timeout, so a half-second cut can
# break the connection (as a flapping switch port does), not only delay it.
# Results: summary.txt (the table), <run>/status-samples.txt, logs.

FLAP_SECONDS=${FLAP_SECONDS:-60}
FLAP_CUT_MS=${FLAP_CUT_MS:-500}
FLAP_UP_MS=${FLAP_UP_MS:-500}
ISCSI_REPLACEMENT_TIMEOUT=${ISCSI_REPLACEMENT_TIMEOUT:-120}
ISCSI_NOOP_INTERVAL=${ISCSI_NOOP_INTERVAL:-1}
ISCSI_NOOP_TIMEOUT=${ISCSI_NOOP_TIMEOUT:-1}
RUNS=${RUNS:-pk mpd mpd-san}  # which runs, in this order

summary() { echo "$*" >> /results/summary.txt; log "SUMMARY $*"; }
ms_sleep() { sleep "$(awk -v m="$1" 'BEGIN {printf "%.3f", m / 1000}')"; }

step "udev, then iSCSI with two portals (noop ${ISCSI_NOOP_INTERVAL}s/${ISCSI_NOOP_TIMEOUT}s)"
start_udev
load_modules dm-multipath dm-service-time dm-round-robin dm-queue-length
iscsi_setup 128
A=$(iscsi_disk 127.0.0.1)
B=$(iscsi_disk 127.0.0.2)
W=$(mp_wwid "$A")
log "paths $A (stable) $B (flapping), WWID $W"
summary "run      fio_err verify  B_failures marked_after_s B_active_2nd_half(samples) B_written_2nd_half_kB B_state_at_end"

map_gone() {
  settle
  wait_for 30 "map $W removed" 'dmsetup remove "$W" 2> /dev/null; ! dmsetup info "$W" > /dev/null 2>&1'
}

# flap: portal B cut and restored for FLAP_SECONDS, in the background (FLAP_PID).
flap() {
  (
    end=$(awk -v a="$(now)" -v d="$FLAP_SECONDS" 'BEGIN {print a + d}')
    while awk -v n="$(now)" -v e="$end" 'BEGIN {exit !(n < e)}'; do
      portal_cut 127.0.0.2 > /dev/null
      ms_sleep "$FLAP_CUT_MS"
      portal_restore 127.0.0.2 > /dev/null
      ms_sleep "$FLAP_UP_MS"
    done
  ) &
  FLAP_PID=$!
}

# sample RUN: `UPTIME A_STATE B_STATE B_WRITTEN_SECTORS` every second until
# the flapping ends, in /results/RUN/status-samples.txt, with the status line.
sample() {
  while kill -0 "$FLAP_PID" 2> /dev/null; do
    echo "$(now) $(mp_path_state "$W" "$A") $(mp_path_state "$W" "$B") $(sectors_written "$B") |" \
      "$(dmsetup status "$W" 2> /dev/null)" >> "/results/$1/status-samples.txt"
    sleep 1
  done
}

# run_flap RUN MARK_TIME_CMD: fio, flapping, samples; one line of the table.
# MARK_TIME_CMD prints the uptime at which B was held back ("" when never).
run_flap() {
  _run=$1
  mkdir -p "/results/$_run"
  wait_for 60 "$_run: map $W with 2 active paths" \
    '[ "$(mp_path_state "$W" "$A")" = A ] && [ "$(mp_path_state "$W" "$B")" = A ]'
  # udev makes the node after DM has the map: without it fio writes a file.
  wait_for 30 "/dev/mapper/$W" 'test -b "/dev/mapper/$W"'
  # 1 MB/s for longer than the flapping, then read back and verified.
  fio_start "$_run" "/dev/mapper/$W" --size=$((FLAP_SECONDS + 10))M --rate=1m
  sleep 5
  t_flap=$(now)
  flap
  sample "$_run"
  wait "$FLAP_PID" || true
  log "$_run: flapping over"
  fio_err=0 verify=passed
  fio_finish || { fio_err=1; verify=failed; }
}

# analyse RUN MARK_UPTIME FAILURES STATE_AT_END: the table line. What B
# carried is read over the second half of the flapping (the same window for
# every run): samples with B active in DM, and kB written to B's disk.
analyse() {
  _s=/results/$1/status-samples.txt
  ref=$(awk -v a="$t_flap" -v d="$FLAP_SECONDS" 'BEGIN {print a + d / 2}')
  marked_after=never
  [ -n "$2" ] && marked_after=$(awk -v a="$t_flap" -v b="$2" 'BEGIN {printf "%.1f", b - a}')
  active=$(awk -v m="$ref" '$1 > m && $3 == "A"' "$_s" | wc -l)
  total=$(awk -v m="$ref" '$1 > m' "$_s" | wc -l)
  w0=$(awk -v m="$ref" '$1 > m {print $4; exit}' "$_s")
  w1=$(tail -n 1 "$_s" | cut -d' ' -f4)
  kb=$(((${w1:-0} - ${w0:-0}) / 2))
  summary "$(printf '%-8s %-7s %-7s %-10s %-14s %-27s %-22s %s' "$1" "$fio_err" "$verify" "$3" "$marked_after" \
    "$active/$total" "$kb" "$4")"
}

# pk_run RUN FAILURES [MARGINAL_YAML]: pathkeeperd with portal B flapping;
# FAILURES is the threshold in force (a mark is expected above it).
pk_run() {
  step "pathkeeperd ($1: more than $2 failures a minute marks) with portal B flapping for ${FLAP_SECONDS}s"
  pk_config "${3:-}"
  pk_start pathkeeperd-$1.log --config /etc/pathkeeper/pathkeeper.yaml
  keep $1/config.yaml pathkeeperctl show config
  run_flap "$1"
  keep $1/paths-end.json pk show paths
  save $1/paths-end.txt pathkeeperctl show paths
  save $1/topology-end.txt pathkeeperctl show topology
  mark_line=$(grep -m 1 "marked marginal" /results/pathkeeperd-$1.log || true)
  log "log: ${mark_line:-no mark}"
  grep -E "marginal" /results/pathkeeperd-$1.log > /results/$1/marginal-log.txt || true
  # The uptime of the mark, from the daemon's own count (marginal_age_ms).
  mark_up=""
  if [ "$(pk_path "$B" marginal)" = true ]; then
    mark_up=$(awk -v n="$(now)" -v a="$(pk_path "$B" marginal_age_ms)" 'BEGIN {printf "%.2f", n - a / 1000}')
  fi
  analyse "$1" "$mark_up" "$(pk_path "$B" failures)" \
    "$(pk_path "$B" state)/$(pk_path "$B" dm_state)/marginal=$(pk_path "$B" marginal)"
  expect "pathkeeperd: no I/O error, verify passed" [ "$fio_err" = 0 ]
  if [ -n "$mark_line" ]; then
    expect "pathkeeperd: $B is marginal in show paths (JSON)" [ "$(pk_path "$B" marginal)" = true ]
    expect "pathkeeperd: show paths says marginal" grep -q "$B .*marginal" /results/$1/paths-end.txt
    expect "pathkeeperd: $B held failed in DM" [ "$(mp_path_state "$W" "$B")" = F ]
    expect "pathkeeperd: $A carries I/O" [ "$(mp_path_state "$W" "$A")" = A ]
    step "pathkeeperctl clear marginal $B: reinstated at once"
    save $1/clear.txt pathkeeperctl clear marginal "$B"
    wait_for 10 "$B reinstated" '[ "$(mp_path_state "$W" "$B")" = A ]'
    expect "$B no longer marginal" [ "$(pk_path "$B" marginal)" = false ]
  else
    expect "pathkeeperd ($1): a path flapping at 1 Hz is marked with marginal_paths' defaults" [ "$1" != pk ]
    log "pathkeeperd: $B failed $(pk_path "$B" failures) times, never more than $2 within a minute: not marked"
  fi
  pk_stop
  map_gone
}

run_wanted() { case " $RUNS " in *" $1 "*) return 0 ;; esac; return 1; }
! run_wanted pk || pk_run pk 2
! run_wanted pk-loose || pk_run pk-loose 4 "maps:
  - {wwid: $W, marginal_paths: {failures: 4, within: 1m}}"

if run_wanted mpd; then
step "multipathd (Debian defaults) with portal B flapping"
multipathd -d -s -v3 > /results/multipathd.log 2>&1 &
MPD_PID=$!
run_flap mpd
save mpd/paths-end.txt multipathd show paths
analyse mpd "" "$(grep -c "$B: .*mark as failed\|$B: checker failed\|fail path $(devnum "$B")" /results/multipathd.log || true)" \
  "$(mp_path_state "$W" "$B")"
expect "multipathd: no I/O error, verify passed" [ "$fio_err" = 0 ]
kill "$MPD_PID" 2> /dev/null || true
wait "$MPD_PID" 2> /dev/null || true
map_gone
fi

if run_wanted mpd-san; then
step "multipathd with san_path_err_* with portal B flapping"
cat >> /etc/multipath.conf <<'CONF'
overrides {
    san_path_err_threshold 4
    san_path_err_forget_rate 30
    san_path_err_recovery_time 120
}
CONF
multipathd -d -s -v3 > /results/multipathd-san.log 2>&1 &
MPD_PID=$!
run_flap mpd-san
save mpd-san/paths-end.txt multipathd show paths
mark=$(grep -m 1 "san_path_err\|path_err\|marginal" /results/multipathd-san.log || true)
log "multipathd-san: ${mark:-no san_path_err message}"
analyse mpd-san "" "$(grep -c "$B: .*mark as failed\|$B: checker failed\|fail path $(devnum "$B")" /results/multipathd-san.log || true)" \
  "$(mp_path_state "$W" "$B")"
expect "multipathd (san_path_err): no I/O error, verify passed" [ "$fio_err" = 0 ]
kill "$MPD_PID" 2> /dev/null || true
wait "$MPD_PID" 2> /dev/null || true
map_gone
fi
cat /results/summary.txt
