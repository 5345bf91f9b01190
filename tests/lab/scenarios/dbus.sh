# pathkeeperd on the D-Bus system bus, over two iSCSI paths:
#  1. started before the bus, as in early boot: it says once that there is no
#     bus, the control socket serves, and it takes org.pathkeeper.PathKeeper1
#     when the bus appears;
#  2. busctl introspects the service, reads a path's State (the same as
#     pathkeeperctl's), GetTopologyJSON is pathkeeperctl's document;
#  3. a cut portal: busctl monitor sees PropertiesChanged for the path's State
#     and DmState and the map's PathsActive, and again when it is restored;
#  4. root fails and reinstates a path through D-Bus;
#  5. a non-root user reads properties but may not fail a path: the bus
#     policy refuses the call, and with a policy that lets it through, the
#     daemon refuses it;
#  6. the bus daemon goes away: the control socket keeps serving; it comes
#     back: so does the name;
#  7. all of it after READY without a page fault or heap growth.
# Results: pathkeeperd.log, dbus/*.txt|json (busctl answers), summary.txt.

ISCSI_REPLACEMENT_TIMEOUT=${ISCSI_REPLACEMENT_TIMEOUT:-10}

BUS=org.pathkeeper.PathKeeper1
OBJ=/org/pathkeeper/PathKeeper1
MGR=org.pathkeeper.PathKeeper1.Manager
PATH_IF=org.pathkeeper.PathKeeper1.Path
MAP_IF=org.pathkeeper.PathKeeper1.Map


# An object path label as sd_bus_path_encode makes it: bytes other than
# A-Za-z0-9, and a leading digit, become _xx.
label() {
  printf %s "$1" | od -An -v -tu1 | awk '
    { for (i = 1; i <= NF; i++) { c = $i; n++
        if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (n > 1 && c >= 48 && c <= 57)) printf "%c", c
        else printf "_%02x", c } }
    END { if (n == 0) printf "_" }'
}

# bus_prop OBJECT INTERFACE NAME: the value only (busctl prints 's "up"').
bus_prop() { busctl --system get-property "$BUS" "$1" "$2" "$3" | sed 's/^[a-z] //; s/^"//; s/"$//'; }
path_state() { bus_prop "$OBJ/path/$1" "$PATH_IF" "$2"; }
name_owned() {
  dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner "string:$BUS" 2> /dev/null | grep -q "boolean true"
}
# as_nobody CMD...: run CMD as uid 65534 (group nogroup).
as_nobody() { su -s /bin/sh nobody -c "$*"; }
dbus_policy() {
  # The policy of units/org.pathkeeper.PathKeeper1.conf.in as installed without
  # -Dcontrol_group (the lab image carries only binaries): root owns the name
  # and may call everything; everyone may introspect, read properties, use the
  # object manager and GetTopologyJSON.
  mkdir -p /usr/share/dbus-1/system.d
  cat > /usr/share/dbus-1/system.d/org.pathkeeper.PathKeeper1.conf <<'XML'
<?xml version="1.0"?>
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "https://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy user="root">
    <allow own="org.pathkeeper.PathKeeper1"/>
    <allow send_destination="org.pathkeeper.PathKeeper1"/>
  </policy>
  <policy context="default">
    <allow send_destination="org.pathkeeper.PathKeeper1"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.pathkeeper.PathKeeper1"
           send_interface="org.freedesktop.DBus.Peer"/>
    <allow send_destination="org.pathkeeper.PathKeeper1"
           send_interface="org.freedesktop.DBus.Properties" send_member="Get"/>
    <allow send_destination="org.pathkeeper.PathKeeper1"
           send_interface="org.freedesktop.DBus.Properties" send_member="GetAll"/>
    <allow send_destination="org.pathkeeper.PathKeeper1"
           send_interface="org.freedesktop.DBus.ObjectManager" send_member="GetManagedObjects"/>
    <allow send_destination="org.pathkeeper.PathKeeper1"
           send_interface="org.pathkeeper.PathKeeper1.Manager" send_member="GetTopologyJSON"/>
  </policy>
</busconfig>
XML
}

step "udev, then iSCSI with two portals (replacement_timeout ${ISCSI_REPLACEMENT_TIMEOUT}s)"
start_udev
load_modules dm-multipath dm-service-time dm-round-robin dm-queue-length
iscsi_setup 64
A=$(iscsi_disk 127.0.0.1)
B=$(iscsi_disk 127.0.0.2)
W=$(mp_wwid "$A")
MAP_OBJ="$OBJ/map/$(label "$W")"
log "paths $A $B, WWID $W, map object $MAP_OBJ"

