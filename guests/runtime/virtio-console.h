/* virtio-console driver, port 0 only (virtio 1.x section 5.3; facts.md 4.8): queue 0 receiveq,
 * queue 1 transmitq. */
#ifndef RT_VIRTIO_CONSOLE_H
#define RT_VIRTIO_CONSOLE_H
#include "virtio.h"

#define VCON_RX_QUEUE 0
#define VCON_TX_QUEUE 1
#define VCON_RX_BUFS 4
#define VCON_RX_BUF_BYTES 64

struct vcon {
    struct virtio_dev dev;
    struct virtq rx, tx;
    u8 rxbuf[VCON_RX_BUFS][VCON_RX_BUF_BYTES];
    int cur;            /* rx buffer being consumed, or -1 */
    u32 cur_len, cur_pos;
};

/* Finds the nth console, sets up both queues, posts the receive buffers and sets DRIVER_OK. */
int vcon_init(struct vcon *c, u32 nth, u64 extra, int use_irq);
/* Sends len bytes on port 0 and waits until the device has consumed them. Returns 0 or an error. */
int vcon_write(struct vcon *c, const void *buf, u32 len);
int vcon_puts(struct vcon *c, const char *s);
/* The next received byte, waiting for one; a negative virtio_error on timeout (polled mode). */
int vcon_getc(struct vcon *c);
#endif
