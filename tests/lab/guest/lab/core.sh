# Core helpers: steps, logging, polling, results, modules, udev, D-Bus.

LAB_STEP="start"

# Without udev, libdevmapper must create /dev/mapper nodes itself (it leaves
# that to udev rules otherwise). start_udev hands the job back to udev.
export DM_DISABLE_UDEV=1

# Seconds since boot with two decimals (busybox date has no %N).
now() { cut -d' ' -f1 /proc/uptime; }

log() { echo "[$(now)] $*"; }

# step "description": names what the scenario is doing, so a failure says where.
step() {
  LAB_STEP="$*"
  echo "$LAB_STEP" > /results/.step
  echo "[$(now)] ==== STEP: $LAB_STEP"
}

fail() {
  echo "[$(now)] FAIL: $*" >&2
  exit 1
}

lab_on_exit() {
  rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "[$(now)] ==== FAILED (status $rc) in step: $LAB_STEP"
  fi
}

lab_begin() {
  trap lab_on_exit EXIT
  log "scenario $LAB_SCENARIO starting (kernel $(uname -r), $(nproc) cpus," \
      "$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB)"
}

lab_end() {
  step "done"
  log "scenario $LAB_SCENARIO passed"
}

# wait_for TIMEOUT_S DESCRIPTION CODE: evaluate the shell code CODE every
# 0.2 s until it succeeds. CODE is evaluated anew each time: single-quote it
# when it holds a $(...) that must run again on every try.
wait_for() {
  _wf_timeout=$1 _wf_desc=$2 _wf_code=$3
  _wf_end=$(awk -v n="$(now)" -v t="$_wf_timeout" 'BEGIN {print n + t}')
  while ! eval "$_wf_code" > /dev/null 2>&1; do
    if awk -v n="$(now)" -v e="$_wf_end" 'BEGIN {exit !(n > e)}'; then
      fail "timed out after ${_wf_timeout}s waiting for: $_wf_desc"
    fi
    sleep 0.2
  done
}

# save NAME CMD...: run CMD, show its output and keep it in /results/NAME.
save() {
  _sv_name=$1
  shift
  mkdir -p "$(dirname "/results/$_sv_name")"
  "$@" > "/results/$_sv_name" 2>&1 || { cat "/results/$_sv_name"; fail "$* failed"; }
  sed "s|^|  $_sv_name: |" "/results/$_sv_name"
}

# keep NAME CMD...: like save, without showing the output (long files).
keep() {
  _kp_name=$1
  shift
  mkdir -p "$(dirname "/results/$_kp_name")"
  "$@" > "/results/$_kp_name" 2>&1 || { cat "/results/$_kp_name"; fail "$* failed"; }
}

# expect DESCRIPTION CMD...: CMD must succeed, said in the log either way.
expect() {
  _ex_desc=$1
  shift
  if "$@"; then log "ok: $_ex_desc"; else fail "$_ex_desc"; fi
}

load_modules() {
  for _m in "$@"; do modprobe "$_m" || fail "modprobe $_m"; done
}

# Real udev, so libudev users (pathkeeperd, multipathd) see ID_SERIAL/ID_WWN
# exactly as on a host. Call before or after creating devices: the trigger
# replays "add" for what already exists.
start_udev() {
  mkdir -p /run/udev /etc/udev/rules.d
  /lib/systemd/systemd-udevd --daemon --resolve-names=never
  udevadm trigger --action=add --type=subsystems
  udevadm trigger --action=add --type=devices
  udevadm settle --timeout=60
  UDEV_RUNNING=1
  unset DM_DISABLE_UDEV
}

settle() {
  if [ "${UDEV_RUNNING:-0}" = 1 ]; then udevadm settle --timeout=60; fi
}

# The system bus, for D-Bus services (pathkeeper's later, busctl to inspect).
start_dbus() {
  mkdir -p /run/dbus /var/lib/dbus
  [ -s /etc/machine-id ] || cat /proc/sys/kernel/random/uuid | tr -d - > /etc/machine-id
  cp /etc/machine-id /var/lib/dbus/machine-id
  dbus-daemon --system --fork
  wait_for 10 "the D-Bus system bus socket" "test -S /run/dbus/system_bus_socket"
}

# Block device helpers ------------------------------------------------------

# maj:min of a block device name (sdb -> 8:16).
devnum() { cat "/sys/class/block/$1/dev"; }

# Name of the dm device of map NAME (dm-0).
dm_name() { dmsetup info -c --noheadings -o blkdevname "$1"; }

# Sectors written / read so far through a block device (from .../stat).
sectors_written() { awk '{print $7}' "/sys/class/block/$1/stat"; }
sectors_read() { awk '{print $3}' "/sys/class/block/$1/stat"; }

# dio_read DEVICE BLOCKS [SKIP]: O_DIRECT 4 KiB reads (they reach the device,
# not the page cache). Quiet unless dd fails.
dio_read() {
  dd if="$1" of=/dev/null bs=4k count="$2" skip="${3:-0}" iflag=direct 2> /tmp/dio_read.err \
    || { cat /tmp/dio_read.err >&2; return 1; }
}
