# A map follows the array's ALUA states: LIO in the guest (one LUN, two
# tcm_loop ports, tpg_a and tpg_b) changes which port is active/optimized
# while fio writes with verify through the map; a sampler (dm-sampler) reads
# the map's status every 50 ms and shows which path group carries I/O. Run
# for Debian's multipathd (prio alua, group_by_prio, failback immediate), then
# for pathkeeperd (defaults), in the same guest on the same disks, both
# checking every 2 s:
#  a. tpg_a A/O, tpg_b standby: the map has 2 paths, I/O goes through port a;
#  b. tpg_a -> standby, tpg_b -> A/O, held HOLD_SECONDS;
#  c. back: tpg_b -> standby, tpg_a -> A/O, held HOLD_SECONDS;
#  d. tpg_a transitioning TRANSITION_SECONDS, then tpg_a -> standby and
#     tpg_b -> A/O at once, held HOLD_SECONDS.
# For each flip: follow time (from the configfs write to the first sample
# whose active group holds the optimized port's usable path and no usable
# standby path) and violations after it (the active group holding a usable
# standby or unavailable path while a port is active). pathkeeperd must follow
# each flip within one polling interval + 1 s with no violation, and fio must
# run through all flips and end, while the daemon runs, with no error and its
# verify passed (if fio has not ended FIO_GRACE_SECONDS after the flips, the
# daemon is stopped so that it can); multipathd's figures are recorded.
# Before the daemons: what the host sees of each state with no daemon (TUR
# sense, the handler's access_state, uevents).
# Results: lio/ (ports, VPD, RTPG, probe), multipathd/ and pathkeeperd/
# (samples.txt, events.txt, follow.txt, violations.txt, uevents.txt,
# table-before/after.txt, the daemon's log and view), fio-*.txt, summary.txt.

HOLD_SECONDS=${HOLD_SECONDS:-20}
TRANSITION_SECONDS=${TRANSITION_SECONDS:-10}
POLL_SECONDS=2
FOLLOW_LIMIT_MS=$(((POLL_SECONDS + 1) * 1000))
# fio writes at a fixed rate for longer than the flips take (about 75 s):
# 56 MiB at 512 KiB/s is about 110 s.
FIO_MB=${FIO_MB:-56}
FIO_RATE=${FIO_RATE:-512k}
# After the last flip: the rest of the writes (about 35 s) and the verify.
FIO_GRACE_SECONDS=${FIO_GRACE_SECONDS:-90}

summary() { echo "$*" >> /results/summary.txt; log "SUMMARY $*"; }

step "udev; LIO array: one fileio LUN, ports a (tpg_a, A/O) and b (tpg_b, standby)"
start_udev
load_modules dm-multipath dm-service-time dm-round-robin dm-queue-length
lio_alua_setup 64
A=$LIO_DISK_A
B=$LIO_DISK_B
W=$(mp_wwid "$A")
log "port a: $A ($LIO_DEVT_A), port b: $B ($LIO_DEVT_B), WWID $W"
save lio/inquiry.txt sg_inq "/dev/$A"
save lio/vpd-di-a.txt sg_vpd -p di "/dev/$A"
save lio/vpd-di-b.txt sg_vpd -p di "/dev/$B"
save lio/rtpg.txt sg_rtpg -d "/dev/$A"
expect "$A: the handler says active/optimized" \
  [ "$(cat "/sys/block/$A/device/access_state")" = active/optimized ]
expect "$B: the handler says standby" [ "$(cat "/sys/block/$B/device/access_state")" = standby ]

# --- What the host sees, with no daemon and no map ----------------------------

