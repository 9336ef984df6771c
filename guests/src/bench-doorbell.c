/* n= (default 100000) QueueNotify writes for queue 0 of the first virtio device on the command
 * line, set up and DRIVER_OK but with no buffers made available: the cost of a doorbell alone. */
#include "rt.h"

static struct virtio_dev dev;
static struct virtq q;

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic;
    bench_begin(info);
    u32 n = cmdline_u32("n", 100000);
    char params[32];
    snprintf(params, sizeof(params), "n=%u", n);
    if (cmdline_virtio_count() == 0 || virtio_probe(&dev, cmdline_virtio(0)->base, cmdline_virtio(0)->irq) != VIRTIO_OK)
        bench_end("bench-doorbell", params, "no-virtio-device", 0);
    if (virtio_negotiate(&dev, 0) != VIRTIO_OK || virtq_setup(&dev, &q, 0) != VIRTIO_OK)
        bench_end("bench-doorbell", params, "setup-failed", 0);
    virtio_driver_ok(&dev, 0);
    volatile u32 *notify = (volatile u32 *)(dev.base + VIRTIO_MMIO_QUEUE_NOTIFY);
    for (u32 i = 0; i < n; i++)
        *notify = 0;
    bench_end("bench-doorbell", params, "ok", 1);
}