step "pathkeeperd starts before the bus: it says so once and serves the control socket"
pk_config
dbus_policy
pk_start pathkeeperd.log --config /etc/pathkeeper/pathkeeper.yaml
wait_for 30 "map $W with two active paths" '[ "$(pk_map paths_active)" = 2 ]'
expect "the log says there is no system bus" grep -q "no D-Bus: the system bus is absent" /results/pathkeeperd.log
faults0=$(pk_status minor_faults_since_ready)
heap0=$(pk_status heap_bytes)
heap_ready=$(pk_status heap_bytes_at_ready)

step "the bus appears: pathkeeperd takes org.pathkeeper.PathKeeper1"
start_dbus
t_bus=$(now)
wait_for 20 "$BUS on the system bus" name_owned
summary "name_after_bus_start_s $(awk -v a="$t_bus" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}')"
wait_for 5 "the log says so" 'grep -q "serving org.pathkeeper.PathKeeper1 on the system bus" /results/pathkeeperd.log'
expect "'no bus' was said once" [ "$(grep -c "no D-Bus" /results/pathkeeperd.log)" = 1 ]

step "busctl introspects the service and reads a path's State"
save dbus/tree.txt busctl --system tree "$BUS"
expect "the tree has path $A" grep -q "$OBJ/path/$A" /results/dbus/tree.txt
expect "the tree has the map" grep -q "$MAP_OBJ" /results/dbus/tree.txt
save dbus/introspect-manager.txt busctl --system introspect "$BUS" "$OBJ"
expect "the manager has FailPath" grep -q "^\.FailPath " /results/dbus/introspect-manager.txt
save dbus/introspect-path.txt busctl --system introspect "$BUS" "$OBJ/path/$A" "$PATH_IF"
save dbus/introspect-map.txt busctl --system introspect "$BUS" "$MAP_OBJ" "$MAP_IF"
expect "State of $A is up on D-Bus" [ "$(path_state "$A" State)" = up ]
expect "... as in pathkeeperctl" [ "$(pk_path "$A" state)" = up ]
expect "DmState of $B is active" [ "$(path_state "$B" DmState)" = active ]
expect "the map queues" [ "$(bus_prop "$MAP_OBJ" "$MAP_IF" Queueing)" = true ]
expect "the map has two active paths" [ "$(bus_prop "$MAP_OBJ" "$MAP_IF" PathsActive)" = 2 ]
expect "Ready" [ "$(bus_prop "$OBJ" "$MGR" Ready)" = true ]
keep dbus/topology.json sh -c "busctl --system --json=short call $BUS $OBJ $MGR GetTopologyJSON | jq -r '.data[0]'"
keep dbus/topology-ctl.json pk show topology
expect "GetTopologyJSON names the map as pathkeeperctl does" \
  [ "$(jq -r '.maps[0].name' /results/dbus/topology.json)" = "$(jq -r '.maps[0].name' /results/dbus/topology-ctl.json)" ]
expect "... with both paths" [ "$(jq '[.maps[0].groups[].paths[]] | length' /results/dbus/topology.json)" = 2 ]

step "portal 127.0.0.2 cut: busctl monitor sees PropertiesChanged for $B"
busctl --system monitor "$BUS" --json=short > /results/dbus/monitor.json 2> /results/dbus/monitor.err &
MON=$!
sleep 2
portal_cut 127.0.0.2
t_cut=$(now)
changed() {  # changed OBJECT PROPERTY VALUE: a PropertiesChanged seen with it
  jq -e -s --arg p "$1" --arg k "$2" --arg v "$3" \
    'map(select(.member == "PropertiesChanged" and .path == $p and (.payload.data[1][$k].data | tostring) == $v)) | length > 0' \
    /results/dbus/monitor.json > /dev/null
}
wait_for 60 "PropertiesChanged: $B DmState failed" "changed $OBJ/path/$B DmState failed"
summary "signal_after_portal_cut_s $(awk -v a="$t_cut" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}')"
wait_for 30 "PropertiesChanged: $B State not up" \
  "changed $OBJ/path/$B State down || changed $OBJ/path/$B State timeout || changed $OBJ/path/$B State pending"
