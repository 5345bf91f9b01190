# The host around a dead map, on Debian 12's 6.1 kernel in a small guest
# (run with 768 MiB): a map over two iSCSI paths has its target frozen, a
# buffered dd writes FLOOD_MIB to the map, and HEALTHY_WAIT_S s later a
# buffered 32 MiB write (with fsync) to a healthy scsi_debug disk is timed.
# The same with pathkeeperd's dirty cap off, at its default (10%), at 1%,
# and with Debian's multipathd (which sets no BDI limit). Each run records
# the dead map's dirty and writeback pages (/proc/meminfo and the BDI's
# debugfs stats), its BDI knobs and its queue's nr_requests; one more run
# at 1% with the map's nr_requests cut to 4 by the scenario (what else
# might bound them on 6.1).
# Then the kernel backstop: with no_path_retry bounded, pathkeeperd writes
# dm_multipath's queue_if_no_path_timeout_secs (0 while a map queues
# forever); SIGKILLed, its map's queued I/O still fails at that timeout.
# Results: summary.txt (the figures), runs/<run>/ (meminfo, BDI stats, map
# state before and during the outage), pathkeeperd-*.log, multipathd.log.

FLOOD_MIB=${FLOOD_MIB:-140}
SETTLE_S=${SETTLE_S:-15}
HEALTHY_WAIT_S=${HEALTHY_WAIT_S:-40}
ISCSI_REPLACEMENT_TIMEOUT=${ISCSI_REPLACEMENT_TIMEOUT:-5}

bdi_knob() { cat "/sys/class/bdi/$DEVT/$1" 2>/dev/null || echo absent; }
bdi_stat() { awk -v k="$1:" '$1 == k {print int($2 / 1024)}' "/sys/kernel/debug/bdi/$DEVT/stats" 2>/dev/null; }
meminfo_mb() { awk -v k="$1:" '$1 == k {print int($2 / 1024)}' /proc/meminfo; }

# pages RUN WHEN: the host's and the dead map's dirty and writeback pages.
pages() {
  mkdir -p "/results/runs/$1"
  cp /proc/meminfo "/results/runs/$1/meminfo-$2.txt"
  cp "/sys/kernel/debug/bdi/$DEVT/stats" "/results/runs/$1/bdi-stats-$2.txt" 2>/dev/null || true
  log "$1 $2: host Dirty $(meminfo_mb Dirty) MiB Writeback $(meminfo_mb Writeback) MiB;" \
      "map BdiWriteback $(bdi_stat BdiWriteback) MiB BdiReclaimable $(bdi_stat BdiReclaimable) MiB" \
      "BdiDirtyThresh $(bdi_stat BdiDirtyThresh) MiB DirtyThresh $(bdi_stat DirtyThresh) MiB"
  summary "$1 ${2}_host_dirty_mib $(meminfo_mb Dirty)"
  summary "$1 ${2}_host_writeback_mib $(meminfo_mb Writeback)"
  summary "$1 ${2}_map_reclaimable_mib $(bdi_stat BdiReclaimable)"
  summary "$1 ${2}_map_writeback_mib $(bdi_stat BdiWriteback)"
}

# healthy_write RUN WHEN: times 32 MiB written, buffered then fsynced, to the
# healthy disk; gives up waiting after HEALTHY_WAIT_S (the dd goes on: it
# is reaped once the outage ends). HEALTHY_PID is the dd.
healthy_write() {
  _hw_t0=$(now)
  dd if=/dev/zero of="/dev/$H" bs=1M count=32 conv=fsync 2> /dev/null &
  HEALTHY_PID=$!
  if poll_until "$HEALTHY_WAIT_S" '! kill -0 "$HEALTHY_PID"' 0.1; then
    wait "$HEALTHY_PID" || true
    _hw_s=$(since "$_hw_t0")
    summary "$1 ${2}_healthy_32mib_s $_hw_s"
    summary "$1 ${2}_healthy_mib_per_s $(awk -v s="$_hw_s" 'BEGIN {printf "%.1f", 32 / s}')"
    HEALTHY_PID=
  else
    summary "$1 ${2}_healthy_32mib_s >${HEALTHY_WAIT_S} (not done)"
  fi
}