# probe STATE: tpg_a goes to STATE; three TURs on its disk (sense shown), the
# handler's access_state before and after. No I/O but ours reaches the disk.
probe() {
  _pb_name=$(lio_state_name "$1" | tr / -)
  _pb_before=$(lio_access_states)
  lio_set_state a "$1"
  {
    echo "tpg_a -> $1 ($(lio_state_name "$1"))"
    echo "access_state right after the write: $_pb_before-> $(lio_access_states)"
    for _pb_i in 1 2 3; do
      _pb_rc=0
      sg_turs -v "/dev/$A" > /tmp/probe-tur 2>&1 || _pb_rc=$?
      echo "TUR $_pb_i on $A: exit $_pb_rc; access_state now $(lio_access_states)"
      sed 's/^/    /' /tmp/probe-tur
    done
    sleep 1
    echo "access_state 1 s later: $(lio_access_states)"
    _pb_rc=0
    sg_rtpg -d "/dev/$A" > /tmp/probe-rtpg 2>&1 || _pb_rc=$?
    echo "RTPG on $A: exit $_pb_rc"
    sed 's/^/    /' /tmp/probe-rtpg
  } > "/results/lio/probe-$_pb_name.txt" 2>&1
  sed 's/^/  /' "/results/lio/probe-$_pb_name.txt"
}

step "probe: TUR sense, access_state and uevents for each state of tpg_a (no daemon)"
udevadm monitor --kernel --property > /results/lio/uevents-probe.txt 2>&1 &
UMON_PID=$!
sleep 1
LIO_EVENTS=/results/lio/events-probe.txt
for s in 2 3 15 1 0; do probe "$s"; done
sleep 1
kill "$UMON_PID" 2>/dev/null || true
wait "$UMON_PID" 2>/dev/null || true
summary "probe: SDEV_UA uevents: $(grep -c '^SDEV_UA=' /results/lio/uevents-probe.txt || true)," \
  "$(grep '^SDEV_UA=' /results/lio/uevents-probe.txt | sort | uniq -c | awk '{printf "%s x%s ", $2, $1}')"
for s in 2 3 15 1 0; do
  f=/results/lio/probe-$(lio_state_name "$s" | tr / -).txt
  summary "probe: tpg_a $(lio_state_name "$s"): TUR exits $(sed -n 's/^TUR [0-9] on [^:]*: exit \([0-9]*\);.*/\1/p' "$f" | tr '\n' ' ')" \
    "access_state after: $(sed -n 's/^access_state 1 s later: //p' "$f")"
done
wait_for 10 "$A back to active/optimized" '[ "$(cat /sys/block/$A/device/access_state)" = active/optimized ]'

# --- One daemon through the flips ------------------------------------------------

# array_reset: tpg_a A/O, tpg_b standby, and the handler knows it.
array_reset() {
  [ "$(lio_state a)" = 0 ] || lio_set_state a 0
  [ "$(lio_state b)" = 2 ] || lio_set_state b 2
  sg_turs "/dev/$A" > /dev/null 2>&1 || true
  sg_turs "/dev/$B" > /dev/null 2>&1 || true
  wait_for 20 "the handler: $A active/optimized, $B standby" \
    '[ "$(cat /sys/block/$A/device/access_state)" = active/optimized ] && [ "$(cat /sys/block/$B/device/access_state)" = standby ]'
}

# fio_end NAME: waits for fio (its writes, then its verify) up to
# FIO_GRACE_SECONDS; if it is still running the daemon is stopped, so that a
# map that keeps switching to a standby port settles on the port that works
# and fio can finish (its verify still covers every block written during the
# flips); after another 180 s the map stops queueing and fio is stopped.
# Sets FIO_ERR (fio's err=, or "none"), FIO_VERIFY (passed/failed),
# FIO_IN_TIME (yes: done with the daemon running).
fio_end() {
  FIO_IN_TIME=yes
  if ! fio_wait_s "$FIO_GRACE_SECONDS"; then
    FIO_IN_TIME=no
    log "fio $1 still running ${FIO_GRACE_SECONDS}s after the flips: $1 is stopped so that fio can end"
    daemon_stop "$1"
    if ! fio_wait_s 180; then
      log "fio $1 still running: the map stops queueing, fio is stopped"
      dmsetup message "$W" 0 fail_if_no_path || true
      kill "$FIO_PID" 2>/dev/null || true
    fi
  fi
  if fio_finish; then FIO_VERIFY=passed; else FIO_VERIFY=failed; fi
  FIO_ERR=$(sed -n 's/.*err= *\([0-9]*\).*/\1/p' "/results/fio-$1.txt" | head -n 1)
  FIO_ERR=${FIO_ERR:-none}
}

