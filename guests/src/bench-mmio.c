/* n= (default 100000) reads of MagicValue of the first virtio-mmio device on the command line:
 * each an MMIO exit (EPT violation/misconfiguration) handled by the device model. */
#include "rt.h"

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic;
    bench_begin(info);
    u32 n = cmdline_u32("n", 100000);
    char params[32];
    snprintf(params, sizeof(params), "n=%u", n);
    if (cmdline_virtio_count() == 0)
        bench_end("bench-mmio", params, "no-virtio-device", 0);
    volatile u32 *magic_reg = (volatile u32 *)(cmdline_virtio(0)->base + VIRTIO_MMIO_MAGIC_VALUE);
    u32 bad = 0;
    for (u32 i = 0; i < n; i++)
        if (*magic_reg != VIRTIO_MMIO_MAGIC) bad++;
    bench_end("bench-mmio", params, bad ? "magic-mismatch" : "ok", !bad);
}