wait_for 10 "PropertiesChanged: map PathsActive 1" "changed $MAP_OBJ PathsActive 1"
expect "D-Bus reads DmState failed" [ "$(path_state "$B" DmState)" = failed ]
portal_restore 127.0.0.2
wait_for 90 "PropertiesChanged: $B State up again" "changed $OBJ/path/$B State up"
wait_for 30 "PropertiesChanged: $B DmState active again" "changed $OBJ/path/$B DmState active"
kill "$MON" 2> /dev/null || true
wait "$MON" 2> /dev/null || true
jq -c 'select(.member == "PropertiesChanged" or .member == "InterfacesAdded" or .member == "InterfacesRemoved")
       | {path, member, data: .payload.data}' /results/dbus/monitor.json > /results/dbus/signals.json
sed 's|^|  signal: |' /results/dbus/signals.json
summary "signals_seen $(wc -l < /results/dbus/signals.json)"

step "root fails and reinstates $A through D-Bus"
save dbus/failpath-root.txt busctl --system call "$BUS" "$OBJ" "$MGR" FailPath s "$A"
wait_for 10 "$A failed in DM" '[ "$(mp_path_state "$W" "$A")" = F ]'
expect "AdminFailed" [ "$(path_state "$A" AdminFailed)" = true ]
save dbus/reinstatepath-root.txt busctl --system call "$BUS" "$OBJ" "$MGR" ReinstatePath s "$A"
wait_for 30 "$A active in DM" '[ "$(mp_path_state "$W" "$A")" = A ]'
if busctl --system call "$BUS" "$OBJ" "$MGR" FailPath s sdzz > /results/dbus/failpath-unknown.txt 2>&1; then
  fail "FailPath of an unknown path succeeded"
fi
sed 's|^|  unknown path: |' /results/dbus/failpath-unknown.txt

step "a non-root user reads, but may not fail a path"
keep dbus/nobody-read.txt as_nobody busctl --system get-property "$BUS" "$OBJ/path/$A" "$PATH_IF" State
expect "nobody reads State up" grep -q '^s "up"' /results/dbus/nobody-read.txt
FAIL_CALL="dbus-send --system --print-reply --dest=$BUS $OBJ $MGR.FailPath string:$A"
if as_nobody "$FAIL_CALL" > /results/dbus/nobody-failpath-bus.txt 2>&1; then fail "nobody failed a path"; fi
sed 's|^|  nobody, bus policy: |' /results/dbus/nobody-failpath-bus.txt
expect "the bus policy refused it" grep -q "org.freedesktop.DBus.Error.AccessDenied" /results/dbus/nobody-failpath-bus.txt
# A policy that lets group nogroup send anything to the daemon (as a site
# would for its storage admins): now the daemon's own check answers.
mkdir -p /etc/dbus-1/system.d
cat > /etc/dbus-1/system.d/pathkeeper-lab-nogroup.conf <<'XML'
<busconfig>
  <policy group="nogroup">
    <allow send_destination="org.pathkeeper.PathKeeper1"/>
  </policy>
</busconfig>
XML
dbus-send --system --type=method_call --dest=org.freedesktop.DBus /org/freedesktop/DBus \
  org.freedesktop.DBus.ReloadConfig
sleep 1
if as_nobody "$FAIL_CALL" > /results/dbus/nobody-failpath-daemon.txt 2>&1; then fail "nobody failed a path"; fi
sed 's|^|  nobody, daemon: |' /results/dbus/nobody-failpath-daemon.txt
expect "the daemon refused it" grep -q "org.pathkeeper.PathKeeper1.Error.AccessDenied" \
  /results/dbus/nobody-failpath-daemon.txt
expect "$A is still active" [ "$(mp_path_state "$W" "$A")" = A ]

step "the bus daemon goes away: the control socket serves; it comes back: so does the name"
kill "$(cat /run/dbus/pid)"
wait_for 20 "the log says the bus was lost" 'grep -q "lost the system bus" /results/pathkeeperd.log'
expect "pathkeeperctl still answers" [ "$(pk_path "$A" state)" = up ]
rm -f /run/dbus/pid /run/dbus/system_bus_socket
start_dbus
wait_for 20 "$BUS back on the system bus" name_owned
expect "D-Bus reads State again" [ "$(path_state "$A" State)" = up ]

step "D-Bus after READY: no page fault, no heap growth"
faults1=$(pk_status minor_faults_since_ready)
heap1=$(pk_status heap_bytes)
summary "daemon_faults_during_dbus $((faults1 - faults0))"
summary "daemon_heap_growth_during_dbus $((heap1 - heap0)) (at ready $heap_ready)"
keep dbus/status-after.json pk status
[ "$((faults1 - faults0))" -eq 0 ] || fail "the daemon faulted pages while serving D-Bus"
[ "$((heap1 - heap0))" -eq 0 ] || fail "the daemon's heap grew while serving D-Bus"
pk_stop
