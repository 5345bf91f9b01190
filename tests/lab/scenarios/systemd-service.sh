# pathkeeperd as the system service it is shipped as: `meson install`'s units,
# enabled with systemctl, in a Debian guest booted with systemd as PID 1
# (tests/lab/systemd/). Runs under bash with the lab library
# (tests/lab/systemd/guest/lib-systemd.sh).
#
# - READY reached at boot, with the capabilities and sandbox of the unit
# - the D-Bus policy: nobody reads, only root changes state
# - systemctl reload reconfigures, and a file that does not load changes nothing
# - a SIGKILL'd daemon is restarted by systemd while a map queues with no
#   path: the queued write completes, without error, once the paths return
# - a stalled loop (a test-only LD_PRELOAD library stalls it) is caught by
#   the watchdog while the control socket still answers, and restarted
# - with the daemon stopped, the shutdown companion's script switches
#   queueing off through device-mapper itself
# - systemctl poweroff with a mounted, queueing map that has no path
#   completes (the host times it: tests/lab/systemd/run-guest)
#
# LAB_NO_STOP_QUEUEING=1 takes the shutdown companion's stop away before the
# power-off, to see what happens without it (run by hand with a long
# --poweroff-limit).

UNIT=pathkeeperd.service
CONF=/usr/local/etc/pathkeeper/pathkeeper.yaml
[ -f "$CONF" ] || CONF=$(ls /etc/pathkeeper/pathkeeper.yaml /usr/etc/pathkeeper/pathkeeper.yaml 2>/dev/null | head -1)

map_queues_in_kernel() { dmsetup table "$MAP" | grep -q queue_if_no_path; }
both_failed() { [ "$(mp_path_state "$MAP" "$D1")" = F ] && [ "$(mp_path_state "$MAP" "$D2")" = F ]; }
# secs_since T0: seconds since T0 (an uptime), two decimals.
secs_since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }

step "pathkeeperd.service started at boot and said READY"
pk_wait_ready 90
save sd/status-at-boot.txt systemctl status --no-pager --lines=5 "$UNIT"
keep sd/unit.txt systemctl cat "$UNIT"
expect "the lab's drop-in is in force (a refused system call kills)" \
  grep -q 'SystemCallErrorNumber=kill' /results/sd/unit.txt
expect "Type=notify, active (running)" \
  [ "$(unit_prop $UNIT Type)/$(unit_prop $UNIT SubState)" = notify/running ]
log "STATUS=: $(unit_prop $UNIT StatusText)"
expect "the daemon says what it is doing (STATUS=)" [ -n "$(unit_prop $UNIT StatusText)" ]
expect "its shutdown companion is active" \
  [ "$(unit_prop pathkeeperd-shutdown.service ActiveState)" = active ]
expect "the D-Bus alias exists (enabled unit)" \
  [ "$(unit_prop dbus-org.pathkeeper.PathKeeper1.service Id)" = "$UNIT" ]
PID=$(pk_main_pid)
save sd/proc-status.txt grep -E '^(Cap|NoNewPrivs|Seccomp|VmLck)' "/proc/$PID/status"
# CAP_NET_ADMIN 12, CAP_IPC_LOCK 14, CAP_SYS_ADMIN 21, CAP_SYS_RESOURCE 24.
expect "bounding set: exactly SYS_ADMIN, IPC_LOCK, SYS_RESOURCE, NET_ADMIN" \
  grep -qx 'CapBnd:	0000000001205000' "/proc/$PID/status"
expect "effective: the same" grep -qx 'CapEff:	0000000001205000' "/proc/$PID/status"
expect "no new privileges" grep -qx 'NoNewPrivs:	1' "/proc/$PID/status"
expect "a seccomp filter" grep -qx 'Seccomp:	2' "/proc/$PID/status"
expect "oom_score_adj -1000" [ "$(cat "/proc/$PID/oom_score_adj")" = -1000 ]
expect "memory locked" [ "$(awk '/^VmLck/ {print $2}' "/proc/$PID/status")" -gt 1024 ]
# Execution is refused by the file system in the daemon's namespace: a shell
# cannot run there, its own tools can.
if nsenter -t "$PID" -m /bin/true 2> /results/sd/nsenter.err; then
  fail "/bin/true runs in pathkeeperd's mount namespace"
