/* n= (default 100000) reads of the COM1 scratch register: each a port-I/O round trip to the device
 * model. The value written first must come back every time. */
#include "rt.h"

#define UART_SCR 7
#define SCRATCH_VALUE 0x5A

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic;
    bench_begin(info);
    u32 n = cmdline_u32("n", 100000);
    outb(COM1_BASE + UART_SCR, SCRATCH_VALUE);
    u32 bad = 0;
    for (u32 i = 0; i < n; i++)
        if (inb(COM1_BASE + UART_SCR) != SCRATCH_VALUE) bad++;
    char params[32];
    snprintf(params, sizeof(params), "n=%u", n);
    bench_end("bench-pio", params, bad ? "scratch-mismatch" : "ok", !bad);
}
