# Paths with no identity of their own: two NBD connections to one export
# join a map because the configuration names them. NBD has no SCSI, so they
# are checked by the directio checker (O_DIRECT reads over io_uring). One
# connection drops: its path is failed. The connection is made again on a
# new device (NBD will not reconnect a device the map holds open), which
# the configuration also names: it joins the live map by a noflush reload.


step "udev, NBD: two connections to one export"
start_udev
load_modules dm-multipath dm-service-time
nbd_setup 32
mkdir -p /etc/pathkeeper
cat > /etc/pathkeeper/pathkeeper.yaml <<YAML
timing: {polling_interval: 2s, failed_polling_interval: 1s, checker_timeout: 5s}
maps:
  - wwid: nbd-lab-export
    alias: nbdmap
    paths: [nbd0, nbd1, nbd2]
YAML
save pathkeeper.yaml cat /etc/pathkeeper/pathkeeper.yaml

step "pathkeeperd builds the configured map over nbd0 and nbd1"
pk_start pathkeeperd.log --config /etc/pathkeeper/pathkeeper.yaml
wait_for 30 "map nbdmap with two active paths" '[ "$(pk_map paths_active)" = 2 ]'
expect "the map is named by its alias" [ "$(pk_map name)" = nbdmap ]
expect "DM UUID is mpath-nbd-lab-export" [ "$(dmsetup info -c --noheadings -o uuid nbdmap)" = mpath-nbd-lab-export ]
expect "nbd0 is checked by directio" [ "$(pk_path nbd0 checker)" = directio ]
expect "nbd0 is up" [ "$(pk_path nbd0 state)" = up ]
expect "only the two configured NBD devices are paths" [ "$(pk show paths | jq '.paths | length')" -eq 2 ]
save pk/topology.txt pathkeeperctl show topology
dio_read /dev/mapper/nbdmap 8

step "nbd1 disconnected: failed; the connection made again as nbd2 joins the map"
nbd-client -d /dev/nbd1
wait_for 30 "nbd1 failed in DM" '[ "$(mp_path_state nbdmap nbd1)" = F ]'
log "show paths: nbd1 $(pk_path nbd1 state)"
dio_read /dev/mapper/nbdmap 8
nbd-client 127.0.0.2 10809 /dev/nbd2 -N disk
wait_for 30 "nbd2 active in the map" '[ "$(mp_path_state nbdmap nbd2)" = A ]'
expect "the map now has 3 paths, 2 active" [ "$(pk_map paths_total)/$(pk_map paths_active)" = 3/2 ]
expect "the map was reloaded, not made again" grep -q "reloaded nbdmap" /results/pathkeeperd.log
dio_read /dev/mapper/nbdmap 8
save pk/topology-after.txt pathkeeperctl show topology
summary "threads_now $(pk_status threads) threads_at_ready $(pk_status threads_at_ready)"
pk_stop
