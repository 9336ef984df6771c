/* /init of the tskvm Linux initramfs: a static i386 program with no libc (int 0x80 system calls)
 * that shows the kernel's drivers working on tskvm's devices (virtio-blk, ATA PIO, virtio-console,
 * virtio-rng), then ends the VM through the isa-debug-exit port with a status the test checks.
 * Console: /dev/console = ttyS0 (the 16550). */
typedef unsigned int u32;

enum {
    SYS_exit = 1, SYS_read = 3, SYS_write = 4, SYS_open = 5, SYS_close = 6, SYS_getpid = 20,
    SYS_mount = 21, SYS_iopl = 110, SYS_uname = 122,
};
#define O_RDONLY 0
#define O_WRONLY 1
#define DEBUG_EXIT_PORT 0xf4
#define EXIT_CODE 0x2a /* tskvm exits with (0x2a << 1) | 1 = 85 */

static long sys3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
    return r;
}

static long sys5(long n, long a, long b, long c, long d, long e)
{
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e) : "memory");
    return r;
}

static u32 len(const char *s)
{
    u32 n = 0;
    while (s[n])
        n++;
    return n;
}

static void put(const char *s) { sys3(SYS_write, 1, (long)s, len(s)); }

static void putnum(long v)
{
    char b[12];
    int i = 11;
    int neg = v < 0;
    unsigned long u = neg ? -(unsigned long)v : (unsigned long)v;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg)
        b[--i] = '-';
    put(b + i);
}

/* "<what>: ok" or "<what>: error <errno>" */
static long check(const char *what, long r)
{
    put("tskvm-init: ");
    put(what);
    if (r < 0) {
        put(": error ");
        putnum(-r);
        put("\n");
    } else {
        put(": ok\n");
    }
    return r;
}

struct utsname { char f[6][65]; };

/* Print the first sector of `path` up to its NUL: "<path> says: <line>" (or why not). */
static void show_disk(const char *path, char *buf)
{
    put("tskvm-init: open ");
    put(path);
    long fd = sys3(SYS_open, (long)path, O_RDONLY, 0);
    if (fd < 0) {
        put(": error ");
        putnum(-fd);
        put("\n");
        return;
    }
    put(": ok\n");
    long n = sys3(SYS_read, fd, (long)buf, 512);
    if (n == 512) {
        buf[512] = 0;
        put("tskvm-init: ");
        put(path);
        put(" says: ");
        put(buf);
    } else {
        check("read", n < 0 ? n : -5);
    }
    sys3(SYS_close, fd, 0, 0);
}

void start(void)
{
    static struct utsname u;
    static char buf[513];

    put("tskvm-init: hello from user space, pid ");
    putnum(sys3(SYS_getpid, 0, 0, 0));
    put("\n");
    if (sys3(SYS_uname, (long)&u, 0, 0) == 0) {
        put("tskvm-init: ");
        put(u.f[0]);
        put(" ");
        put(u.f[2]);
        put(" ");
        put(u.f[4]);
        put("\n");
    }

    check("mount devtmpfs on /dev", sys5(SYS_mount, (long)"devtmpfs", (long)"/dev", (long)"devtmpfs", 0, 0));

    /* virtio-blk and the ATA disk (pata_legacy): each first sector holds a NUL-terminated line */
    show_disk("/dev/vda", buf);
    show_disk("/dev/sda", buf);

    /* virtio-console: a line on the second console */
    long fd = check("open /dev/hvc0", sys3(SYS_open, (long)"/dev/hvc0", O_WRONLY, 0));
    if (fd >= 0) {
        const char *line = "hello over virtio-console from Linux user space\n";
        check("write /dev/hvc0", sys3(SYS_write, fd, (long)line, len(line)));
        sys3(SYS_close, fd, 0, 0);
    }

    /* virtio-rng: the kernel's hw_random core reads it through /dev/hwrng */
    fd = check("open /dev/hwrng", sys3(SYS_open, (long)"/dev/hwrng", O_RDONLY, 0));
    if (fd >= 0) {
        long n = sys3(SYS_read, fd, (long)buf, 16);
        put("tskvm-init: read ");
        putnum(n);
        put(" random bytes\n");
        sys3(SYS_close, fd, 0, 0);
    }

    /* Leave through isa-debug-exit: ring 3 needs IOPL 3 for OUT. */
    check("iopl 3", sys3(SYS_iopl, 3, 0, 0));
    put("tskvm-init: bye\n");
    __asm__ volatile("outb %0, %1" : : "a"((unsigned char)EXIT_CODE), "Nd"((unsigned short)DEBUG_EXIT_PORT));
    sys3(SYS_exit, 0, 0, 0);
    for (;;)
        ;
}