fi
log "ok: /bin/true cannot run in pathkeeperd's mount namespace: $(cat /results/sd/nsenter.err)"
expect "its own pathkeeperctl can" nsenter -t "$PID" -m /usr/local/sbin/pathkeeperctl --version
expect "its log file, in the directory the unit lets it write" \
  sh -c 'ls /var/log/pathkeeper/pathkeeperd.log /var/local/log/pathkeeper/pathkeeperd.log 2> /dev/null | grep -q .'
expect "ready, no page fault since READY" \
  [ "$(pk_status ready)/$(pk_status minor_faults_since_ready)" = true/0 ]

step "scsi_debug, 2 hosts x 1 LUN: a map of two active paths"
scsi_debug_setup 2 1 64
D1=$(scsi_debug_disks | sed -n 1p)
D2=$(scsi_debug_disks | sed -n 2p)
wait_for 60 "a map with two active paths" '[ "$(pk_map paths_active)" = 2 ]'
MAP=$(pk_map name)
log "map $MAP over $D1 and $D2"
wait_for 10 "StatusText counts the paths" 'unit_prop $UNIT StatusText | grep -q "2 paths in 1 map: 2 up, 0 down"'
save sd/topology.txt pathkeeperctl show topology

step "D-Bus: everyone may read, only root may change state (the installed bus policy)"
BUS_NAME=org.pathkeeper.PathKeeper1
BUS_PATH=/org/pathkeeper/PathKeeper1
if grep -q "$BUS_NAME" /usr/local/sbin/pathkeeperd; then
  wait_for 30 "pathkeeperd on the system bus" "busctl --system status $BUS_NAME"
  as_nobody() { runuser -u nobody -- "$@"; }
  save sd/dbus-tree.txt as_nobody busctl --system tree "$BUS_NAME"
  expect "a map object, seen by nobody" grep -q "$BUS_PATH/map/" /results/sd/dbus-tree.txt
  expect "nobody reads a property" \
    [ "$(as_nobody busctl --system get-property $BUS_NAME $BUS_PATH $BUS_NAME.Manager Ready)" = "b true" ]
  expect "nobody reads the topology" as_nobody busctl --system call $BUS_NAME $BUS_PATH $BUS_NAME.Manager GetTopologyJSON
  if as_nobody busctl --system call $BUS_NAME $BUS_PATH $BUS_NAME.Manager Reconfigure 2> /results/sd/dbus-denied.txt; then
    fail "nobody could call Reconfigure"
  fi
  log "nobody's Reconfigure: $(cat /results/sd/dbus-denied.txt)"
  # The bus daemon refused it, before pathkeeperd saw it.
  wait_for 10 "dbus-daemon says it rejected the call" \
    "journalctl -b --no-pager -o cat _COMM=dbus-daemon | grep 'Rejected send message' | grep -q 'member=.Reconfigure.'"
  expect "root may call it" busctl --system call $BUS_NAME $BUS_PATH $BUS_NAME.Manager Reconfigure
  RECONFIGURES_BEFORE=1
else
  log "SKIPPED: this pathkeeperd has no D-Bus service"
  RECONFIGURES_BEFORE=0
fi

step "systemctl reload reconfigures: no_path_retry queue"
expect "no_path_retry is 5m before" [ "$(pk_map no_path_retry.mode)" = time ]
cp "$CONF" /tmp/pathkeeper.yaml.before
printf 'defaults:\n  no_path_retry: queue\n' >> "$CONF"
systemctl reload "$UNIT"
wait_for 5 "no_path_retry queue in the daemon" '[ "$(pk_map no_path_retry.mode)" = queue ]'
expect "one more reconfigure" [ "$(pk_status reconfigures)" = $((RECONFIGURES_BEFORE + 1)) ]
expect "the same daemon" [ "$(pk_main_pid)" = "$PID" ]

step "a file that does not load: systemctl reload fails, the running configuration stays"
cp "$CONF" /tmp/pathkeeper.yaml.good
printf 'timing:\n  polling_interval: often\n' >> "$CONF"
if systemctl reload "$UNIT" 2> /results/sd/reload-refused.txt; then
  fail "systemctl reload succeeded with a file that does not load"