# outage RUN: the map is up with two active paths; the target freezes, the
# flood is written to the map, and the healthy disk is timed.
outage() {
  DEVT=$(dmsetup info -c --noheadings -o major,minor --separator : "$W")
  DM=$(dm_name "$W")
  mkdir -p "/results/runs/$1"
  summary "$1 bdi_max_ratio $(bdi_knob max_ratio)"
  summary "$1 bdi_strict_limit $(bdi_knob strict_limit)"
  # The scenario's own experiment, not the daemon's: storing nr_requests
  # freezes the queue, so it is done here while every path works.
  if [ -n "${NR_REQUESTS:-}" ]; then echo "$NR_REQUESTS" > "/sys/block/$DM/queue/nr_requests"; fi
  summary "$1 map_nr_requests $(cat "/sys/block/$DM/queue/nr_requests")"
  summary "$1 backstop_secs $(cat /sys/module/dm_multipath/parameters/queue_if_no_path_timeout_secs)"
  healthy_write "$1" before
  pages "$1" before
  target_freeze
  dd if=/dev/zero of="/dev/mapper/$W" bs=1M count="$FLOOD_MIB" 2> "/results/runs/$1/flood.log" &
  FLOOD_PID=$!
  sleep "$SETTLE_S"
  pages "$1" during
  healthy_write "$1" during
  pages "$1" after_healthy
  dmsetup status "$W" > "/results/runs/$1/dm-status-during.txt"
  target_unfreeze
  wait_for 240 "the flood written once the target is back" '! kill -0 "$FLOOD_PID"'
  wait "$FLOOD_PID" || true
  if [ -n "$HEALTHY_PID" ]; then
    wait_for 120 "the healthy write done" '! kill -0 "$HEALTHY_PID"'
    wait "$HEALTHY_PID" || true
  fi
  wait_for 120 "both paths active again" \
    '[ "$(mp_path_state "$W" "$A")" = A ] && [ "$(mp_path_state "$W" "$B")" = A ]'
  sync
}

# pk_cfg NO_PATH_RETRY DIRTY_LIMIT: the lab's quick checks and small limits.
pk_cfg() {
  mkdir -p /etc/pathkeeper
  cat > /etc/pathkeeper/pathkeeper.yaml <<YAML
timing: {polling_interval: 2s, failed_polling_interval: 1s, checker_timeout: 5s}
defaults: {no_path_retry: $1, dirty_limit: "$2"}
limits: {max_paths: 64, max_maps: 16, heap_reserve: 16MiB}
YAML
}

pk_run() {  # pk_run DIRTY_LIMIT [NR_REQUESTS]
  _run=pathkeeperd-${1%\%}
  [ "$1" = off ] || _run="${_run}pct"
  NR_REQUESTS=${2:-}
  [ -z "$NR_REQUESTS" ] || _run="${_run}-nr$NR_REQUESTS"
  step "$_run: dirty_limit $1, no_path_retry queue"
  pk_cfg queue "$1"
  pk_start "$_run.log" --config /etc/pathkeeper/pathkeeper.yaml
  wait_for 60 "map with two active paths" '[ "$(pk_map paths_active)" = 2 ]'
  if [ "$1" = off ]; then
    wait_for 30 "the cap is off" '[ "$(pk_map dirty_cap)" = off ]'
  else
    wait_for 30 "the cap written" '[ "$(pk_map dirty_cap)" = not-strict ] || [ "$(pk_map dirty_cap)" = applied ]'
    expect "max_ratio is ${1%\%}" [ "$(cat "/sys/class/bdi/$(pk_map devt)/max_ratio")" = "${1%\%}" ]
  fi
  summary "$_run dirty_cap $(pk_map dirty_cap): $(pk_map dirty_cap_note)"
  expect "backstop 0 while the map queues forever" \
    [ "$(cat /sys/module/dm_multipath/parameters/queue_if_no_path_timeout_secs)" = 0 ]
  expect "status says why" [ "$(pk status | jq -r .status.backstop.state)" = unbounded ]
  keep "runs/$_run/show-map.txt" pathkeeperctl show map "$W"
  outage "$_run"
  NR_REQUESTS=
  pk_stop
  dmsetup remove --retry "$W"
}

