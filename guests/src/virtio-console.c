/* virtio-console port 0: prints a greeting, then echoes every received byte back until it has
 * read a line "quit" (LF or CR ends a line), then exits. PASS lines go to COM1. */
#include "rt.h"

#define GREETING "virtio-console ready\n"
#define QUIT_WORD "quit"
#define LINE_MAX 64

static struct vcon con;

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic;
    rt_init();
    cmdline_init(info);
    int use_irq = cmdline_u32("irq", 1) != 0;

    test_begin("virtio-console-init");
    int r = vcon_init(&con, 0, VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX), use_irq);
    EXPECT_EQ(r, VIRTIO_OK);
    test_end();
    if (r != VIRTIO_OK) test_finish();

    test_begin("virtio-console-greeting");
    EXPECT_EQ(vcon_puts(&con, GREETING), VIRTIO_OK);
    test_end();

    test_begin("virtio-console-echo-until-quit");
    char line[LINE_MAX];
    u32 len = 0, echoed = 0;
    for (;;) {
        int c = vcon_getc(&con);
        if (c < 0) {
            test_failf("receive error %d after %u bytes", c, echoed);
            break;
        }
        char ch = (char)c;
        if ((r = vcon_write(&con, &ch, 1)) != VIRTIO_OK) {
            test_failf("transmit error %d", r);
            break;
        }
        echoed++;
        if (ch == '\n' || ch == '\r') {
            if (len == sizeof(QUIT_WORD) - 1 && memcmp(line, QUIT_WORD, len) == 0)
                break;
            len = 0;
        } else if (len < LINE_MAX) {
            line[len++] = ch;
        } else {
            len = LINE_MAX;   /* too long to be "quit" until the next line */
        }
    }
    test_end();
    test_finish();
}