fi
log "ok: systemctl reload failed: $(head -c 300 /results/sd/reload-refused.txt)"
save sd/reload-refused-journal.txt sh -c "journalctl -u $UNIT -n 5 --no-pager -o cat"
expect "still active, the same daemon" \
  [ "$(unit_prop $UNIT ActiveState)/$(pk_main_pid)" = "active/$PID" ]
expect "still no_path_retry queue" [ "$(pk_map no_path_retry.mode)" = queue ]
expect "the refusal is the daemon's last error" [ -n "$(pk_status last_error)" ]
cp /tmp/pathkeeper.yaml.good "$CONF"

step "both paths offline: the map queues with no path"
head -c 8388608 /dev/urandom > /tmp/data
scsi_offline "$D1"
scsi_offline "$D2"
wait_for 30 "both paths failed in DM" both_failed
expect "the kernel queues (queue_if_no_path)" map_queues_in_kernel
# STATUS= follows the paths: systemctl status tells an operator at a glance.
wait_for 10 "StatusText counts the paths down and the map queueing" \
  'unit_prop $UNIT StatusText | grep -q "0 up, 2 down; 1 map queueing I/O with no path"'
log "STATUS=: $(unit_prop $UNIT StatusText)"
# journald indexes who a record is about: the map's failures by its field.
wait_for 10 "journald finds the failures by PATHKEEPER_MAP=$MAP" \
  "journalctl --no-pager -o cat PATHKEEPER_MAP=$MAP | grep -qE 'failing $D1|kernel failed path'"
save sd/journal-map.txt journalctl --no-pager -o verbose -n 1 PATHKEEPER_MAP="$MAP" PATHKEEPER_PATH="$D2"
expect "a record about $D2 carries its map, path and WWID" \
  sh -c "grep -q 'PATHKEEPER_WWID=' /results/sd/journal-map.txt && grep -q 'PATHKEEPER_PATH=$D2' /results/sd/journal-map.txt"
dd if=/tmp/data of="/dev/mapper/$MAP" bs=1M oflag=direct 2> /results/sd/writer.err &
WRITER=$!
sleep 3
expect "the write waits in the queue" kill -0 "$WRITER"

step "SIGKILL: systemd restarts pathkeeperd, the new one adopts the map, nothing fails"
journal_mark /tmp/cursor-kill
# shellcheck disable=SC2034  # read in wait_for's eval
RESTARTS=$(pk_restarts)
t0=$(now)
kill -KILL "$PID"
wait_for 30 "systemd restarted pathkeeperd" \
  '[ "$(pk_restarts)" -gt "$RESTARTS" ] && [ "$(pk_main_pid)" != 0 ] && [ "$(pk_main_pid)" != "$PID" ]'
pk_wait_ready 60
log "killed -> READY again: $(secs_since "$t0") s"
PID=$(pk_main_pid)
expect "the map still queues" map_queues_in_kernel
expect "the write still waits" kill -0 "$WRITER"
save sd/journal-after-kill.txt journal_since /tmp/cursor-kill "$UNIT"
expect "the new daemon adopted the map" grep -q "adopted $MAP" /results/sd/journal-after-kill.txt
t0=$(now)
scsi_online "$D1"
scsi_online "$D2"
wait_for 60 "two active paths again" '[ "$(pk_map paths_active)" = 2 ]'
if ! wait "$WRITER"; then
  cat /results/sd/writer.err
  fail "the queued write failed"
fi
log "ok: the queued write completed without error $(secs_since "$t0") s after the paths returned"
dd if="/dev/mapper/$MAP" of=/tmp/data.back bs=1M count=8 iflag=direct 2> /dev/null
expect "the data reads back" cmp /tmp/data /tmp/data.back

step "a stalled loop: the watchdog catches it while the control socket answers"
mkdir -p /run/systemd/system/$UNIT.d
cat > /run/systemd/system/$UNIT.d/lab-stall.conf <<'EOF'
[Service]
WatchdogSec=5s
Environment=LD_PRELOAD=/usr/lib/pathkeeper-lab/stall-loop.so
ExecPaths=/usr/lib/pathkeeper-lab
EOF
systemctl daemon-reload
systemctl restart "$UNIT"
pk_wait_ready 60
wait_for 60 "two active paths" '[ "$(pk_map paths_active)" = 2 ]'
PID=$(pk_main_pid)
journal_mark /tmp/cursor-stall
t0=$(now)
touch /run/pathkeeper/lab-stall-loop
wait_for 10 "the loop took the trigger" '[ ! -e /run/pathkeeper/lab-stall-loop ]'
sleep 1
expect "the control socket answers while the loop is stalled" pathkeeperctl --timeout 2 status > /dev/null
wait_for 60 "a new pathkeeperd after the watchdog" \
  '[ "$(pk_main_pid)" != "$PID" ] && [ "$(pk_main_pid)" != 0 ]'