step "udev, a healthy scsi_debug disk, iSCSI with two portals ($(meminfo_mb MemTotal) MiB guest)"
start_udev
load_modules dm-multipath dm-service-time
mount -t debugfs debugfs /sys/kernel/debug 2> /dev/null || true
scsi_debug_setup 1 1 64
H=$(scsi_debug_disks | head -n 1)
iscsi_setup_preallocated $((FLOOD_MIB + 20))
A=$(iscsi_disk 127.0.0.1)
B=$(iscsi_disk 127.0.0.2)
W=$(mp_wwid "$A")
summary "kernel $(uname -r)"
summary "guest_mem_available_mib $(meminfo_mb MemAvailable)"
summary "vm_dirty_ratio $(cat /proc/sys/vm/dirty_ratio) vm_dirty_background_ratio $(cat /proc/sys/vm/dirty_background_ratio)"
log "healthy disk $H; paths $A $B; WWID $W"

for limit in off 10% 1%; do pk_run "$limit"; done
# What else might bound the dead map's pages on 6.1: its queue's depth.
pk_run 1% 4

step "multipathd (multipath-tools' defaults for the BDI: nothing set), no_path_retry queue"
mkdir -p /etc/multipath
cat > /etc/multipath.conf <<CONF
defaults {
    find_multipaths "no"
    user_friendly_names "no"
    polling_interval 2
    max_polling_interval 2
    checker_timeout 5
    no_path_retry "queue"
}
blacklist {
    device {
        vendor "Linux"
        product "scsi_debug"
    }
}
CONF
multipathd -d -s -v2 > /results/multipathd.log 2>&1 &
MPD_PID=$!
wait_for 60 "multipathd: map with two active paths" \
  '[ "$(mp_path_state "$W" "$A")" = A ] && [ "$(mp_path_state "$W" "$B")" = A ]'
outage multipathd
stop_process "$MPD_PID"
dmsetup remove --retry "$W"

step "backstop: no_path_retry 10s, polling 2 s, checker_timeout 5 s: 10 + 2 + 5 + 5 = 22 s"
pk_cfg 10s 10%
pk_start pathkeeperd-backstop.log --config /etc/pathkeeper/pathkeeper.yaml
wait_for 60 "map with two active paths" '[ "$(pk_map paths_active)" = 2 ]'
BACKSTOP=$(cat /sys/module/dm_multipath/parameters/queue_if_no_path_timeout_secs)
summary "backstop written_secs $BACKSTOP ($(pk status | jq -r .status.backstop.reason))"
expect "the backstop is the bound plus the margin" [ "$BACKSTOP" = 22 ]
expect "status says bounded" [ "$(pk status | jq -r .status.backstop.state)" = bounded ]
keep runs/backstop/status.txt pathkeeperctl status

step "backstop: pathkeeperd SIGKILLed, target frozen, a direct write to the map"
kill -KILL "$PK_PID"
wait "$PK_PID" 2> /dev/null || true
target_freeze
t_write=$(now)
dd if=/dev/zero of="/dev/mapper/$W" bs=4k count=1 oflag=direct 2> /results/runs/backstop-dd.log &
DD_PID=$!
wait_for 120 "both paths failed by the kernel" \
  '[ "$(mp_path_state "$W" "$A")" = F ] && [ "$(mp_path_state "$W" "$B")" = F ]'
t_failed=$(now)
summary "backstop paths_failed_after_s $(since "$t_write")"
expect "the map queues (no daemon to stop it)" sh -c "dmsetup table '$W' | grep -q queue_if_no_path"
if poll_until $((BACKSTOP + 30)) '! kill -0 "$DD_PID"' 0.2; then
  t_end=$(now)
  if wait "$DD_PID"; then rc=0; else rc=$?; fi
  summary "backstop queued_write_ended_after_last_path_s $(since "$t_failed" "$t_end") (dd status $rc)"
  expect "the queued write failed" [ "$rc" -ne 0 ]
  expect "it failed at the backstop, not before" \
    awk -v d="$(since "$t_failed" "$t_end")" -v b="$BACKSTOP" 'BEGIN {exit !(d >= b - 1 && d <= b + 10)}'
  expect "queueing is off in the kernel" sh -c "! dmsetup table '$W' | grep -q queue_if_no_path"
else
  fail "the queued write still hangs $((BACKSTOP + 30)) s after the last path failed"
fi
target_unfreeze
dmesg | grep -i "queue_if_no_path timeout" > /results/runs/backstop-dmesg.txt || true
