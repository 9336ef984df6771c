/* virtio-net ping/pong between two VMs on an Ethernet hub. role=ping sends broadcast frames with
 * ethertype 0x88B5 (IEEE 802 local experimental) and payload "ping N" (N = 1..3), resending every
 * half second until "pong N" arrives; role=pong answers each "ping N" with "pong N". Both print
 * PASS lines and exit after 3 exchanges; 20 s without finishing is a FAIL. */
#include "rt.h"

#define ETHERTYPE_EXPERIMENTAL 0x88B5
#define EXCHANGES 3
#define RESEND_TICKS 50          /* 0.5 s at TIMER_HZ */
#define GIVE_UP_TICKS 2000       /* 20 s for all exchanges: the other VM never came */
#define PAYLOAD_MAX 16

static struct vnet net;
static u8 frame[ETH_FRAME_MAX], rx[ETH_FRAME_MAX];

static void send_msg(const char *word, u32 n)
{
    memset(frame, 0xFF, ETH_ALEN);                   /* broadcast destination */
    memcpy(frame + ETH_ALEN, net.mac, ETH_ALEN);
    frame[2 * ETH_ALEN] = ETHERTYPE_EXPERIMENTAL >> 8;
    frame[2 * ETH_ALEN + 1] = ETHERTYPE_EXPERIMENTAL & 0xFF;
    int len = snprintf((char *)frame + ETH_HLEN, PAYLOAD_MAX, "%s %u", word, n);
    /* Ethernet minimum: 60 bytes without FCS; the rest stays zero padding. */
    u32 total = ETH_HLEN + (u32)len;
    memset(frame + total, 0, 60 > total ? 60 - total : 0);
    vnet_send(&net, frame, total < 60 ? 60 : total);
}

/* Returns N when rx holds "<word> N" with our ethertype, else 0. The source MAC is not used to
 * tell the stations apart: every tskvm VM gets the same default MAC. */
static u32 parse_msg(int len, const char *word)
{
    if (len < ETH_HLEN + 1) return 0;
    if (rx[2 * ETH_ALEN] != ETHERTYPE_EXPERIMENTAL >> 8 || rx[2 * ETH_ALEN + 1] != (ETHERTYPE_EXPERIMENTAL & 0xFF)) return 0;
    const char *p = (const char *)rx + ETH_HLEN;
    u32 wl = strlen(word);
    if ((u32)len < ETH_HLEN + wl + 2 || memcmp(p, word, wl) != 0 || p[wl] != ' ') return 0;
    u32 n = 0;
    for (p += wl + 1; *p >= '0' && *p <= '9'; p++)
        n = n * 10 + (u32)(*p - '0');
    return n;
}

/* Waits (HLT between timer ticks and receive interrupts) until a frame "<word> N" arrives or
 * timeout_ticks pass; returns N or 0. */
static u32 wait_msg(const char *word, u32 timeout_ticks)
{
    u32 start = timer_ticks();
    for (;;) {
        cli();
        virtq_arm(&net.rx);
        int len = vnet_try_recv(&net, rx, sizeof(rx));
        if (len >= 0) {
            u32 n = parse_msg(len, word);
            if (n) return n;
            continue;
        }
        if (timer_ticks() - start >= timeout_ticks) return 0;
        __asm__ volatile("sti; hlt; cli" : : : "memory");
    }
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic;
    rt_init();
    cmdline_init(info);
    char role[8] = "";
    cmdline_get("role", role, sizeof(role));
    int ping = strcmp(role, "ping") == 0;

    test_begin("virtio-net-init");
    int r = vnet_init(&net, 0, VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX), 1);
    EXPECT_EQ(r, VIRTIO_OK);
    EXPECT(ping || strcmp(role, "pong") == 0);
    test_end();
    if (r != VIRTIO_OK || (!ping && strcmp(role, "pong") != 0)) test_finish();

    test_begin("virtio-net-mac");
    /* A unicast, locally or globally administered address: the group bit is clear. */
    EXPECT_EQ(net.mac[0] & 1, 0);
    test_end();

    timer_start();
    for (u32 n = 1; n <= EXCHANGES; n++) {
        char name[32];
        snprintf(name, sizeof(name), ping ? "virtio-net-ping-%u" : "virtio-net-pong-%u", n);
        test_begin(name);
        u32 got = 0;
        if (ping) {
            while (got != n && timer_ticks() < GIVE_UP_TICKS) {
                send_msg("ping", n);
                got = wait_msg("pong", RESEND_TICKS);
                /* An answer to an earlier resend of a previous ping is not this one. */
                while (got && got < n) got = wait_msg("pong", RESEND_TICKS);
            }
            if (got != n) test_failf("no pong %u (last %u) after %u ticks, %u rx interrupts", n, got, timer_ticks(), net.dev.interrupts);
        } else {
            /* A resent earlier ping gets its answer again; wait for ping n itself. */
            for (;;) {
                u32 now = timer_ticks();
                got = now < GIVE_UP_TICKS ? wait_msg("ping", GIVE_UP_TICKS - now) : 0;
                if (!got) break;
                send_msg("pong", got);
                if (got == n) break;
            }
            if (got != n) test_failf("no ping %u (last %u) after %u ticks, %u rx interrupts", n, got, timer_ticks(), net.dev.interrupts);
        }
        test_end();
    }
    timer_stop();
    test_finish();
}
