/* virtio-rng: two 64-byte requests on the command line's entropy device, each non-zero, and
 * different from each other. */
#include "rt.h"

#define RNG_BYTES 64

static struct vrng rng;
static u8 a[RNG_BYTES], b[RNG_BYTES];

static int all_zero(const u8 *p, u32 n)
{
    for (u32 i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic;
    rt_init();
    cmdline_init(info);
    int use_irq = cmdline_u32("irq", 1) != 0;

    test_begin("virtio-rng-init");
    int r = vrng_init(&rng, 0, VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX), use_irq);
    EXPECT_EQ(r, VIRTIO_OK);
    test_end();
    if (r != VIRTIO_OK) test_finish();

    test_begin("virtio-rng-first-64");
    EXPECT_EQ(vrng_read(&rng, a, RNG_BYTES), RNG_BYTES);
    EXPECT(!all_zero(a, RNG_BYTES));
    test_end();

    test_begin("virtio-rng-second-64");
    EXPECT_EQ(vrng_read(&rng, b, RNG_BYTES), RNG_BYTES);
    EXPECT(!all_zero(b, RNG_BYTES));
    EXPECT(memcmp(a, b, RNG_BYTES) != 0);
    test_end();

    test_finish();
}
