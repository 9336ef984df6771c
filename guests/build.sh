#!/usr/bin/env bash
# Rebuilds every guest image into guests/images/ (committed, so tests need no compiler).
# Idempotent; fails loudly when a tool is missing or a build step fails.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/src"
RT="$HERE/runtime"
OUT="$HERE/images"
OBJ="$HERE/.build"

for tool in gcc as ld objcopy ar strip; do
    command -v "$tool" >/dev/null 2>&1 || { echo "build.sh: missing tool: $tool" >&2; exit 1; }
done

CC=gcc
# No x87/SSE in guest code, except the sources in FPU_SRCS (x87 only: -mfpmath=387, and
# -march=i686 keeps SSE out).
CFLAGS=(-m32 -march=i686 -ffreestanding -fno-pic -fno-pie -fno-stack-protector -nostdlib -O2
        -mgeneral-regs-only -fno-asynchronous-unwind-tables -fno-builtin -std=gnu11
        -Wall -Wextra -Werror -I"$RT")
ASFLAGS=(-m32 -march=i686 -fno-pic -fno-pie -I"$RT")
LDFLAGS=(-m elf_i386 -T "$RT/link.ld" -n --build-id=none --no-warn-rwx-segments -z noexecstack)

RUNTIME_SRCS=(start.S serial.c printf.c string.c exit.c desc.c isr.S catch.S trap.c test.c pic.c pit.c user.c user-entry.S paging.c timer.c
              cmdline.c ata.c serial-irq.c virtio.c virtio-blk.c virtio-console.c virtio-rng.c virtio-net.c bench.c)

mkdir -p "$OUT" "$OBJ"

# Sources compiled with the x87 FPU allowed: CFLAGS without -mgeneral-regs-only, plus -mfpmath=387.
FPU_SRCS=(cpu-x87.c)
FPU_CFLAGS=(-mfpmath=387)
for f in "${CFLAGS[@]}"; do [ "$f" = -mgeneral-regs-only ] || FPU_CFLAGS+=("$f"); done

compile() { # compile SRC OBJ
    case "$1" in
        *.c)
            if [[ " ${FPU_SRCS[*]} " == *" $(basename "$1") "* ]]; then
                "$CC" "${FPU_CFLAGS[@]}" -c "$1" -o "$2"
            else
                "$CC" "${CFLAGS[@]}" -c "$1" -o "$2"
            fi ;;
        *.S) "$CC" "${ASFLAGS[@]}" -c "$1" -o "$2" ;;
        *) echo "build.sh: unknown source type: $1" >&2; exit 1 ;;
    esac
}

RT_OBJS=()
for s in "${RUNTIME_SRCS[@]}"; do
    o="$OBJ/rt-${s%.*}.o"
    compile "$RT/$s" "$o"
    RT_OBJS+=("$o")
done
# An archive, so each guest links only the runtime objects it uses.
RT_LIB="$OBJ/libguest.a"
rm -f "$RT_LIB"
ar rcs "$RT_LIB" "${RT_OBJS[@]}"

# Multiboot guests: name followed by its source files under src/.
MULTIBOOT_GUESTS=(
    "hello hello.c"
    "cpu-alu cpu-alu.c"
    "cpu-muldiv cpu-muldiv.c"
    "cpu-misc cpu-misc.c cpu-misc-asm.S"
    "cpu-system cpu-system.c cpu-system-asm.S"
    "cpu-tcg-gaps cpu-tcg-gaps.c"
    "cpu-paging cpu-paging.c cpu-paging-asm.S"
    "cpu-exceptions cpu-exceptions.c"
    "cpu-mode16 cpu-mode16.c cpu-mode16-asm.S"
    "cpu-segments cpu-segments.c"
    "cpu-tasks cpu-tasks.c"
    "cpu-x87 cpu-x87.c"
    "triple-fault triple-fault.c"
    "dev-uart dev-uart.c"
    "dev-pic-pit dev-pic-pit.c"
    "dev-ata dev-ata.c"
    "dev-timer dev-timer.c"
    "dev-misprogram dev-misprogram.c"
    "spin spin.c"
    "bench-compute bench-compute.c"
    "bench-cpuid bench-cpuid.c"
    "bench-pio bench-pio.c"
    "bench-mmio bench-mmio.c"
    "bench-doorbell bench-doorbell.c"
    "bench-console bench-console.c"
    "bench-disk bench-disk.c"
    "bench-paging bench-paging.c"
    "bench-timer bench-timer.c"
    "demo demo.c"
    "virtio-rng virtio-rng.c"
    "virtio-blk virtio-blk.c"
    "virtio-console virtio-console.c"
    "virtio-net virtio-net.c"
)

