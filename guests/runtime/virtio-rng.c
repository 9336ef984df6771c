/* virtio-rng requests: one writable buffer the device fills (virtio 1.x 5.4.6). */
#include "virtio-rng.h"

int vrng_init(struct vrng *r, u32 nth, u64 extra, int use_irq)
{
    int e = virtio_find(&r->dev, VIRTIO_ID_ENTROPY, nth);
    if (e) return e;
    if ((e = virtio_negotiate(&r->dev, extra)) != 0) return e;
    if ((e = virtq_setup(&r->dev, &r->q, 0)) != 0) return e;
    virtio_driver_ok(&r->dev, use_irq);
    return VIRTIO_OK;
}

int vrng_read(struct vrng *r, void *buf, u32 len)
{
    struct virtq_buf b = { buf, len };
    return virtq_submit_wait(&r->q, &b, 0, 1, NULL);
}
