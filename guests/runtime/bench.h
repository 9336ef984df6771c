/* Shared shape of the benchmark guests: parameters from the multiboot command line, one result
 * line "<name> <param>=<value>... tsc=0x<cycles> <result>" on COM1, exit code 0 (1 on a failed
 * self-check). */
#ifndef RT_BENCH_H
#define RT_BENCH_H
#include "types.h"
#include "multiboot.h"

/* serial_init, descriptor tables, PIC remap, command line; starts the TSC stopwatch. */
void bench_begin(const struct multiboot_info *info);
/* Prints "<name> <params> tsc=0x<TSC delta since bench_begin> <result>" and exits with 0 when ok,
 * else 1. params and result are already formatted. */
void bench_end(const char *name, const char *params, const char *result, int ok) __attribute__((noreturn));
#endif
