#!/usr/bin/env bash
# Re-records guests/expected/<name>.txt (exact COM1 bytes) and <name>.status (QEMU's exit status)
# by running each multiboot image (and each bios-* firmware ROM, with -bios) under QEMU TCG.
# QEMU is a reference only; tests never need it.
# Usage: record.sh [name ...]   (default: every images/*.elf and images/bios-*.bin)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
QEMU="${QEMU:-qemu-system-i386}"
command -v "$QEMU" >/dev/null 2>&1 || { echo "record.sh: missing $QEMU (apt-get install qemu-system-x86)" >&2; exit 1; }
command -v timeout >/dev/null 2>&1 || { echo "record.sh: missing timeout (coreutils)" >&2; exit 1; }

# A P6-class CPU (Pentium III): CMOV, CX8, TSC, PSE, SYSENTER; guests use no SSE code (only cpu-x87 uses the x87).
QEMU_ARGS=(-serial stdio -display none -no-reboot -monitor none -nodefaults
           -device isa-debug-exit,iobase=0xf4,iosize=0x04 -cpu pentium3 -m 128 -accel tcg)
TIMEOUT_S=30

# Guests whose transcript is written by hand because QEMU TCG deviates from the architecture
# there (see README.md); record.sh never overwrites them.
HAND_WRITTEN=(cpu-tcg-gaps dev-misprogram)
# Guests with no QEMU transcript: virtio-mmio devices do not exist on QEMU's PC machine, and the
# benchmark, spin and demo guests print host-dependent results or never end.
NOT_RECORDED=(virtio-blk virtio-console virtio-rng virtio-net spin demo
              bench-compute bench-cpuid bench-pio bench-mmio bench-doorbell bench-console
              bench-disk bench-paging bench-timer)
# Guests that need the primary ATA master: a fresh all-zero disk of this many bytes each run.
ATA_GUESTS=(dev-ata)
ATA_DISK_BYTES=1048576

mkdir -p "$HERE/expected" "$HERE/.build"
if [ $# -eq 0 ]; then
    set -- $(cd "$HERE/images" && ls *.elf bios-*.bin | sed 's/\.elf$//; s/\.bin$//')
fi
for name in "$@"; do
    if [[ " ${HAND_WRITTEN[*]} " == *" $name "* ]]; then
        echo "skipped $name: expected transcript is written by hand"
        continue
    fi
    if [[ " ${NOT_RECORDED[*]} " == *" $name "* ]]; then
        echo "skipped $name: no QEMU transcript (see README.md)"
        continue
    fi
    extra=()
    if [[ " ${ATA_GUESTS[*]} " == *" $name "* ]]; then
        disk="$HERE/.build/$name.disk"
        rm -f "$disk"
        truncate -s "$ATA_DISK_BYTES" "$disk"
        extra=(-drive "file=$disk,format=raw,if=ide,index=0")
    fi
    # Firmware ROMs (bios-*) replace QEMU's own BIOS and start at the reset vector.
    if [[ "$name" == bios-* ]]; then
        img="$HERE/images/$name.bin"
        boot=(-bios "$img")
    else
        img="$HERE/images/$name.elf"
        boot=(-kernel "$img")
    fi
    [ -f "$img" ] || { echo "record.sh: no image $img" >&2; exit 1; }
    set +e
    timeout "$TIMEOUT_S" "$QEMU" "${boot[@]}" "${QEMU_ARGS[@]}" "${extra[@]}" \
        >"$HERE/expected/$name.txt" 2>"$HERE/.build/$name.qemu-stderr" </dev/null
    status=$?
    set -e
    if [ "$status" -eq 124 ]; then
        echo "record.sh: $name did not finish within ${TIMEOUT_S}s; expected/$name.* not trustworthy" >&2
        exit 1
    fi
    echo "$status" >"$HERE/expected/$name.status"
    fails=$(grep -c '^FAIL' "$HERE/expected/$name.txt" || true)
    echo "recorded $name: status $status, $(wc -l <"$HERE/expected/$name.txt") lines, $fails FAIL"
done
