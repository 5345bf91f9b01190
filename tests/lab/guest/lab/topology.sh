# Topologies: the storage a scenario runs against.

# --- scsi_debug ---------------------------------------------------------------

SD_SYSFS=/sys/bus/pseudo/drivers/scsi_debug

# scsi_debug_setup HOSTS LUNS [SIZE_MB [extra module params...]]
# HOSTS x LUNS disks. vpd_use_hostno=0 makes LUN n of every host report the
# same WWID: LUNS distinct WWIDs, each with HOSTS paths.
scsi_debug_setup() {
  _sd_hosts=$1 _sd_luns=$2 _sd_size=${3:-16}
  shift 2
  [ $# -gt 0 ] && shift
  # The ALUA handler attaches at scan time when loaded first, as on a host.
  load_modules sd_mod sg dm-mod scsi_dh_alua
  modprobe scsi_debug add_host="$_sd_hosts" num_tgts=1 max_luns="$_sd_luns" \
    vpd_use_hostno=0 dev_size_mb="$_sd_size" "$@"
  wait_for 60 "$((_sd_hosts * _sd_luns)) scsi_debug disks" \
    '[ "$(scsi_debug_disks | wc -w)" -eq $((_sd_hosts * _sd_luns)) ]'
  settle
  log "scsi_debug: $_sd_hosts hosts x $_sd_luns LUNs: $(scsi_debug_disks | tr '\n' ' ')"
}

# All scsi_debug disks (sdX names), in H:C:T:L order.
scsi_debug_disks() {
  for _d in "$SD_SYSFS"/adapter*/host*/target*/*:*/block/*; do
    [ -e "$_d" ] && echo "${_d##*/}"
  done
  return 0
}

# scsi_debug_lun_disks L: the disks of LUN L (one per host).
scsi_debug_lun_disks() {
  for _d in "$SD_SYSFS"/adapter*/host*/target*/*:"$1"/block/*; do
    [ -e "$_d" ] && echo "${_d##*/}"
  done
  return 0
}

# scsi_debug_resize GB DISK...: every LUN now reports GB GiB (virtual_gb;
# the store is dev_size_mb, beyond which blocks wrap: keep GB*1024 at most
# dev_size_mb), then each DISK is rescanned as an admin does after growing a
# LUN on the array: the kernel reads the capacity again and raises a change
# uevent (RESIZE=1).
scsi_debug_resize() {
  echo "$1" > "$SD_SYSFS/virtual_gb"
  shift
  for _d in "$@"; do echo 1 > "/sys/block/$_d/device/rescan"; done
  settle
  log "scsi_debug: LUNs now $(cat "$SD_SYSFS/virtual_gb") GiB; rescanned $*"
}

# disk_sectors DEV: the size the kernel gives a block device (512-byte sectors).
disk_sectors() { cat "/sys/class/block/$1/size"; }

# --- iSCSI over loopback: tgt target, open-iscsi initiator --------------------
# One target, one LUN backed by a file in tmpfs, reached through two portals
# (127.0.0.1 and 127.0.0.2: the whole of 127/8 is local), so the initiator
# holds two sessions = two paths = two sd devices with one WWID.

ISCSI_IQN=iqn.2026-11.lab:target
ISCSI_PORTALS="127.0.0.1 127.0.0.2"
ISCSI_LUN_FILE=/tmp/iscsi-lun.img

# Start tgtd and configure the target (also used to restart it). tgtd runs in
# the foreground in our background, so TGTD_PID is the process to stop.
target_start() {
  tgtd -f > /results/tgtd.log 2>&1 &
  TGTD_PID=$!
  wait_for 10 "tgtd to answer" "tgtadm --lld iscsi --op show --mode target"
  tgtadm --lld iscsi --op new --mode target --tid 1 -T "$ISCSI_IQN"
  tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$ISCSI_LUN_FILE"
  tgtadm --lld iscsi --op bind --mode target --tid 1 -I ALL
  log "tgtd running (pid $TGTD_PID)"
}

# iscsi_setup [SIZE_MB]: target, initiator, one login per portal.
# Timeouts (seconds) come from the environment so scenarios can shorten them:
#   ISCSI_REPLACEMENT_TIMEOUT  how long I/O waits for a failed session (120)
#   ISCSI_NOOP_INTERVAL/ISCSI_NOOP_TIMEOUT  connection liveness pings (5/5)
#   ISCSI_LOGIN_TIMEOUT        one login attempt (15)
# iscsi_setup_preallocated SIZE_MB: iscsi_setup with the LUN on a tmpfs of its
# own, filled now, for scenarios that squeeze memory: the "array" never needs
# memory mid-freeze, and a full root file system cannot fail its writes.
iscsi_setup_preallocated() {
  mkdir -p /lun
  mount -t tmpfs -o size=$(($1 + 16))m tmpfs /lun
  ISCSI_LUN_FILE=/lun/lun.img
  dd if=/dev/zero of="$ISCSI_LUN_FILE" bs=1M count="$1" 2>/dev/null
  iscsi_setup "$1"
}