for entry in "${MULTIBOOT_GUESTS[@]}"; do
    read -r name srcs <<<"$entry"
    objs=()
    for s in $srcs; do
        o="$OBJ/$name-${s%.*}.o"
        compile "$SRC/$s" "$o"
        objs+=("$o")
    done
    # The unstripped image stays in .build/ for nm/objdump/addr2line when debugging.
    ld "${LDFLAGS[@]}" -o "$OBJ/$name.elf" "$OBJ/rt-start.o" "${objs[@]}" "$RT_LIB"
    strip --strip-all -o "$OUT/$name.elf" "$OBJ/$name.elf"
    echo "built images/$name.elf ($(stat -c %s "$OUT/$name.elf") bytes)"
done

# Raw real-mode images: assembled as 16-bit code and copied out as flat binaries.
build_raw() { # build_raw NAME EXPECTED_SIZE
    local name="$1" want="$2"
    "$CC" -m32 -c "$SRC/$name.S" -o "$OBJ/$name.o"
    ld -m elf_i386 -Ttext 0 -e _start --build-id=none -z noexecstack -o "$OBJ/$name.elf" "$OBJ/$name.o"
    objcopy -O binary -j .text "$OBJ/$name.elf" "$OUT/$name.bin"
    local size
    size=$(stat -c %s "$OUT/$name.bin")
    if [ "$size" -ne "$want" ]; then
        echo "build.sh: images/$name.bin is $size bytes, expected $want" >&2
        exit 1
    fi
    echo "built images/$name.bin ($size bytes)"
}
build_raw realmode-add 12

# The linux-boot bzImage: a flat 32-bit payload linked at 1 MiB behind a two-sector real-mode
# setup that carries the boot-protocol header (syssize and init_size are taken from the payload).
build_bzimage() { # build_bzimage NAME
    local name="$1"
    compile "$SRC/$name-entry.S" "$OBJ/$name-entry.o"
    compile "$SRC/$name.c" "$OBJ/$name.o"
    ld -m elf_i386 -T "$RT/link-linux.ld" -n --build-id=none --no-warn-rwx-segments -z noexecstack \
        -o "$OBJ/$name-payload.elf" "$OBJ/$name-entry.o" "$OBJ/$name.o" "$RT_LIB"
    objcopy -O binary "$OBJ/$name-payload.elf" "$OBJ/$name-payload.bin"
    local size end
    size=$(stat -c %s "$OBJ/$name-payload.bin")
    end=$(nm "$OBJ/$name-payload.elf" | awk '$3 == "_end" { print $1 }')
    "$CC" -m32 -c -Wa,--defsym,SYSSIZE=$(( (size + 15) / 16 )) -Wa,--defsym,INIT_SIZE=$(( 0x$end - 0x100000 )) \
        "$SRC/$name-setup.S" -o "$OBJ/$name-setup.o"
    ld -m elf_i386 -Ttext 0 -e _start --build-id=none -z noexecstack -o "$OBJ/$name-setup.elf" "$OBJ/$name-setup.o"
    objcopy -O binary -j .text "$OBJ/$name-setup.elf" "$OBJ/$name-setup.bin"
    if [ "$(stat -c %s "$OBJ/$name-setup.bin")" -ne 1024 ]; then
        echo "build.sh: $name setup is not 1024 bytes" >&2
        exit 1
    fi
    cat "$OBJ/$name-setup.bin" "$OBJ/$name-payload.bin" > "$OUT/$name.bzImage"
    echo "built images/$name.bzImage ($(stat -c %s "$OUT/$name.bzImage") bytes)"
}
build_bzimage linux-boot

# Firmware ROMs for `tskvm run --bios`: 16-bit code linked at offset 0 of the ROM (CS = 0xF000
# after the reset vector's far jump), a flat binary of exactly 64 KiB whose last 16 bytes start
# with that jump (offset 0xFFF0 = physical 0xFFFFFFF0 and 0xFFFF0).
build_bios() { # build_bios NAME
    local name="$1" rom_size=65536
    "$CC" -m32 -c "$SRC/$name.S" -o "$OBJ/$name.o"
    ld -m elf_i386 -Ttext 0 -e _start --build-id=none -z noexecstack -o "$OBJ/$name.elf" "$OBJ/$name.o"
    objcopy -O binary -j .text --gap-fill 0 --pad-to "$rom_size" "$OBJ/$name.elf" "$OUT/$name.bin"
    local size
    size=$(stat -c %s "$OUT/$name.bin")
    if [ "$size" -ne "$rom_size" ]; then
        echo "build.sh: images/$name.bin is $size bytes, expected $rom_size" >&2
        exit 1
    fi
    if [ "$(od -An -tx1 -j 65520 -N 1 "$OUT/$name.bin" | tr -d ' ')" != "ea" ]; then
        echo "build.sh: images/$name.bin has no far jump at the reset vector (offset 0xFFF0)" >&2
        exit 1
    fi
    echo "built images/$name.bin ($size bytes)"
}
build_bios bios-hello
