/* virtio-mmio v2 transport and split virtqueues (virtio 1.x sections 2.7, 3.1.1, 4.2). */
#include "virtio.h"
#include "cmdline.h"
#include "cpu.h"
#include "pic.h"
#include "string.h"
#include "trap.h"

/* Polled waits give up after this many looks at used.idx (a lost request, not a slow one). */
#define VIRTIO_POLL_LIMIT 50000000u
#define PIC_LINES 16

/* Devices by IRQ line, for the shared interrupt handler. */
static struct virtio_dev *by_irq[PIC_LINES];

u32 virtio_read32(const struct virtio_dev *d, u32 off)
{
    return *(volatile u32 *)(d->base + off);
}

void virtio_write32(const struct virtio_dev *d, u32 off, u32 v)
{
    *(volatile u32 *)(d->base + off) = v;
}

u8 virtio_config8(const struct virtio_dev *d, u32 off)
{
    return *(volatile u8 *)(d->base + VIRTIO_MMIO_CONFIG + off);
}

u32 virtio_config32(const struct virtio_dev *d, u32 off)
{
    return virtio_read32(d, VIRTIO_MMIO_CONFIG + off);
}

u64 virtio_config64(const struct virtio_dev *d, u32 off)
{
    u32 gen, lo, hi;
    do {
        gen = virtio_read32(d, VIRTIO_MMIO_CONFIG_GENERATION);
        lo = virtio_config32(d, off);
        hi = virtio_config32(d, off + 4);
    } while (gen != virtio_read32(d, VIRTIO_MMIO_CONFIG_GENERATION));
    return ((u64)hi << 32) | lo;
}