iscsi_setup() {
  _is_size=${1:-64}
  load_modules iscsi_tcp crc32c_generic sd_mod sg dm-mod
  ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
  dd if=/dev/zero of="$ISCSI_LUN_FILE" bs=1M count=0 seek="$_is_size" 2>/dev/null
  target_start

  mkdir -p /var/lib/iscsi /run/lock/iscsi
  iscsid -f > /results/iscsid.log 2>&1 &
  for _p in $ISCSI_PORTALS; do
    wait_for 20 "iSCSI discovery on $_p" "iscsiadm -m discovery -t st -p $_p"
    _node="-m node -T $ISCSI_IQN -p $_p"
    iscsiadm $_node -o update -n node.session.timeo.replacement_timeout -v "${ISCSI_REPLACEMENT_TIMEOUT:-120}"
    iscsiadm $_node -o update -n 'node.conn[0].timeo.noop_out_interval' -v "${ISCSI_NOOP_INTERVAL:-5}"
    iscsiadm $_node -o update -n 'node.conn[0].timeo.noop_out_timeout' -v "${ISCSI_NOOP_TIMEOUT:-5}"
    iscsiadm $_node -o update -n 'node.conn[0].timeo.login_timeout' -v "${ISCSI_LOGIN_TIMEOUT:-15}"
    iscsiadm $_node --login
  done
  for _p in $ISCSI_PORTALS; do
    wait_for 30 "the disk behind portal $_p" "iscsi_disk $_p"
  done
  settle
  for _p in $ISCSI_PORTALS; do
    log "iSCSI portal $_p: $(iscsi_session "$_p") disk $(iscsi_disk "$_p")" \
        "($(devnum "$(iscsi_disk "$_p")")) wwid $(cat "/sys/block/$(iscsi_disk "$_p")/device/wwid")"
  done
}

# iscsi_session PORTAL: the sessionN whose connection goes to PORTAL.
iscsi_session() {
  for _c in /sys/class/iscsi_connection/connection*; do
    [ -e "$_c" ] || continue
    if [ "$(cat "$_c/persistent_address" 2>/dev/null)" = "$1" ]; then
      # connectionS:C belongs to sessionS
      _s=${_c##*/connection}
      echo "session${_s%%:*}"
      return 0
    fi
  done
  return 1
}

# iscsi_disk PORTAL: the sd device reached through PORTAL.
iscsi_disk() {
  _s=$(iscsi_session "$1") || return 1
  for _b in /sys/class/iscsi_session/"$_s"/device/target*/*:*/block/*; do
    [ -e "$_b" ] && { echo "${_b##*/}"; return 0; }
  done
  return 1
}

# iscsi_state PORTAL: LOGGED_IN, FAILED or FREE.
iscsi_state() { cat "/sys/class/iscsi_session/$(iscsi_session "$1")/state"; }

# scsi_state DISK: running, blocked, transport-offline, offline, ...
scsi_state() { cat "/sys/block/$1/device/state"; }

# --- NBD -------------------------------------------------------------------------
# One nbd-server export, reached by two nbd-client connections: two block
# devices (nbd0, nbd1) in front of one disk. NBD has no WWID.

NBD_FILE=/tmp/nbd.img

nbd_setup() {
  _nb_size=${1:-64}
  load_modules nbd
  dd if=/dev/zero of="$NBD_FILE" bs=1M count=0 seek="$_nb_size" 2>/dev/null
  mkdir -p /etc/nbd-server
  nbd-server -C /etc/nbd-server/config > /results/nbd-server.log 2>&1
  wait_for 10 "nbd-server listening" "nbd-client -l 127.0.0.1 10809"
  nbd-client 127.0.0.1 10809 /dev/nbd0 -N disk
  nbd-client 127.0.0.2 10809 /dev/nbd1 -N disk
  wait_for 10 "nbd0 and nbd1 connected" "test -e /sys/block/nbd0/pid -a -e /sys/block/nbd1/pid"
  settle
}

# --- device-mapper multipath maps made by hand ---------------------------------

# mp_table SECTORS HW_HANDLER DEV...: a one-group service-time table over the
# given devices (sdX names), queue_if_no_path. HW_HANDLER: alua or none.
mp_table() {
  _mt_sectors=$1 _mt_hw=$2
  shift 2
  if [ "$_mt_hw" = none ]; then _mt_hw="0"; else _mt_hw="1 $_mt_hw"; fi
  _mt_paths=""
  for _d in "$@"; do _mt_paths="$_mt_paths $(devnum "$_d") 1 1"; done
  echo "0 $_mt_sectors multipath 1 queue_if_no_path $_mt_hw 1 1 service-time 0 $# 2$_mt_paths"
}

