# Core helpers: steps, logging, polling, results, modules, udev, D-Bus, and
# what a scenario reads of a process in /proc. The lab scenarios and the
# benchmark (bench/scenarios, run in the same guest) both use them: the
# guest's init sources lib.sh, which sources this file, before either.

LAB_STEP="start"

# Without udev, libdevmapper must create /dev/mapper nodes itself (it leaves
# that to udev rules otherwise). start_udev hands the job back to udev.
export DM_DISABLE_UDEV=1

# Seconds since boot with two decimals (busybox date has no %N).
now() { cut -d' ' -f1 /proc/uptime; }
# shellcheck disable=SC2034  # the clock now() reads, for the benchmark's record
CLOCK=uptime-10ms

# since T0 [T1]: seconds from T0 to T1 (default: now), both from now().
since() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN {printf "%.2f", b - a}'; }

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

# poll_until TIMEOUT_S CODE [INTERVAL_S]: evaluate the shell code CODE every
# INTERVAL_S (0.2) seconds until it succeeds (status 0) or TIMEOUT_S have
# passed (status 1). CODE is evaluated anew each time: single-quote it when
# it holds a $(...) that must run again on every try.
poll_until() {
  _pu_end=$(awk -v n="$(now)" -v t="$1" 'BEGIN {print n + t}')
  while ! eval "$2" > /dev/null 2>&1; do
    if awk -v n="$(now)" -v e="$_pu_end" 'BEGIN {exit !(n > e)}'; then return 1; fi
    sleep "${3:-0.2}"
  done
}

# wait_for TIMEOUT_S DESCRIPTION CODE: poll_until, and the scenario fails on
# the timeout.
wait_for() {
  poll_until "$1" "$3" || fail "timed out after ${1}s waiting for: $2"
}

# soft_wait TIMEOUT_S DESCRIPTION CODE: poll_until once a second; on the
# timeout it logs and returns 1 instead of failing.
soft_wait() {
  poll_until "$1" "$3" 1 || { log "still not true after $1 s: $2"; return 1; }
}

# stop_process PID: SIGTERM, then wait for it to end (already gone is fine).
stop_process() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# summary TEXT...: a line of the scenario's summary (/results/summary.txt),
# logged too.
summary() { echo "$*" >> /results/summary.txt; log "SUMMARY $*"; }

# record WHO KEY VALUE: a figure for bench/run-bench (/results/bench.txt, one
# "WHO KEY VALUE" line per repetition), logged too.
record() { echo "$1 $2 $3" >> /results/bench.txt; log "BENCH $1 $2 $3"; }

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

# --- a process seen from /proc (PID first) --------------------------------------
# Fields of /proc/PID/stat after the command name: minflt 10, majflt 12,
# utime 14, stime 15.
proc_minflt() { awk '{print $10}' "/proc/$1/stat"; }
proc_majflt() { awk '{print $12}' "/proc/$1/stat"; }
proc_faults() { awk '{print $10 + $12}' "/proc/$1/stat"; }
proc_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
proc_threads() { ls "/proc/$1/task" | wc -l; }
proc_rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# shellcheck disable=SC2034  # clock ticks per second, for proc_cpu_ticks
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
