/* virtio-net: header + frame in one chain per packet (virtio 1.x 5.1.6). */
#include "virtio-net.h"
#include "string.h"

static struct virtio_net_hdr tx_hdr;

static int post_rx(struct vnet *n, u32 i)
{
    struct virtq_buf b = { n->rxbuf[i], sizeof(n->rxbuf[i]) };
    int r = virtq_add(&n->rx, &b, 0, 1, NULL);
    return r < 0 ? r : VIRTIO_OK;
}

int vnet_init(struct vnet *n, u32 nth, u64 extra, int use_irq)
{
    int r = virtio_find(&n->dev, VIRTIO_ID_NET, nth);
    if (r) return r;
    if ((r = virtio_negotiate(&n->dev, extra | VIRTIO_FEATURE(VIRTIO_NET_F_MAC))) != 0) return r;
    if ((r = virtq_setup(&n->dev, &n->rx, VNET_RX_QUEUE)) != 0) return r;
    if ((r = virtq_setup(&n->dev, &n->tx, VNET_TX_QUEUE)) != 0) return r;
    for (u32 i = 0; i < ETH_ALEN; i++)
        n->mac[i] = virtio_has(&n->dev, VIRTIO_NET_F_MAC) ? virtio_config8(&n->dev, VIRTIO_NET_CFG_MAC + i) : 0;
    virtio_driver_ok(&n->dev, use_irq);
    for (u32 i = 0; i < VNET_RX_BUFS; i++)
        if ((r = post_rx(n, i)) != 0) return r;
    virtq_kick(&n->rx);
    return VIRTIO_OK;
}

int vnet_send(struct vnet *n, const void *frame, u32 len)
{
    memset(&tx_hdr, 0, sizeof(tx_hdr));
    struct virtq_buf b[2] = { { &tx_hdr, VIRTIO_NET_HDR_BYTES }, { frame, len } };
    int r = virtq_submit_wait(&n->tx, b, 2, 0, NULL);
    return r < 0 ? r : VIRTIO_OK;
}

/* Copies the frame of used receive buffer id out and posts the buffer again. */
static int take_frame(struct vnet *n, int id, u32 len, void *buf, u32 max)
{
    u32 i = ((u32)n->rx.desc[id].addr - (u32)n->rxbuf[0]) / sizeof(n->rxbuf[0]);
    u32 frame = len > VIRTIO_NET_HDR_BYTES ? len - VIRTIO_NET_HDR_BYTES : 0;
    memcpy(buf, n->rxbuf[i] + VIRTIO_NET_HDR_BYTES, frame < max ? frame : max);
    int r = post_rx(n, i);
    if (r) return r;
    virtq_kick(&n->rx);
    return (int)frame;
}

int vnet_recv(struct vnet *n, void *buf, u32 max)
{
    u32 len = 0;
    int id = virtq_wait_used(&n->rx, &len);
    if (id < 0) return id;
    return take_frame(n, id, len, buf, max);
}

int vnet_try_recv(struct vnet *n, void *buf, u32 max)
{
    u32 len = 0;
    int id = virtq_get_used(&n->rx, &len);
    if (id == -1) return VNET_NONE;
    if (id < 0) return id;
    return take_frame(n, id, len, buf, max);
}