# mp_create NAME WWID HW_HANDLER DEV...: create the map with UUID mpath-WWID.
mp_create() {
  _mc_name=$1 _mc_wwid=$2 _mc_hw=$3
  shift 3
  load_modules dm-multipath dm-service-time
  _mc_table=$(mp_table "$(cat "/sys/block/$1/size")" "$_mc_hw" "$@")
  log "dmsetup create $_mc_name: $_mc_table"
  echo "$_mc_table" | dmsetup create "$_mc_name" -u "mpath-$_mc_wwid" || return 1
  settle
}

# mp_path_state MAP DEV: A or F, as the kernel reports the path in the map.
mp_path_state() {
  dmsetup status "$1" | awk -v p="$(devnum "$2")" '{for (i = 1; i < NF; i++) if ($i == p) {print $(i + 1); exit}}'
}

mp_fail() { dmsetup message "$1" 0 fail_path "$(devnum "$2")"; }
mp_reinstate() { dmsetup message "$1" 0 reinstate_path "$(devnum "$2")"; }

# mp_expect MAP DEV STATE: the kernel must report DEV as STATE (A/F) in MAP.
mp_expect() {
  _me=$(mp_path_state "$1" "$2")
  [ "$_me" = "$3" ] || fail "path $2 in $1 is '$_me', expected '$3': $(dmsetup status "$1")"
}

# mp_wwid DISK: the WWID multipath-tools would give the LUN: udev's ID_SERIAL
# when udev runs, else the same derived from sysfs (NAA "naa.X" -> "3X").
mp_wwid() {
  if [ "${UDEV_RUNNING:-0}" = 1 ]; then
    udevadm info --query=property --name="/dev/$1" | sed -n 's/^ID_SERIAL=//p'
  else
    sed 's/^naa\./3/' "/sys/block/$1/device/wwid"
  fi
}

# --- NVMe over TCP on loopback (nvmet target, nvme-tcp host) --------------------
# One subsystem with one file-backed namespace, exported on two ports
# (127.0.0.1 and 127.0.0.2): two controllers, two namespace block devices with
# one WWID. nvme_core.multipath=N so the kernel shows each path as its own
# block device (what dm-multipath needs) instead of one native-multipath head.

NVME_NQN=nqn.2026-11.lab:nvme
NVME_FILE=/tmp/nvme-ns.img

nvme_setup() {
  _nv_size=${1:-64}
  modprobe nvme_core multipath=N
  load_modules configfs nvmet nvmet-tcp nvme-tcp
  grep -q ' /sys/kernel/config ' /proc/mounts || mount -t configfs configfs /sys/kernel/config
  dd if=/dev/zero of="$NVME_FILE" bs=1M count=0 seek="$_nv_size" 2>/dev/null
  _nv=/sys/kernel/config/nvmet
  mkdir "$_nv/subsystems/$NVME_NQN"
  echo 1 > "$_nv/subsystems/$NVME_NQN/attr_allow_any_host"
  mkdir "$_nv/subsystems/$NVME_NQN/namespaces/1"
  echo "$NVME_FILE" > "$_nv/subsystems/$NVME_NQN/namespaces/1/device_path"
  # The file lives in RAM (tmpfs has no O_DIRECT, nvmet's default for files).
  echo 1 > "$_nv/subsystems/$NVME_NQN/namespaces/1/buffered_io"
  echo 1 > "$_nv/subsystems/$NVME_NQN/namespaces/1/enable"
  _nv_port=1
  for _p in $ISCSI_PORTALS; do
    mkdir "$_nv/ports/$_nv_port"
    echo tcp > "$_nv/ports/$_nv_port/addr_trtype"
    echo ipv4 > "$_nv/ports/$_nv_port/addr_adrfam"
    echo "$_p" > "$_nv/ports/$_nv_port/addr_traddr"
    echo 4420 > "$_nv/ports/$_nv_port/addr_trsvcid"
    ln -s "$_nv/subsystems/$NVME_NQN" "$_nv/ports/$_nv_port/subsystems/$NVME_NQN"
    _nv_port=$((_nv_port + 1))
  done
  for _p in $ISCSI_PORTALS; do
    echo "transport=tcp,traddr=$_p,trsvcid=4420,nqn=$NVME_NQN" > /dev/nvme-fabrics
  done
  wait_for 30 "two NVMe namespaces" '[ "$(nvme_disks | wc -w)" -eq 2 ]'
  settle
  for _d in $(nvme_disks); do
    log "NVMe $_d: controller $(nvme_ctrl "$_d") $(cat "/sys/class/nvme/$(nvme_ctrl "$_d")/address")," \
        "state $(cat "/sys/class/nvme/$(nvme_ctrl "$_d")/state"), wwid $(cat "/sys/block/$_d/wwid")"
  done
}

# nvme_disks: namespace block devices of fabrics controllers.
nvme_disks() {
  for _b in /sys/block/nvme*n*; do [ -e "$_b" ] && echo "${_b##*/}"; done
  return 0
}

# nvme_ctrl DISK: its controller (nvme1n1 -> nvme1).
nvme_ctrl() { basename "$(readlink -f "/sys/block/$1/device")"; }
