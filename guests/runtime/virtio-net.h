/* virtio-net driver (virtio 1.x section 5.1; facts.md 4): MAC from config space, queue 0 receiveq,
 * queue 1 transmitq, each packet preceded by the 12-byte struct virtio_net_hdr (VERSION_1 layout,
 * with num_buffers) and no offloads. */
#ifndef RT_VIRTIO_NET_H
#define RT_VIRTIO_NET_H
#include "virtio.h"

#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_CFG_MAC 0x00
#define VIRTIO_NET_HDR_BYTES 12
#define VNET_RX_QUEUE 0
#define VNET_TX_QUEUE 1
#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_FRAME_MAX 1514   /* without FCS */
#define VNET_RX_BUFS 4

struct virtio_net_hdr {
    u8 flags, gso_type;
    u16 hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

struct vnet {
    struct virtio_dev dev;
    struct virtq rx, tx;
    u8 mac[ETH_ALEN];
    /* Receive buffers: header + a full frame each, posted whole (no MRG_RXBUF). */
    u8 rxbuf[VNET_RX_BUFS][VIRTIO_NET_HDR_BYTES + ETH_FRAME_MAX];
};

/* Finds the nth net device, negotiates MAC, sets up both queues, posts receive buffers. */
int vnet_init(struct vnet *n, u32 nth, u64 extra, int use_irq);
/* Sends one Ethernet frame (without FCS) and waits until the device has taken it. */
int vnet_send(struct vnet *n, const void *frame, u32 len);
/* Waits for the next frame; copies at most max bytes to buf and returns the frame length (or a
 * negative virtio_error). */
int vnet_recv(struct vnet *n, void *buf, u32 max);
/* Like vnet_recv without waiting: VNET_NONE when no frame has arrived. */
#define VNET_NONE (-100)
int vnet_try_recv(struct vnet *n, void *buf, u32 max);
#endif
