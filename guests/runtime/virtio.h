/* virtio-mmio (version 2) driver core with split virtqueues: virtio 1.x sections 2.1 (status),
 * 2.2 (feature negotiation), 2.7 (split virtqueues), 2.7.10 (event index), 3.1.1 (driver
 * initialisation) and 4.2.2-4.2.3 (MMIO register layout and operation); facts.md section 4. */
#ifndef RT_VIRTIO_H
#define RT_VIRTIO_H
#include "types.h"

#define VIRTIO_MMIO_MAGIC 0x74726976u  /* "virt" */
#define VIRTIO_MMIO_VERSION_MODERN 2

/* MMIO register offsets (virtio 1.x section 4.2.2, table "MMIO Device Register Layout"). */
enum virtio_mmio_reg {
    VIRTIO_MMIO_MAGIC_VALUE = 0x000,
    VIRTIO_MMIO_VERSION = 0x004,
    VIRTIO_MMIO_DEVICE_ID = 0x008,
    VIRTIO_MMIO_VENDOR_ID = 0x00C,
    VIRTIO_MMIO_DEVICE_FEATURES = 0x010,
    VIRTIO_MMIO_DEVICE_FEATURES_SEL = 0x014,
    VIRTIO_MMIO_DRIVER_FEATURES = 0x020,
    VIRTIO_MMIO_DRIVER_FEATURES_SEL = 0x024,
    VIRTIO_MMIO_QUEUE_SEL = 0x030,
    VIRTIO_MMIO_QUEUE_NUM_MAX = 0x034,
    VIRTIO_MMIO_QUEUE_NUM = 0x038,
    VIRTIO_MMIO_QUEUE_READY = 0x044,
    VIRTIO_MMIO_QUEUE_NOTIFY = 0x050,
    VIRTIO_MMIO_INTERRUPT_STATUS = 0x060,
    VIRTIO_MMIO_INTERRUPT_ACK = 0x064,
    VIRTIO_MMIO_STATUS = 0x070,
    VIRTIO_MMIO_QUEUE_DESC_LOW = 0x080,
    VIRTIO_MMIO_QUEUE_DESC_HIGH = 0x084,
    VIRTIO_MMIO_QUEUE_DRIVER_LOW = 0x090,
    VIRTIO_MMIO_QUEUE_DRIVER_HIGH = 0x094,
    VIRTIO_MMIO_QUEUE_DEVICE_LOW = 0x0A0,
    VIRTIO_MMIO_QUEUE_DEVICE_HIGH = 0x0A4,
    VIRTIO_MMIO_CONFIG_GENERATION = 0x0FC,
    VIRTIO_MMIO_CONFIG = 0x100,
};

/* Device status bits (virtio 1.x section 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_FAILED 128u
/* InterruptStatus bits (section 4.2.2). */
#define VIRTIO_INT_USED_BUFFER 1u
#define VIRTIO_INT_CONFIG 2u

/* Reserved feature bits (virtio 1.x section 6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_FEATURE(bit) (1ull << (bit))

/* Device ids (virtio 1.x section 5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_ENTROPY 4

/* Split virtqueue structures (section 2.7.5, 2.7.6, 2.7.8). */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1
/* Largest queue struct virtq holds (the rings live inside it), and the size virtq_setup asks
 * for; a driver that keeps many requests in flight asks for more with virtq_setup_size. */
#define VIRTQ_MAX_SIZE 1024
#define VIRTQ_DEFAULT_SIZE 16
/* Descriptor-table alignment (section 2.7, table "Virtqueue Part Alignment"). */
#define VIRTQ_DESC_ALIGN 16

struct virtq_desc {
    u64 addr;
    u32 len;
    u16 flags, next;
};
struct virtq_avail {
    u16 flags, idx;
    u16 ring[VIRTQ_MAX_SIZE];
    u16 used_event;   /* = ring[size] when size is VIRTQ_MAX_SIZE; see virtq_used_event() */
};
struct virtq_used_elem {
    u32 id, len;
};
struct virtq_used {
    u16 flags, idx;
    struct virtq_used_elem ring[VIRTQ_MAX_SIZE];
    u16 avail_event;
};

