/* A fixed compute-bound integer workload: per iteration a sieve of Eratosthenes to 8192, a bitwise
 * CRC-32 (IEEE 802.3 polynomial, reflected) of 2 KiB and a 16x16 integer matrix product; iters=
 * iterations (default 300: about 325 k instructions each, 100 M in all); prints a checksum of all results. */
#include "rt.h"

#define DEFAULT_ITERS 300
#define SIEVE_N 8192
#define CRC_BYTES 2048
#define CRC32_POLY_REFLECTED 0xEDB88320u
#define MAT_N 16

static u8 composite[SIEVE_N];
static u8 data[CRC_BYTES];
static u32 a[MAT_N][MAT_N], b[MAT_N][MAT_N], c[MAT_N][MAT_N];

static u32 sieve(void)
{
    memset(composite, 0, sizeof(composite));
    u32 primes = 0;
    for (u32 i = 2; i < SIEVE_N; i++) {
        if (composite[i]) continue;
        primes++;
        for (u32 j = i * i; j < SIEVE_N; j += i)
            composite[j] = 1;
    }
    return primes;
}

static u32 crc32(const u8 *p, u32 n)
{
    u32 crc = 0xFFFFFFFFu;
    for (u32 i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (CRC32_POLY_REFLECTED & (0u - (crc & 1)));
    }
    return ~crc;
}

static u32 matmul(u32 seed)
{
    for (u32 i = 0; i < MAT_N; i++)
        for (u32 j = 0; j < MAT_N; j++) {
            a[i][j] = seed + i * 3 + j;
            b[i][j] = seed ^ (i * 7 + j * 5);
        }
    u32 trace = 0;
    for (u32 i = 0; i < MAT_N; i++)
        for (u32 j = 0; j < MAT_N; j++) {
            u32 s = 0;
            for (u32 k = 0; k < MAT_N; k++)
                s += a[i][k] * b[k][j];
            c[i][j] = s;
        }
    for (u32 i = 0; i < MAT_N; i++)
        trace += c[i][i];
    return trace;
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic;
    bench_begin(info);
    u32 iters = cmdline_u32("iters", DEFAULT_ITERS);
    u32 sum = 0;
    for (u32 it = 0; it < iters; it++) {
        for (u32 i = 0; i < CRC_BYTES; i++)
            data[i] = (u8)(i * 31 + it);
        sum = (sum << 5 | sum >> 27) ^ sieve();
        sum = (sum << 5 | sum >> 27) ^ crc32(data, CRC_BYTES);
        sum = (sum << 5 | sum >> 27) ^ matmul(it);
    }
    char params[32], result[32];
    snprintf(params, sizeof(params), "iters=%u", iters);
    snprintf(result, sizeof(result), "checksum=0x%08x", sum);
    bench_end("bench-compute", params, result, 1);
}
