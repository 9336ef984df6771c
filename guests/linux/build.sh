#!/usr/bin/env bash
# Rebuilds the tskvm Linux guest: bzImage (a tinyconfig i386 kernel plus kernel.config) and
# initramfs.cpio (/init from init.c, /dev/console, /dev). Both are committed, so tests need none
# of this. Needs Debian's linux-source-6.1 package and the kernel's build tools:
#   apt-get install linux-source-6.1 flex bison bc
# Usage: build.sh [WORK_DIR]   (default guests/linux/.build; the kernel tree takes ~1.3 GB)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="${1:-$HERE/.build}"
TARBALL=/usr/src/linux-source-6.1.tar.xz

for tool in gcc make flex bison bc xz; do
    command -v "$tool" >/dev/null 2>&1 || { echo "build.sh: missing tool: $tool" >&2; exit 1; }
done
[ -f "$TARBALL" ] || { echo "build.sh: missing $TARBALL (apt-get install linux-source-6.1)" >&2; exit 1; }

mkdir -p "$WORK"
SRC="$WORK/linux-source-6.1"
[ -d "$SRC" ] || tar -C "$WORK" -xf "$TARBALL"

# Kernel: tinyconfig, then our fragment; olddefconfig settles dependencies.
make -C "$SRC" -s ARCH=i386 tinyconfig
"$SRC/scripts/kconfig/merge_config.sh" -m -O "$SRC" "$SRC/.config" "$HERE/kernel.config" >/dev/null
make -C "$SRC" -s ARCH=i386 olddefconfig
# Every option of the fragment must have survived (a missing dependency drops it silently).
while IFS= read -r line; do
    case "$line" in
        CONFIG_*=y) grep -qx "$line" "$SRC/.config" || { echo "build.sh: $line did not stick" >&2; exit 1; } ;;
    esac
done < "$HERE/kernel.config"
make -C "$SRC" -s ARCH=i386 -j"$(nproc)" KBUILD_BUILD_TIMESTAMP='2026-11-25' KBUILD_BUILD_USER=tskvm KBUILD_BUILD_HOST=tskvm bzImage
cp "$SRC/arch/x86/boot/bzImage" "$HERE/bzImage"

# /init: static, no libc.
gcc -m32 -march=i686 -static -nostdlib -ffreestanding -fno-pic -fno-pie -no-pie -fno-stack-protector -O2 \
    -mgeneral-regs-only -Wall -Wextra -Werror -e start -Wl,--build-id=none -s -o "$WORK/init" "$HERE/init.c"
cat > "$WORK/initramfs.list" <<LIST
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
file /init $WORK/init 0755 0 0
LIST
"$SRC/usr/gen_init_cpio" -t 0 "$WORK/initramfs.list" > "$HERE/initramfs.cpio"
echo "built guests/linux/bzImage ($(stat -c %s "$HERE/bzImage") bytes), initramfs.cpio ($(stat -c %s "$HERE/initramfs.cpio") bytes)"
