step "look around"
ls /
load_modules dm-mod scsi_debug
lsblk