# fio_wait_s S: fio has ended, or S seconds have passed (status 1).
fio_wait_s() {
  _fw_end=$(($(cut -d. -f1 /proc/uptime) + $1))
  while kill -0 "$FIO_PID" 2>/dev/null; do
    [ "$(cut -d. -f1 /proc/uptime)" -lt "$_fw_end" ] || return 1
    sleep 1
  done
}

# daemon_start NAME / daemon_stop NAME (stopping twice is harmless).
daemon_start() {
  case $1 in
    multipathd)
      multipathd -d -s -v3 > /results/multipathd/multipathd.log 2>&1 &
      MPD_PID=$! ;;
    pathkeeperd)
      pk_start pathkeeperd/pathkeeperd.log --config /etc/pathkeeper/pathkeeper.yaml ;;
  esac
}
daemon_stop() {
  case $1 in
    multipathd) _ds_pid=$MPD_PID ;;
    pathkeeperd) _ds_pid=$PK_PID ;;
  esac
  kill "$_ds_pid" 2>/dev/null || true
  wait "$_ds_pid" 2>/dev/null || true
}

# flips NAME: a. to d. above, measured. The daemon runs and has made the map.
flips() {
  _fl=/results/$1
  LIO_EVENTS=$_fl/events.txt
  : > "$LIO_EVENTS"
  save "$1/table-before.txt" dmsetup table "$W"
  save "$1/status-before.txt" dmsetup status "$W"
  mp_sampler_start "$W" "$_fl/samples.txt"
  lio_mark a-start
  fio_start "$1" "/dev/mapper/$W" --size="${FIO_MB}M" --rate="$FIO_RATE"
  wait_for 30 "I/O through port a ($LIO_DEVT_A in the active group)" \
    'mp_active_paths "$W" | grep -qx "$LIO_DEVT_A"'
  sleep 3

  step "$1: b. tpg_a -> standby, tpg_b -> A/O, held ${HOLD_SECONDS}s"
  lio_mark b-flip
  lio_set_state a 2
  lio_set_state b 0
  sleep "$HOLD_SECONDS"
  log "active group now: $(mp_active_paths "$W" | tr '\n' ' ') handler: $(lio_access_states)"

  step "$1: c. back: tpg_b -> standby, tpg_a -> A/O, held ${HOLD_SECONDS}s"
  lio_mark c-flip-back
  lio_set_state b 2
  lio_set_state a 0
  sleep "$HOLD_SECONDS"
  log "active group now: $(mp_active_paths "$W" | tr '\n' ' ') handler: $(lio_access_states)"

  step "$1: d. tpg_a transitioning ${TRANSITION_SECONDS}s, then tpg_a -> standby and tpg_b -> A/O, held ${HOLD_SECONDS}s"
  lio_mark d-transitioning
  lio_set_state a 15
  sleep "$TRANSITION_SECONDS"
  log "after transitioning: $(dmsetup status "$W") handler: $(lio_access_states)"
  lio_mark d-flip
  lio_set_state a 2
  lio_set_state b 0
  sleep "$HOLD_SECONDS"
  lio_mark end
  log "active group now: $(mp_active_paths "$W" | tr '\n' ' ') handler: $(lio_access_states)"
  if kill -0 "$FIO_PID" 2>/dev/null; then FIO_COVERED=yes; else FIO_COVERED=no; fi
  save "$1/table-after.txt" dmsetup table "$W"
  save "$1/status-after.txt" dmsetup status "$W"

  step "$1: fio ends (write phase, then verify)"
  fio_end "$1"
  mp_sampler_stop
  alua_follow_analyse "$LIO_EVENTS" "$_fl/samples.txt" /results/lio-ports.txt "$_fl/follow.txt" \
    > "$_fl/violations.txt"
  sed 's/^/  /' "$_fl/follow.txt"
  head -n 10 "$_fl/violations.txt" | sed 's/^/  /'
  log "$1: $(wc -l < "$_fl/violations.txt") violation runs in all ($1/violations.txt)"
  {
    echo "fio_err $FIO_ERR"
    echo "fio_verify $FIO_VERIFY"
    echo "fio_covered_all_flips $FIO_COVERED"
    echo "fio_done_with_daemon_running $FIO_IN_TIME"
    echo "violation_runs $(wc -l < "$_fl/violations.txt")"
  } > "$_fl/fio.txt"
}