/* Error results (negative) of the core and the device drivers. */
enum virtio_error {
    VIRTIO_OK = 0,
    VIRTIO_E_NO_DEVICE = -1,     /* no magic / not version 2 / other device id */
    VIRTIO_E_FEATURES = -2,      /* VERSION_1 missing, or FEATURES_OK not kept by the device */
    VIRTIO_E_QUEUE = -3,         /* queue absent (QueueSizeMax 0) or already live */
    VIRTIO_E_FULL = -4,          /* not enough free descriptors */
    VIRTIO_E_TIMEOUT = -5,       /* no used buffer within the poll limit */
    VIRTIO_E_DEVICE = -6,        /* the device reported an error status */
};

struct virtio_dev;

/* One split virtqueue with room for VIRTQ_MAX_SIZE entries. The rings are inside the struct,
 * which must therefore live in identity-mapped memory (guest-physical = linear address). */
struct virtq {
    struct virtq_desc desc[VIRTQ_MAX_SIZE] __attribute__((aligned(VIRTQ_DESC_ALIGN)));
    struct virtq_avail avail __attribute__((aligned(2)));
    struct virtq_used used __attribute__((aligned(4)));
    struct virtio_dev *dev;
    u16 index, size;
    u16 free_head, num_free;
    u16 last_used;        /* used.idx value consumed so far */
    u16 kicked_idx;       /* avail.idx at the last notification decision */
    u16 posted_idx;       /* avail.idx including entries virtq_post() has not published yet */
    u16 chain_len[VIRTQ_MAX_SIZE];  /* descriptors in the chain headed by each id */
    u32 notifies;         /* QueueNotify writes made */
};

/* One virtio-mmio device. */
struct virtio_dev {
    u32 base, irq, device_id;
    u64 features;           /* negotiated */
    int use_irq;            /* wait for used buffers with HLT + interrupt instead of polling */
    volatile u32 interrupts;  /* interrupts taken (InterruptStatus non-zero) */
    volatile u32 last_isr;
};

u32 virtio_read32(const struct virtio_dev *d, u32 off);
void virtio_write32(const struct virtio_dev *d, u32 off, u32 v);
/* Device-specific configuration space (offset from 0x100) with the ConfigGeneration re-read loop
 * of section 2.5.1 for values wider than 32 bits. */
u8 virtio_config8(const struct virtio_dev *d, u32 off);
u32 virtio_config32(const struct virtio_dev *d, u32 off);
u64 virtio_config64(const struct virtio_dev *d, u32 off);

/* Checks MagicValue, Version 2 and a non-zero DeviceID at base; fills d (features 0, polled). */
int virtio_probe(struct virtio_dev *d, u32 base, u32 irq);
/* Probes the command line's virtio_mmio.device= entries in order and takes the nth (from 0) whose
 * DeviceID is device_id. Needs cmdline_init(). */
int virtio_find(struct virtio_dev *d, u32 device_id, u32 nth);
/* Reset, ACKNOWLEDGE, DRIVER, accept device_features & (wanted | VERSION_1), FEATURES_OK and its
 * check (section 3.1.1 steps 1-6). On failure sets FAILED and returns VIRTIO_E_FEATURES. */
int virtio_negotiate(struct virtio_dev *d, u64 wanted);
int virtio_has(const struct virtio_dev *d, u32 bit);
/* Sets up queue index with min(QueueSizeMax, VIRTQ_DEFAULT_SIZE) entries and makes it ready. */
int virtq_setup(struct virtio_dev *d, struct virtq *q, u16 index);
/* The same with min(QueueSizeMax, max, VIRTQ_MAX_SIZE) entries (max a power of two). */
int virtq_setup_size(struct virtio_dev *d, struct virtq *q, u16 index, u16 max);
/* Sets DRIVER_OK (step 8). With use_irq, installs the interrupt handler and unmasks d->irq. */
void virtio_driver_ok(struct virtio_dev *d, int use_irq);
/* Writes 0 to Status: the device forgets queues and features (section 2.4). */
void virtio_reset(struct virtio_dev *d);

