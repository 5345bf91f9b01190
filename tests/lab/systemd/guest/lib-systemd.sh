# The lab library for the systemd guest: the busybox lab's helpers (step,
# wait_for, save, scsi_debug, faults, pathkeeperctl's JSON), with udev
# already running under systemd, and helpers for units.
. /lab/core.sh
. /lab/topology.sh
. /lab/faults.sh
. /lab/pathkeeper.sh
# systemd-udevd runs: /dev/mapper is udev's.
unset DM_DISABLE_UDEV
# shellcheck disable=SC2034  # read by core.sh and topology.sh
UDEV_RUNNING=1

# unit_prop UNIT PROPERTY: a property of a unit (systemctl show -P).
unit_prop() { systemctl show -P "$2" "$1"; }
pk_main_pid() { unit_prop pathkeeperd.service MainPID; }
pk_restarts() { unit_prop pathkeeperd.service NRestarts; }

# pk_wait_ready: the unit is active (systemd saw READY=1) and the daemon
# answers that it is ready.
pk_wait_ready() {
  wait_for "${1:-60}" "pathkeeperd.service active and ready" \
    '[ "$(unit_prop pathkeeperd.service ActiveState)" = active ] && [ "$(pk_status ready)" = true ]'
}

# journal_since CURSOR_FILE UNIT: the unit's journal since the cursor saved
# in CURSOR_FILE (journal_mark CURSOR_FILE saves one).
journal_mark() { journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p' > "$1"; }
journal_since() { journalctl --no-pager -o cat --after-cursor "$(cat "$1")" -u "$2"; }

# The scenario's last step: the host times the power-off that follows.
lab_poweroff_is_the_test() { touch /run/lab-poweroff-is-the-test; }