# uevents_start NAME / uevents_stop NAME: the kernel's uevents meanwhile.
uevents_start() {
  udevadm monitor --kernel --property > "/results/$1/uevents.txt" 2>&1 &
  UMON_PID=$!
}
uevents_stop() {
  kill "$UMON_PID" 2>/dev/null || true
  wait "$UMON_PID" 2>/dev/null || true
  for _ue in SDEV_UA=ASYMMETRIC_ACCESS_STATE_CHANGED DM_ACTION=PATH_FAILED DM_ACTION=PATH_REINSTATED; do
    echo "uevents_${_ue#*=} $(grep -c "^$_ue\$" "/results/$1/uevents.txt" || true)"
  done >> "/results/$1/fio.txt"
}

# map_gone: the daemon is stopped; the map is removed for the next one
# (queued I/O, if any, fails first so that nothing holds it). Without waiting
# for udev: a map whose path failed and returned thousands of times leaves
# udev minutes of dm change events to work through.
map_gone() {
  if dmsetup info "$W" > /dev/null 2>&1; then
    dmsetup message "$W" 0 fail_if_no_path || true
    udevadm settle --timeout=30 || log "udev still busy after 30 s"
    dmsetup remove --noudevsync --retry "$W"
  fi
  udevadm settle --timeout=30 || log "udev still busy after 30 s"
}

step "multipathd: LIO-ORG with prio alua, group_by_prio, failback immediate, polling 2 s"
mkdir -p /results/multipathd /etc/multipath
cat > /etc/multipath.conf <<CONF
defaults {
    find_multipaths "no"
    user_friendly_names "no"
    polling_interval $POLL_SECONDS
    max_polling_interval $POLL_SECONDS
    checker_timeout 5
    no_path_retry "queue"
}
devices {
    device {
        vendor "LIO-ORG"
        product ".*"
        path_grouping_policy "group_by_prio"
        path_checker "tur"
        prio "alua"
        failback "immediate"
        hardware_handler "1 alua"
        no_path_retry "queue"
        # prio alua as written (RTPG at each check); with detect_prio yes
        # multipathd would pick prio sysfs (the handler's access_state).
        detect_prio "no"
    }
}
blacklist {
    devnode "^(ram|loop|nbd|zram)[0-9]*"
}
CONF
cp /etc/multipath.conf /results/multipathd/multipath.conf
array_reset
uevents_start multipathd
daemon_start multipathd
wait_for 60 "multipathd: map $W with 2 paths" '[ "$(mp_paths "$W")" -eq 2 ]'
settle
wait_for 30 "/dev/mapper/$W" "test -b /dev/mapper/$W"
save multipathd/show-topology-before.txt multipathd show topology
flips multipathd
[ "$FIO_IN_TIME" = no ] || save multipathd/show-topology-after.txt multipathd show topology
step "multipathd stops, its map is removed"
uevents_stop multipathd
daemon_stop multipathd
map_gone

