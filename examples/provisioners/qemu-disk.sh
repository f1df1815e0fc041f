#!/bin/sh
# Atelier `command` provisioner: creates the workstation's disk as a thin
# qcow2 image of `storageGB` with qemu-img, and keeps the spec beside it.
#
#   atelier serve --provisioner command --provisioner-command examples/provisioners/qemu-disk.sh
#
# Input: the workstation as JSON on stdin, and ATELIER_WORKSTATION_ID,
# ATELIER_NAME, ATELIER_CPU_CORES, ATELIER_MEMORY_GB, ATELIER_GPU,
# ATELIER_STORAGE_GB, ATELIER_REGION in the environment.
# The action is the first argument (and ATELIER_ACTION): provision, launch,
# stop or delete.
# Output: each line is logged; `::progress <percent> <phase>` sets the phase.
# Exit 0 means done. ATELIER_DISK_DIR chooses where disks go.
set -eu

dir="${ATELIER_DISK_DIR:-./data/disks}"
disk="$dir/$ATELIER_WORKSTATION_ID.qcow2"

case "${1:-provision}" in
  provision) ;;
  launch)
    # Booting a VM needs a hypervisor; this example checks the disk is there.
    echo "::progress 50 checking-disk"
    qemu-img check -q "$disk"
    echo "Disk $disk is healthy; the workstation would boot from it"
    exit 0
    ;;
  stop)
    echo "Nothing to stop for a disk-only workstation"
    exit 0
    ;;
  delete)
    echo "::progress 50 removing-disk"
    rm -f "$disk" "$dir/$ATELIER_WORKSTATION_ID.json"
    echo "Removed $disk"
    exit 0
    ;;
  *)
    echo "unknown action: $1" >&2
    exit 64
    ;;
esac

echo "::progress 5 preparing"
if ! command -v qemu-img >/dev/null 2>&1; then
  echo "qemu-img is not installed (Debian: apt-get install qemu-utils)" >&2
  exit 2
fi
mkdir -p "$dir"
cat > "$dir/$ATELIER_WORKSTATION_ID.json"
echo "Saved the specification of $ATELIER_NAME ($ATELIER_CPU_CORES vCPUs, $ATELIER_MEMORY_GB GB, $ATELIER_GPU, $ATELIER_REGION)"

echo "::progress 30 creating-disk"
echo "Creating a thin ${ATELIER_STORAGE_GB} GB qcow2 disk at $disk"
qemu-img create -q -f qcow2 "$disk" "${ATELIER_STORAGE_GB}G"

echo "::progress 80 verifying-disk"
qemu-img info "$disk" | grep -E '^(file format|virtual size|disk size):'
echo "::progress 100 ready"
