# Fault kit: each function breaks (or mends) one thing the way it breaks on a
# SAN host. Every one is exercised by a scenario (see README.md).

# --- Target (tgtd) ------------------------------------------------------------

# A frozen array: connections stay open but nothing answers, so NOP-outs time
# out and sessions fail (the usual shape of a controller upgrade).
target_freeze() { kill -STOP "$TGTD_PID"; log "target frozen (SIGSTOP tgtd)"; }
target_unfreeze() { kill -CONT "$TGTD_PID"; log "target thawed (SIGCONT tgtd)"; }

# A crashed and restarted array: tgtd dies (its connections are reset, so the
# initiator notices at once), comes back with the same LUN data and is
# reconfigured. New connections are dropped until the target is configured
# again, as an array does not answer before it is ready; otherwise a relogin
# could reach a tgtd that has no target yet and be refused for good.
target_restart() {
  kill -KILL "$TGTD_PID"
  wait "$TGTD_PID" 2>/dev/null || true
  log "target killed"
  for _p in $ISCSI_PORTALS; do portal_cut "$_p"; done
  target_start
  for _p in $ISCSI_PORTALS; do portal_restore "$_p"; done
}

# target_nexus_count: initiator connections (I_T nexus) the target holds now.
target_nexus_count() {
  tgtadm --lld iscsi --op show --mode target | grep -c 'I_T nexus: [0-9]' || true
}

# --- One portal (one path) --------------------------------------------------
# All traffic from and to the portal address is dropped on lo (tc u32 filter
# with a drop action): like a pulled cable, not a refused connection. The
# session's NOP-outs time out, it goes FAILED, and relogins fail until the
# portal is restored.

# Debian's static busybox prefers its own applets over PATH (SH_STANDALONE):
# name iproute2's tc by its full path.
TC=/usr/sbin/tc

_portal_pref() { echo $((100 + ${1##*.})); }

portal_cut() {
  load_modules sch_prio cls_u32 act_gact
  $TC qdisc show dev lo | grep -q '^qdisc prio 1:' || $TC qdisc add dev lo root handle 1: prio
  _pp=$(_portal_pref "$1")
  $TC filter add dev lo parent 1: protocol ip pref "$_pp" u32 match ip dst "$1/32" action drop
  $TC filter add dev lo parent 1: protocol ip pref "$_pp" u32 match ip src "$1/32" action drop
  log "portal $1 cut"
}

portal_restore() {
  $TC filter del dev lo parent 1: protocol ip pref "$(_portal_pref "$1")"
  log "portal $1 restored"
}

# --- SCSI device state -----------------------------------------------------

scsi_offline() { echo offline > "/sys/block/$1/device/state"; log "$1 offline"; }
scsi_online() { echo running > "/sys/block/$1/device/state"; log "$1 running"; }

# scsi_delete DISK: the device disappears (as on a LUN unmap); prints the SCSI
# host it was on, for scsi_rescan.
scsi_delete() {
  _sdel_host=$(basename "$(readlink -f "/sys/block/$1/device")" | cut -d: -f1)
  echo 1 > "/sys/block/$1/device/delete"
  log "$1 deleted (was on host$_sdel_host)" >&2
  echo "host$_sdel_host"
}

# scsi_rescan hostN: scan the host again, bringing deleted LUNs back.
scsi_rescan() { echo "- - -" > "/sys/class/scsi_host/$1/scan"; settle; log "$1 rescanned"; }

# --- scsi_debug injection (applies to every scsi_debug device) ----------------

# sd_inject EVERY_NTH OPTS: every EVERY_NTH-th command fails the way OPTS says
# (drivers/scsi/scsi_debug.c: 4 = no response (timeout), 16 = transport error,
# 2 = medium error at sector 0x1234). A negative EVERY_NTH fires once.
sd_inject() {
  echo "$2" > "$SD_SYSFS/opts"
  echo "$1" > "$SD_SYSFS/every_nth"
  log "scsi_debug: every_nth=$1 opts=$2"
}
sd_inject_stop() { echo 0 > "$SD_SYSFS/every_nth"; echo 0 > "$SD_SYSFS/opts"; log "scsi_debug: injection off"; }

# sd_delay MS: response delay of every scsi_debug command (0 = back to the
# default). Set in nanoseconds (ndelay, below 1 s): the jiffies knob (delay)
# depends on the kernel's HZ.
sd_delay() {
  echo $(($1 * 1000000)) > "$SD_SYSFS/ndelay"
  log "scsi_debug: ndelay $(cat "$SD_SYSFS/ndelay") ns"
}

# --- Memory ----------------------------------------------------------------

mem_available_mb() { awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo; }
mem_dirty_mb() { awk '/^(Dirty|Writeback):/ {s += $2} END {print int(s / 1024)}' /proc/meminfo; }

# mem_pressure_start MB: stress-ng keeps MB of anonymous memory touched and
# resident (there is no swap), so reclaim has to work for everyone else.
mem_pressure_start() {
  stress-ng --vm 1 --vm-bytes "${1}M" --vm-keep --vm-populate --timeout 0 \
    > /results/stress-ng.log 2>&1 &
  MEM_PID=$!
  log "memory pressure: stress-ng pid $MEM_PID holding ${1} MiB"
}
mem_pressure_stop() {
  stop_process "$MEM_PID"
  log "memory pressure stopped"
}

# dirty_flood DEVICE MB: buffered writes through the page cache (no O_DIRECT,
# no sync) so dirty pages pile up when the device stops completing I/O.
dirty_flood() {
  dd if=/dev/zero of="$1" bs=1M count="$2" 2> /results/dirty-flood.log &
  FLOOD_PID=$!
  log "dirty-page flood: ${2} MiB into $1 (pid $FLOOD_PID)"
}

# --- Data check ----------------------------------------------------------------

# fio_start NAME DEVICE [fio options]: direct random writes with a crc32c
# checksum in every block, read back and checked when the writes are done.
fio_start() {
  _fs_name=$1 _fs_dev=$2
  shift 2
  fio --name="$_fs_name" --filename="$_fs_dev" --ioengine=libaio --direct=1 \
    --rw=randwrite --bs=4k --iodepth=8 --verify=crc32c --do_verify=1 \
    --verify_fatal=1 --eta=never --output="/results/fio-$_fs_name.txt" "$@" &
  FIO_PID=$!
  log "fio $_fs_name started on $_fs_dev (pid $FIO_PID)"
}

# fio_finish: waits for fio; status 0 only if it reported no I/O error and
# its verify passed.
fio_finish() {
  _fw_rc=0
  wait "$FIO_PID" || _fw_rc=$?
  _fw_out=/results/fio-$_fs_name.txt
  grep -E 'err=|verify|error' "$_fw_out" | sed 's/^/  fio: /' || true
  if [ "$_fw_rc" -ne 0 ] || ! grep -q 'err= 0' "$_fw_out"; then
    log "fio $_fs_name: FAILED (status $_fw_rc, see $_fw_out)"
    return 1
  fi
  log "fio $_fs_name: no I/O error, crc32c verify passed"
}

# fio_wait: fio_finish, failing the scenario on error.
fio_wait() { fio_finish || fail "fio $_fs_name: I/O error or verify failure"; }
