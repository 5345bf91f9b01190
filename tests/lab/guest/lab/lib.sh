# Guest library of the lab (busybox sh, POSIX). Sourced by /init before the
# scenario, which runs with `set -e`: any failing command ends the scenario and
# the EXIT trap names the step it was in.
#
#   core.sh      step, log, wait_for, save, modules, udev, D-Bus
#   topology.sh  scsi_debug, iSCSI over loopback, NBD, multipath maps
#   faults.sh    target freeze/restart, portal cut, SCSI device state,
#                scsi_debug error/delay injection, memory pressure, fio verify
#   keeper.sh    what fails and reinstates paths (KEEPER=shell for now)
#   pathkeeper.sh  pathkeeperd: start, stop, read its JSON
#   lio.sh       LIO array with ALUA port groups (tcm_loop), path group sampler

. /lab/core.sh
. /lab/topology.sh
. /lab/faults.sh
. /lab/keeper.sh
. /lab/pathkeeper.sh
. /lab/lio.sh
