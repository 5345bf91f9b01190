# Degrade, don't refuse: pathkeeperd on a host whose /var is full, then
# read-only, so that its log file (/var/log/pathkeeper/pathkeeperd.log)
# cannot be made. It must start, build the map of two scsi_debug paths, pass
# I/O (written and read back), and say why there is no log file: in
# `pathkeeperctl status`, in its JSON and in its log. A file it began on the
# full disk is emptied again (the disk is as full as before). Debian's
# multipathd is started the same way in the same guest: it logs to stderr
# (syslog without -d), so it just starts; its outcome is recorded.
# Results: summary.txt (both daemons, both cases), pk-*/ and mpd-*/.

LOG_DIR=/var/log/pathkeeper
LOG_FILE=$LOG_DIR/pathkeeperd.log
SINCE() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }
active_paths() { dmsetup status "$1" 2>/dev/null | grep -o ' [0-9]*:[0-9]* A ' | wc -l; }
var_free_kib() { df -k /var | awk 'NR == 2 {print $4}'; }

# A small /var of its own: the links the guest's init made, then the folders.
var_mount() {
  umount /var 2>/dev/null || true
  mount -t tmpfs -o size=2m,mode=0755 var /var
  mkdir -p /var/lib /var/log
  ln -sfn /run /var/run
  ln -sfn /run/lock /var/lock
}

# io_check NAME: 4 MiB of random data written through the map with O_DIRECT
# and read back the same.
io_check() {
  dd if=/dev/urandom of=/tmp/io.in bs=1M count=4 2> /dev/null
  dd if=/tmp/io.in of="/dev/mapper/$W" bs=1M oflag=direct conv=fsync 2> /dev/null
  dd if="/dev/mapper/$W" of=/tmp/io.out bs=1M count=4 iflag=direct 2> /dev/null
  cmp -s /tmp/io.in /tmp/io.out
}

# udev may still hold the new map open (blkid) when the daemon stops: tried
# until it goes.
map_gone() {
  settle
  wait_for 30 "map $W removed" 'dmsetup remove "$W" 2> /dev/null; ! dmsetup info "$W" > /dev/null 2>&1'
}

# result CASE DAEMON STARTED MAP_S IO WHY: one line of summary.txt.
result() { printf '%-10s %-12s started=%s map_s=%s io=%s why=%s\n' "$@" >> /results/summary.txt; }

# pk_case CASE REASON_TEXT: pathkeeperd with /var as the case made it.
pk_case() {
  mkdir -p "/results/pk-$1"
  free_before=$(var_free_kib)
  t0=$(now)
  pk_start "pk-$1/pathkeeperd.log" --config /etc/pathkeeper/pathkeeper.yaml
  wait_for 60 "pathkeeperd: map $W with 2 active paths" '[ "$(active_paths "$W")" -eq 2 ]'
  map_s=$(SINCE "$t0")
  log "TIMING $1: pathkeeperd start to a map of 2 active paths: $map_s s"
  wait_for 30 "/dev/mapper/$W" "test -b /dev/mapper/$W"
  expect "I/O through the map" io_check
  save "pk-$1/status.txt" pathkeeperctl status
  keep "pk-$1/status.json" pk status
  expect "status JSON: ready" [ "$(pk_status ready)" = true ]
  expect "status JSON: degraded" [ "$(pk_status degraded)" = true ]
  expect "status JSON: started without the log file" \
    [ "$(pk status | jq -r '.status.started_without[0].part')" = log_file ]
  why=$(pk status | jq -r '.status.started_without[0].reason')
  log "why: $why"
  expect "the reason says: $2" sh -c "echo \"\$1\" | grep -q \"\$2\"" - "$why" "$2"
  expect "the reason names the file or its folder" sh -c "echo \"\$1\" | grep -q '$LOG_DIR'" - "$why"
  expect "status text has a 'started without' line" grep -q "^started without: *the log file: .*$2" \
    "/results/pk-$1/status.txt"
  expect "the log says it at READY" grep -q "ready without the log file: .*$2" "/results/pk-$1/pathkeeperd.log"
  expect "the log file sink is off" [ "$(pk status | jq -r '.status.log_sinks.file.active')" = false ]
  expect "no log file with records left behind" sh -c "[ ! -s '$LOG_FILE' ]"
  expect "no block held by a half-made log file" sh -c "[ ! -e '$LOG_FILE' ] || [ \$(du -k '$LOG_FILE' | cut -f1) -eq 0 ]"
  free_after=$(var_free_kib)
  log "/var free: $free_before KiB before, $free_after KiB after"
  expect "/var has as much room as before (a half-made file gave its blocks back)" \
    [ "$free_after" -ge "$free_before" ]
  result "$1" pathkeeperd yes "$map_s" passed "$why"
  pk_stop
  map_gone
}

# mpd_case CASE: multipathd with /var as the case made it.
mpd_case() {
  mkdir -p "/results/mpd-$1"
  t0=$(now)
  multipathd -d -s -v3 > "/results/mpd-$1/multipathd.log" 2>&1 &
  MPD_PID=$!
  wait_for 60 "multipathd: map $W with 2 active paths" '[ "$(active_paths "$W")" -eq 2 ]'
  map_s=$(SINCE "$t0")
  log "TIMING $1: multipathd start to a map of 2 active paths: $map_s s"
  wait_for 30 "/dev/mapper/$W" "test -b /dev/mapper/$W"
  io=failed
  if io_check; then io=passed; fi
  save "mpd-$1/show-topology.txt" multipathd show topology
  result "$1" multipathd yes "$map_s" "$io" "logs to stderr/syslog: nothing on /var to miss"
  kill "$MPD_PID" 2>/dev/null || true
  wait "$MPD_PID" 2>/dev/null || true
  map_gone
}

step "udev, scsi_debug 2 hosts x 1 LUN"
start_udev
load_modules dm-multipath dm-service-time
scsi_debug_setup 2 1 16
A=$(scsi_debug_disks | head -1)
W=$(mp_wwid "$A")
log "LUN $W on $(scsi_debug_disks | tr '\n' ' ')"
pk_config "logging:
  file: $LOG_FILE"
: > /results/summary.txt

step "/var full: a 2 MiB tmpfs, filled to the last block"
var_mount
dd if=/dev/zero of=/var/filler bs=4k 2> /dev/null || true
save var-full-df.txt df -k /var
expect "/var is full" [ "$(var_free_kib)" -eq 0 ]

step "pathkeeperd starts with /var full"
pk_case full "No space left on device"

step "multipathd starts with /var full"
mpd_case full

step "/var read-only: room again, remounted read-only, no log folder"
rm -f /var/filler
rm -rf "$LOG_DIR"
mount -o remount,ro /var
save var-ro-mounts.txt grep ' /var ' /proc/mounts
expect "/var is read-only" sh -c "! touch /var/probe 2> /dev/null"

step "pathkeeperd starts with /var read-only"
pk_case read-only "Read-only file system"

step "multipathd starts with /var read-only"
mpd_case read-only

step "summary"
cat /results/summary.txt
umount /var
