# The peer baseline: Debian's multipathd (multipath-tools 0.9.4) in the guest
# builds a map over the two iSCSI paths on its own, from udev's identities,
# and follows a path going away and coming back.

step "udev, then iSCSI with two portals"
start_udev
ISCSI_REPLACEMENT_TIMEOUT=${ISCSI_REPLACEMENT_TIMEOUT:-10}
iscsi_setup 32
A=$(iscsi_disk 127.0.0.1)
B=$(iscsi_disk 127.0.0.2)
W=$(mp_wwid "$A")
log "WWID (udev ID_SERIAL): $W"

step "multipathd starts and builds the map"
load_modules dm-multipath dm-service-time dm-round-robin dm-queue-length
mkdir -p /etc/multipath
multipathd -d -s -v3 > /results/multipathd.log 2>&1 &
MPD_PID=$!
wait_for 60 "multipathd to list a map for $W" "multipathd show maps raw format %w | grep -qx $W"
# udev makes /dev/mapper/<name> after multipathd made the map.
settle
wait_for 30 "/dev/mapper/$W" "test -b /dev/mapper/$W"
save peer/show-maps.txt multipathd show maps
save peer/show-paths.txt multipathd show paths
save peer/multipath-ll.txt multipath -ll
save peer/dmsetup-table.txt dmsetup table
save peer/dmsetup-info.txt dmsetup info -c -o name,uuid
dmsetup table | grep -q ' multipath ' || fail "no multipath target in dmsetup table"
expect "map UUID is mpath-$W" sh -c "dmsetup info -c --noheadings -o uuid | grep -qx 'mpath-$W'"

step "I/O through multipathd's map"
dio_read "/dev/mapper/$W" 64

step "portal 127.0.0.2 cut: multipathd marks $B failed"
portal_cut 127.0.0.2
wait_for 60 "multipathd to see $B down" "multipathd show paths raw format '%d %t' | grep -q '^$B failed'"
save peer/show-paths-cut.txt multipathd show paths
save peer/status-cut.txt dmsetup status "$W"
dio_read "/dev/mapper/$W" 64 128

step "portal restored: multipathd reinstates $B"
portal_restore 127.0.0.2
wait_for 60 "multipathd to see $B back" "multipathd show paths raw format '%d %t' | grep -q '^$B active'"
save peer/show-paths-restored.txt multipathd show paths
save peer/status-restored.txt dmsetup status "$W"

step "multipathd stops"
kill "$MPD_PID"
wait "$MPD_PID" || true
