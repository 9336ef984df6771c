/* n= (default 100000) CPUID executions (leaf 0): each one is a VM exit under VT-x. */
#include "rt.h"

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic;
    bench_begin(info);
    u32 n = cmdline_u32("n", 100000);
    u32 a, b, c, d, x = 0;
    for (u32 i = 0; i < n; i++) {
        cpuid(0, &a, &b, &c, &d);
        x ^= b;
    }
    char params[32];
    snprintf(params, sizeof(params), "n=%u", n);
    /* x is the vendor's first 4 bytes when n is odd, 0 when even: keeps the loop from being removed. */
    bench_end("bench-cpuid", params, x || !(n & 1) ? "ok" : "bad-cpuid", x || !(n & 1));
}