/* One buffer of a request: device-readable buffers first, then device-writable ones. */
struct virtq_buf {
    const void *addr;
    u32 len;
};
/* Places a chain of n_out readable and n_in writable buffers; when indirect is non-NULL (and
 * INDIRECT_DESC was negotiated) the chain is written to that table (n_out + n_in entries,
 * 16-byte aligned) and takes a single ring descriptor. Makes it available (not yet notified).
 * Returns the head descriptor id or VIRTIO_E_FULL. */
int virtq_add(struct virtq *q, const struct virtq_buf *bufs, u32 n_out, u32 n_in, struct virtq_desc *indirect);
/* Notifies the device through QueueNotify unless it asked not to be (EVENT_IDX avail_event or
 * VIRTQ_USED_F_NO_NOTIFY); returns 1 when it wrote QueueNotify. */
int virtq_kick(struct virtq *q);
/* Takes the next used element if there is one: returns its id (and bytes written in *len) and
 * frees its descriptors; returns -1 when none is used yet. */
int virtq_get_used(struct virtq *q, u32 *len);
/* Asks the device to interrupt at the next used element (used_event with EVENT_IDX, else clears
 * VIRTQ_AVAIL_F_NO_INTERRUPT), so a driver can wait for it with HLT. */
void virtq_arm(struct virtq *q);
/* Waits for the next used element (HLT + interrupt when the device uses interrupts, else polling
 * with a bound) and takes it: returns its id or VIRTIO_E_TIMEOUT. In interrupt mode it waits
 * without a bound and returns with IF = 0. */
int virtq_wait_used(struct virtq *q, u32 *len);
/* Fixed-slot batches, for a driver that submits many chains of one shape at once: with every
 * descriptor free, virtq_claim_all() hands the table to the caller (0 or VIRTIO_E_FULL), who
 * writes chains into q->desc itself, makes each available with virtq_post(), returns what it did
 * not use with virtq_unclaim(q, first_unused) and publishes all of them with virtq_publish(). As
 * they are used, virtq_get_used() gives each chain back to the free list. */
int virtq_claim_all(struct virtq *q);
void virtq_post(struct virtq *q, u16 head, u16 chain_len);
void virtq_unclaim(struct virtq *q, u16 first_unused);
void virtq_publish(struct virtq *q);
/* For such a batch of n chains (nothing else in flight): waits as virtq_wait_many does until all
 * n are used, then takes them at once — checks every id and gives the whole table back to the
 * free list in one pass instead of chain by chain. Returns VIRTIO_OK, VIRTIO_E_DEVICE or
 * VIRTIO_E_TIMEOUT (polled). */
int virtq_wait_claimed(struct virtq *q, u32 n);
/* Asks for one interrupt when n more used elements are there (used_event with EVENT_IDX, else
 * clears NO_INTERRUPT). Done before the notification, the device sees it with the new buffers. */
void virtq_arm_many(struct virtq *q, u32 n);
/* Waits until n more used elements arrived and takes them all (ids not returned): with EVENT_IDX
 * the device is asked for one interrupt when the last of them is used, not one per element.
 * Returns VIRTIO_OK, VIRTIO_E_DEVICE (an id outside the queue) or VIRTIO_E_TIMEOUT (polled). */
int virtq_wait_many(struct virtq *q, u32 n);
/* add + kick + wait for that request: returns bytes written by the device or a negative error. */
int virtq_submit_wait(struct virtq *q, const struct virtq_buf *bufs, u32 n_out, u32 n_in, struct virtq_desc *indirect);
#endif
