/* Benchmark guest prologue and result line. */
#include "bench.h"
#include "cmdline.h"
#include "cpu.h"
#include "exit.h"
#include "printf.h"
#include "test.h"

static u64 start_tsc;

void bench_begin(const struct multiboot_info *info)
{
    rt_init();
    cmdline_init(info);
    start_tsc = rdtsc();
}

void bench_end(const char *name, const char *params, const char *result, int ok)
{
    u64 cycles = rdtsc() - start_tsc;
    printf("%s %s tsc=0x%llx %s\n", name, params, cycles, result);
    exit(ok ? 0 : 1);
}
