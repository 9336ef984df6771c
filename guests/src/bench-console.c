/* bytes= (default 65536) of output, through the 16550 (dev=uart, default: the THRE-interrupt
 * transmit ring) or port 0 of virtio-console (dev=virtio, 4 KiB per request). The output is lines
 * of 63 letters and a newline; the result line follows on COM1. */
#include "rt.h"

#define CHUNK 4096
#define LINE 64

static u8 chunk[CHUNK];
static struct vcon con;

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic;
    bench_begin(info);
    u32 total = cmdline_u32("bytes", 65536);
    char dev[8] = "uart";
    cmdline_get("dev", dev, sizeof(dev));
    int virtio = strcmp(dev, "virtio") == 0;
    char params[48];
    snprintf(params, sizeof(params), "dev=%s bytes=%u", virtio ? "virtio" : "uart", total);
    for (u32 i = 0; i < CHUNK; i++)
        chunk[i] = i % LINE == LINE - 1 ? '\n' : (u8)('a' + i % 26);
    if (virtio) {
        if (vcon_init(&con, 0, VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX), 1) != VIRTIO_OK)
            bench_end("bench-console", params, "no-virtio-console", 0);
        for (u32 done = 0; done < total; done += CHUNK) {
            u32 n = total - done < CHUNK ? total - done : CHUNK;
            if (vcon_write(&con, chunk, n) != VIRTIO_OK)
                bench_end("bench-console", params, "write-failed", 0);
        }
    } else {
        serial_irq_init();
        for (u32 done = 0; done < total; done += CHUNK) {
            u32 n = total - done < CHUNK ? total - done : CHUNK;
            serial_irq_write(chunk, n);
        }
        serial_irq_stop();
    }
    bench_end("bench-console", params, "ok", 1);
}