int virtio_probe(struct virtio_dev *d, u32 base, u32 irq)
{
    memset(d, 0, sizeof(*d));
    d->base = base;
    d->irq = irq;
    if (virtio_read32(d, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
        return VIRTIO_E_NO_DEVICE;
    if (virtio_read32(d, VIRTIO_MMIO_VERSION) != VIRTIO_MMIO_VERSION_MODERN)
        return VIRTIO_E_NO_DEVICE;
    d->device_id = virtio_read32(d, VIRTIO_MMIO_DEVICE_ID);
    /* Device id 0 is a placeholder the driver must ignore (section 4.2.3.1.1). */
    return d->device_id ? VIRTIO_OK : VIRTIO_E_NO_DEVICE;
}

int virtio_find(struct virtio_dev *d, u32 device_id, u32 nth)
{
    for (u32 i = 0; i < cmdline_virtio_count(); i++) {
        const struct virtio_mmio_decl *decl = cmdline_virtio(i);
        if (virtio_probe(d, decl->base, decl->irq) != VIRTIO_OK || d->device_id != device_id)
            continue;
        if (nth-- == 0)
            return VIRTIO_OK;
    }
    return VIRTIO_E_NO_DEVICE;
}

void virtio_reset(struct virtio_dev *d)
{
    virtio_write32(d, VIRTIO_MMIO_STATUS, 0);
}

int virtio_negotiate(struct virtio_dev *d, u64 wanted)
{
    virtio_reset(d);
    u32 status = VIRTIO_STATUS_ACKNOWLEDGE;
    virtio_write32(d, VIRTIO_MMIO_STATUS, status);
    status |= VIRTIO_STATUS_DRIVER;
    virtio_write32(d, VIRTIO_MMIO_STATUS, status);
    virtio_write32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    u64 offered = virtio_read32(d, VIRTIO_MMIO_DEVICE_FEATURES);
    virtio_write32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    offered |= (u64)virtio_read32(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
    d->features = offered & (wanted | VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
    if (!(d->features & VIRTIO_FEATURE(VIRTIO_F_VERSION_1)))
        goto failed;
    virtio_write32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    virtio_write32(d, VIRTIO_MMIO_DRIVER_FEATURES, (u32)d->features);
    virtio_write32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    virtio_write32(d, VIRTIO_MMIO_DRIVER_FEATURES, (u32)(d->features >> 32));
    status |= VIRTIO_STATUS_FEATURES_OK;
    virtio_write32(d, VIRTIO_MMIO_STATUS, status);
    if (!(virtio_read32(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        goto failed;
    return VIRTIO_OK;
failed:
    virtio_write32(d, VIRTIO_MMIO_STATUS, status | VIRTIO_STATUS_FAILED);
    return VIRTIO_E_FEATURES;
}

int virtio_has(const struct virtio_dev *d, u32 bit)
{
    return (d->features & VIRTIO_FEATURE(bit)) != 0;
}

/* used_event sits after avail.ring[size], avail_event after used.ring[size] (section 2.7.10). */
static volatile u16 *used_event(struct virtq *q)
{
    return (volatile u16 *)((u8 *)&q->avail + 4 + 2 * q->size);
}
static volatile u16 *avail_event(struct virtq *q)
{
    return (volatile u16 *)((u8 *)&q->used + 4 + sizeof(struct virtq_used_elem) * q->size);
}

static void write_addr(struct virtio_dev *d, u32 low_reg, const void *p)
{
    virtio_write32(d, low_reg, (u32)p);
    virtio_write32(d, low_reg + 4, 0);   /* the high half: guest memory is below 4 GiB */
}

int virtq_setup(struct virtio_dev *d, struct virtq *q, u16 index)
{
    return virtq_setup_size(d, q, index, VIRTQ_DEFAULT_SIZE);
}

int virtq_setup_size(struct virtio_dev *d, struct virtq *q, u16 index, u16 want)
{
    virtio_write32(d, VIRTIO_MMIO_QUEUE_SEL, index);
    if (virtio_read32(d, VIRTIO_MMIO_QUEUE_READY) != 0)
        return VIRTIO_E_QUEUE;
    u32 max = virtio_read32(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
    if (max == 0)
        return VIRTIO_E_QUEUE;
    memset(q, 0, sizeof(*q));
    q->dev = d;
    q->index = index;
    if (want > VIRTQ_MAX_SIZE) want = VIRTQ_MAX_SIZE;
    q->size = (u16)(max < want ? max : want);
    for (u16 i = 0; i < q->size; i++)
        q->desc[i].next = (u16)(i + 1);
    q->num_free = q->size;
    virtio_write32(d, VIRTIO_MMIO_QUEUE_NUM, q->size);
    write_addr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, q->desc);
    write_addr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, &q->avail);
    write_addr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, &q->used);
    virtio_write32(d, VIRTIO_MMIO_QUEUE_READY, 1);
    return VIRTIO_OK;
}

static void virtio_irq(struct trap_frame *f)
{
    u32 irq = f->vector - PIC_VECTOR_BASE;
    struct virtio_dev *d = irq < PIC_LINES ? by_irq[irq] : NULL;
    if (d) {
        u32 isr = virtio_read32(d, VIRTIO_MMIO_INTERRUPT_STATUS);
        /* Acknowledge before looking at the rings so a later completion raises a new interrupt. */
        virtio_write32(d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
        d->last_isr = isr;
        if (isr)
            d->interrupts++;
    }
    pic_eoi((u8)irq);
}

void virtio_driver_ok(struct virtio_dev *d, int use_irq)
{
    d->use_irq = use_irq;
    if (use_irq && d->irq < PIC_LINES) {
        by_irq[d->irq] = d;
        trap_set_handler((u8)(PIC_VECTOR_BASE + d->irq), virtio_irq);
        pic_unmask((u8)d->irq);
    }
    virtio_write32(d, VIRTIO_MMIO_STATUS, virtio_read32(d, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

static u16 alloc_desc(struct virtq *q)
{
    u16 id = q->free_head;
    q->free_head = q->desc[id].next;
    q->num_free--;
    return id;
}

int virtq_add(struct virtq *q, const struct virtq_buf *bufs, u32 n_out, u32 n_in, struct virtq_desc *indirect)
{
    u32 n = n_out + n_in;
    u32 need = indirect ? 1 : n;
    if (n == 0 || need > q->num_free)
        return VIRTIO_E_FULL;
    u16 head;
    if (indirect) {
        /* An indirect table's entries chain by index within the table (section 2.7.5.3). */
        for (u32 i = 0; i < n; i++) {
            indirect[i].addr = (u32)bufs[i].addr;
            indirect[i].len = bufs[i].len;
            indirect[i].flags = (u16)((i >= n_out ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
            indirect[i].next = (u16)(i + 1 < n ? i + 1 : 0);
        }
        head = alloc_desc(q);
        q->desc[head].addr = (u32)indirect;
        q->desc[head].len = n * sizeof(struct virtq_desc);
        q->desc[head].flags = VIRTQ_DESC_F_INDIRECT;
    } else {
        head = alloc_desc(q);
        u16 id = head;
        for (u32 i = 0; i < n; i++) {
            struct virtq_desc *dsc = &q->desc[id];
            dsc->addr = (u32)bufs[i].addr;
            dsc->len = bufs[i].len;
            dsc->flags = (u16)(i >= n_out ? VIRTQ_DESC_F_WRITE : 0);
            if (i + 1 < n) {
                u16 next = alloc_desc(q);
                dsc->flags |= VIRTQ_DESC_F_NEXT;
                dsc->next = next;
                id = next;
            }
        }
    }
    q->chain_len[head] = (u16)need;
    q->avail.ring[q->avail.idx % q->size] = head;
    /* The ring entry must be visible before the index that publishes it (section 2.7.13). */
    barrier();
    *(volatile u16 *)&q->avail.idx = (u16)(q->avail.idx + 1);
    return head;
}

int virtq_kick(struct virtq *q)
{
    barrier();
    u16 new_idx = q->avail.idx, old_idx = q->kicked_idx;
    q->kicked_idx = new_idx;
    int notify;
    if (virtio_has(q->dev, VIRTIO_F_EVENT_IDX))
        notify = (u16)(new_idx - *avail_event(q) - 1) < (u16)(new_idx - old_idx);
    else
        notify = !(*(volatile u16 *)&q->used.flags & VIRTQ_USED_F_NO_NOTIFY);
    if (notify) {
        virtio_write32(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
        q->notifies++;
    }
    return notify;
}

int virtq_get_used(struct virtq *q, u32 *len)
{
    if (*(volatile u16 *)&q->used.idx == q->last_used)
        return -1;
    barrier();
    struct virtq_used_elem e = q->used.ring[q->last_used % q->size];
    q->last_used++;
    if (e.id >= q->size)
        return VIRTIO_E_DEVICE;
    if (len)
        *len = e.len;
    /* Return the chain to the free list. */
    u16 id = (u16)e.id, n = q->chain_len[id];
    for (u16 i = 1; i < n; i++)
        id = q->desc[id].next;
    q->desc[id].next = q->free_head;
    q->free_head = (u16)e.id;
    q->num_free = (u16)(q->num_free + n);
    return (int)e.id;
}

void virtq_arm(struct virtq *q)
{
    if (virtio_has(q->dev, VIRTIO_F_EVENT_IDX))
        *used_event(q) = q->last_used;
    else
        *(volatile u16 *)&q->avail.flags = 0;
    barrier();
}

int virtq_wait_used(struct virtq *q, u32 *len)
{
    struct virtio_dev *d = q->dev;
    int event_idx = virtio_has(d, VIRTIO_F_EVENT_IDX);
    if (d->use_irq) {
        virtq_arm(q);
        for (;;) {
            cli();
            int id = virtq_get_used(q, len);
            if (id != -1)
                return id;
            /* STI's one-instruction shadow covers HLT, so an interrupt arriving now wakes it. */
            __asm__ volatile("sti; hlt; cli" : : : "memory");
        }
    }
    /* Polling: ask the device not to interrupt. */
    if (event_idx)
        *used_event(q) = (u16)(q->last_used - 1);
    else
        *(volatile u16 *)&q->avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
    for (u32 i = 0; i < VIRTIO_POLL_LIMIT; i++) {
        int id = virtq_get_used(q, len);
        if (id != -1)
            return id;
    }
    return VIRTIO_E_TIMEOUT;
}

int virtq_claim_all(struct virtq *q)
{
    if (q->num_free != q->size)
        return VIRTIO_E_FULL;
    q->num_free = 0;
    q->posted_idx = q->avail.idx;
    return VIRTIO_OK;
}

void virtq_post(struct virtq *q, u16 head, u16 chain_len)
{
    q->chain_len[head] = chain_len;
    q->avail.ring[q->posted_idx % q->size] = head;
    q->posted_idx++;
}

void virtq_unclaim(struct virtq *q, u16 first_unused)
{
    if (first_unused >= q->size)
        return;
    for (u16 i = first_unused; i + 1 < q->size; i++)
        q->desc[i].next = (u16)(i + 1);
    q->desc[q->size - 1].next = q->free_head;
    q->free_head = first_unused;
    q->num_free = (u16)(q->num_free + q->size - first_unused);
}

void virtq_publish(struct virtq *q)
{
    /* Ring entries before the index that publishes them (section 2.7.13). */
    barrier();
    *(volatile u16 *)&q->avail.idx = q->posted_idx;
}

void virtq_arm_many(struct virtq *q, u32 n)
{
    if (virtio_has(q->dev, VIRTIO_F_EVENT_IDX))
        *used_event(q) = (u16)(q->last_used + (n ? n : 1) - 1);
    else
        *(volatile u16 *)&q->avail.flags = 0;
    barrier();
}

int virtq_wait_many(struct virtq *q, u32 n)
{
    struct virtio_dev *d = q->dev;
    int event_idx = virtio_has(d, VIRTIO_F_EVENT_IDX);
    if (n == 0)
        return VIRTIO_OK;
    if (d->use_irq) {
        /* One interrupt when the nth is used (section 2.7.10); without EVENT_IDX, any. */
        virtq_arm_many(q, n);
        /* Returns with IF as it found it: a caller that computes between waits keeps taking
         * its timer and other interrupts. */
        int was_on = (read_eflags() & EFLAGS_IF) != 0;
        int r = VIRTIO_OK;
        for (;;) {
            cli();
            while (n > 0) {
                int id = virtq_get_used(q, NULL);
                if (id == -1)
                    break;
                if (id < 0) {
                    r = id;
                    n = 0;
                    break;
                }
                n--;
            }
            if (n == 0)
                break;
            __asm__ volatile("sti; hlt; cli" : : : "memory");
        }
        if (was_on)
            sti();
        return r;
    }
    if (event_idx)
        *used_event(q) = (u16)(q->last_used - 1);
    else
        *(volatile u16 *)&q->avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
    for (u32 i = 0; n > 0 && i < VIRTIO_POLL_LIMIT; i++) {
        int id = virtq_get_used(q, NULL);
        if (id < -1)
            return id;
        if (id >= 0)
            n--;
    }
    return n == 0 ? VIRTIO_OK : VIRTIO_E_TIMEOUT;
}

static int used_at_least(struct virtq *q, u32 n)
{
    return (u16)(*(volatile u16 *)&q->used.idx - q->last_used) >= n;
}

int virtq_wait_claimed(struct virtq *q, u32 n)
{
    struct virtio_dev *d = q->dev;
    if (d->use_irq) {
        virtq_arm_many(q, n);
        int was_on = (read_eflags() & EFLAGS_IF) != 0;
        for (;;) {
            cli();
            if (used_at_least(q, n))
                break;
            __asm__ volatile("sti; hlt; cli" : : : "memory");
        }
        if (was_on)
            sti();
    } else {
        if (virtio_has(d, VIRTIO_F_EVENT_IDX))
            *used_event(q) = (u16)(q->last_used - 1);
        else
            *(volatile u16 *)&q->avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
        u32 i = 0;
        while (!used_at_least(q, n))
            if (++i == VIRTIO_POLL_LIMIT)
                return VIRTIO_E_TIMEOUT;
    }
    barrier();
    int r = VIRTIO_OK;
    for (u32 i = 0; i < n; i++)
        if (q->used.ring[(u16)(q->last_used + i) % q->size].id >= q->size)
            r = VIRTIO_E_DEVICE;
    q->last_used = (u16)(q->last_used + n);
    for (u16 i = 0; i + 1 < q->size; i++)
        q->desc[i].next = (u16)(i + 1);
    q->free_head = 0;
    q->num_free = q->size;
    return r;
}

int virtq_submit_wait(struct virtq *q, const struct virtq_buf *bufs, u32 n_out, u32 n_in, struct virtq_desc *indirect)
{
    int head = virtq_add(q, bufs, n_out, n_in, indirect);
    if (head < 0)
        return head;
    virtq_kick(q);
    u32 len = 0;
    int id = virtq_wait_used(q, &len);
    if (id < 0)
        return id;
    return id == head ? (int)len : VIRTIO_E_DEVICE;
}