log "loop stalled -> new daemon: $(secs_since "$t0") s (WatchdogSec=5s)"
pk_wait_ready 60
save sd/journal-watchdog.txt journal_since /tmp/cursor-stall "$UNIT"
expect "systemd says why: a watchdog timeout" grep -qi 'watchdog timeout' /results/sd/journal-watchdog.txt
wait_for 60 "two active paths" '[ "$(pk_map paths_active)" = 2 ]'
rm /run/systemd/system/$UNIT.d/lab-stall.conf
systemctl daemon-reload
systemctl restart "$UNIT"
pk_wait_ready 60

step "no daemon: the shutdown companion's script tells device-mapper itself"
STOP_QUEUEING=$(unit_prop pathkeeperd-shutdown.service ExecStop | sed -n 's/.*path=\([^ ;]*\).*/\1/p')
log "ExecStop of pathkeeperd-shutdown.service: $STOP_QUEUEING"
systemctl stop "$UNIT"
expect "a stopped daemon leaves the map queueing" map_queues_in_kernel
expect "the companion stays active" [ "$(unit_prop pathkeeperd-shutdown.service ActiveState)" = active ]
save sd/stop-queueing-without-daemon.txt "$STOP_QUEUEING"
expect "it switched queueing off on the map" sh -c "! dmsetup table '$MAP' | grep -q queue_if_no_path"
dmsetup message "$MAP" 0 queue_if_no_path
systemctl start "$UNIT"
pk_wait_ready 60
wait_for 60 "two active paths" '[ "$(pk_map paths_active)" = 2 ]'
expect "queueing again" map_queues_in_kernel

step "systemctl poweroff with a mounted, queueing map that has no path"
wait_for 60 "two active paths" '[ "$(pk_map paths_active)" = 2 ]'
mkfs.ext4 -q "/dev/mapper/$MAP"
mkdir -p /mnt/map
mount "/dev/mapper/$MAP" /mnt/map
dd if=/dev/urandom of=/mnt/map/before bs=1M count=4 2> /dev/null
sync
# Dirty pages, written while the paths still work: the kernel writes them
# back within 30 s (dirty_expire), when no path is left; the unmount at
# shutdown must deal with them. (Once the paths are gone, anything touching
# the file system waits: nothing does.)
dd if=/dev/zero of=/mnt/map/dirty bs=1M count=4 2> /dev/null
scsi_offline "$D1"
scsi_offline "$D2"
wait_for 30 "both paths failed in DM" both_failed
expect "the kernel queues" map_queues_in_kernel
expect "no_path_retry queue: it would queue forever" [ "$(pk_map no_path_retry.mode)" = queue ]
# The lab's drop-in makes a refused system call fatal and logged.
if journalctl -k -b --no-pager -o cat | grep 'type=1326' > /results/sd/seccomp.txt; then
  cat /results/sd/seccomp.txt
  fail "the unit's system-call filter refused a call of the daemon or of pathkeeperctl"
fi
log "ok: no system call refused to pathkeeperd or pathkeeperctl all along"
save sd/before-poweroff.txt sh -c "dmsetup table; dmsetup status; grep -E 'Dirty|Writeback:' /proc/meminfo"
if [ "${LAB_NO_STOP_QUEUEING:-0}" = 1 ]; then
  mkdir -p /run/systemd/system/pathkeeperd-shutdown.service.d
  printf '[Service]\nExecStop=\n' > /run/systemd/system/pathkeeperd-shutdown.service.d/lab-off.conf
  systemctl daemon-reload
  log "LAB_NO_STOP_QUEUEING=1: the shutdown companion does nothing"
fi
# What the shutdown does, on the console (the journal is lost with the guest).
mkdir -p /run/systemd/journald.conf.d
printf '[Journal]\nForwardToConsole=yes\nMaxLevelConsole=info\n' > /run/systemd/journald.conf.d/lab-console.conf
systemctl restart systemd-journald
lab_poweroff_is_the_test
