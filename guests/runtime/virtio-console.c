/* virtio-console port 0: writable receive buffers kept posted, one transmit request at a time. */
#include "virtio-console.h"
#include "string.h"

static int post_rx(struct vcon *c, u32 i)
{
    struct virtq_buf b = { c->rxbuf[i], VCON_RX_BUF_BYTES };
    int r = virtq_add(&c->rx, &b, 0, 1, NULL);
    return r < 0 ? r : VIRTIO_OK;
}

int vcon_init(struct vcon *c, u32 nth, u64 extra, int use_irq)
{
    c->cur = -1;
    int r = virtio_find(&c->dev, VIRTIO_ID_CONSOLE, nth);
    if (r) return r;
    if ((r = virtio_negotiate(&c->dev, extra)) != 0) return r;
    if ((r = virtq_setup(&c->dev, &c->rx, VCON_RX_QUEUE)) != 0) return r;
    if ((r = virtq_setup(&c->dev, &c->tx, VCON_TX_QUEUE)) != 0) return r;
    virtio_driver_ok(&c->dev, use_irq);
    for (u32 i = 0; i < VCON_RX_BUFS; i++)
        if ((r = post_rx(c, i)) != 0) return r;
    virtq_kick(&c->rx);
    return VIRTIO_OK;
}

int vcon_write(struct vcon *c, const void *buf, u32 len)
{
    struct virtq_buf b = { buf, len };
    int r = virtq_submit_wait(&c->tx, &b, 1, 0, NULL);
    return r < 0 ? r : VIRTIO_OK;
}

int vcon_puts(struct vcon *c, const char *s)
{
    return vcon_write(c, s, strlen(s));
}

int vcon_getc(struct vcon *c)
{
    while (c->cur < 0 || c->cur_pos >= c->cur_len) {
        if (c->cur >= 0) {
            /* Consumed: give the buffer back to the device. */
            int r = post_rx(c, (u32)c->cur);
            if (r) return r;
            virtq_kick(&c->rx);
            c->cur = -1;
        }
        u32 len = 0;
        int id = virtq_wait_used(&c->rx, &len);
        if (id < 0) return id;
        /* Each posted chain is a single descriptor; find which buffer it was. */
        u32 addr = (u32)c->rx.desc[id].addr;
        c->cur = (int)((addr - (u32)c->rxbuf[0]) / VCON_RX_BUF_BYTES);
        c->cur_len = len > VCON_RX_BUF_BYTES ? VCON_RX_BUF_BYTES : len;
        c->cur_pos = 0;
    }
    return c->rxbuf[c->cur][c->cur_pos++];
}