step "pathkeeperd: defaults, polling 2 s"
mkdir -p /results/pathkeeperd
array_reset
uevents_start pathkeeperd
pk_config
cp /etc/pathkeeper/pathkeeper.yaml /results/pathkeeperd/pathkeeper.yaml
daemon_start pathkeeperd
wait_for 60 "pathkeeperd: map $W with 2 paths" '[ "$(mp_paths "$W")" -eq 2 ]'
settle
wait_for 30 "/dev/mapper/$W" "test -b /dev/mapper/$W"
keep pathkeeperd/topology-before.txt pathkeeperctl show topology
keep pathkeeperd/paths-before.json pk show paths
flips pathkeeperd
if [ "$FIO_IN_TIME" = yes ]; then
  keep pathkeeperd/topology-after.txt pathkeeperctl show topology
  keep pathkeeperd/paths-after.json pk show paths
  keep pathkeeperd/status-after.json pk status
fi
step "pathkeeperd stops, its map is removed"
uevents_stop pathkeeperd
daemon_stop pathkeeperd
map_gone

step "LIO removed"
lio_teardown

step "side by side"
# field FILE WINDOW KEY: KEY=VALUE of WINDOW's line in a follow.txt
field() { awk -v w="$2" -v k="$3" '$1 == w {for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2)}' "$1"; }
fact() { awk -v k="$2" '$1 == k {print $2}' "$1"; }
table_line() {
  summary "$(printf '%-40s %-12s %-12s' "$1" "$2" "$3")"
}
table_line "" multipathd pathkeeperd
for w in b-flip c-flip-back d-transitioning d-flip; do
  for k in follow_ms settled_ms violations violation_ms allfailed_ms path_fails write_stall_ms; do
    table_line "$w $k" "$(field /results/multipathd/follow.txt "$w" "$k")" \
      "$(field /results/pathkeeperd/follow.txt "$w" "$k")"
  done
done
for k in fio_err fio_verify fio_covered_all_flips fio_done_with_daemon_running violation_runs \
  uevents_ASYMMETRIC_ACCESS_STATE_CHANGED uevents_PATH_FAILED uevents_PATH_REINSTATED; do
  table_line "$k" "$(fact /results/multipathd/fio.txt "$k")" "$(fact /results/pathkeeperd/fio.txt "$k")"
done
# The first violations of each daemon (all of them: <daemon>/violations.txt).
for d in multipathd pathkeeperd; do
  head -n 10 "/results/$d/violations.txt" | sed "s/^/$d: /" >> /results/summary.txt
done

step "verdict: pathkeeperd follows each flip within ${FOLLOW_LIMIT_MS} ms, no violation, fio clean"
PK=/results/pathkeeperd
bad=0
for w in b-flip c-flip-back d-flip; do
  f=$(field $PK/follow.txt "$w" follow_ms)
  v=$(field $PK/follow.txt "$w" violations)
  if [ -n "$f" ] && [ "$f" != - ] && [ "$f" -le "$FOLLOW_LIMIT_MS" ]; then
    log "ok: $w followed in $f ms"
  else
    log "NOT OK: $w follow time '$f' ms (limit $FOLLOW_LIMIT_MS)"; bad=1
  fi
  if [ "$v" = 0 ]; then
    log "ok: $w no violation after the follow point"
  else
    log "NOT OK: $w $v violating samples ($(field $PK/follow.txt "$w" violation_ms) ms)"; bad=1
  fi
done
for kv in fio_err:0 fio_verify:passed fio_covered_all_flips:yes fio_done_with_daemon_running:yes; do
  got=$(fact $PK/fio.txt "${kv%%:*}")
  if [ "$got" = "${kv#*:}" ]; then log "ok: ${kv%%:*} $got"; else log "NOT OK: ${kv%%:*} $got"; bad=1; fi
done
[ "$bad" -eq 0 ] || fail "pathkeeperd does not follow the array's ALUA states (see summary.txt)"
