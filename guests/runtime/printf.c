/* Minimal formatted output; every formatted string goes either to COM1 or into a buffer. */
#include "printf.h"
#include "serial.h"

typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, type) __builtin_va_arg(ap, type)
#define va_end(ap) __builtin_va_end(ap)

struct sink {
    char *buf;     /* NULL: write to COM1 */
    size_t size;
    size_t len;
};

static void sink_put(struct sink *s, char c)
{
    if (!s->buf)
        serial_putc(c);
    else if (s->len + 1 < s->size)
        s->buf[s->len] = c;
    s->len++;
}

/* Digits of v in base 10 or 16, least significant first; returns the count. */
static int to_digits(char *out, u64 v, int base, int upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int n = 0;
    if (base == 16) {
        do { out[n++] = digits[v & 0xF]; v >>= 4; } while (v);
        return n;
    }
    /* Decimal of a 64-bit value without __udivdi3: only 32-bit values are supported. */
    u32 w = (u32)v;
    do { out[n++] = digits[w % 10]; w /= 10; } while (w);
    return n;
}

static void put_number(struct sink *s, u64 v, int base, int upper, int neg, int width, char pad)
{
    char tmp[24];
    int n = to_digits(tmp, v, base, upper);
    int total = n + (neg ? 1 : 0);
    if (neg && pad == '0')
        sink_put(s, '-');
    for (; total < width; total++)
        sink_put(s, pad);
    if (neg && pad != '0')
        sink_put(s, '-');
    while (n > 0)
        sink_put(s, tmp[--n]);
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            sink_put(s, *fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, longlong = 0, left = 0;
        if (*fmt == '-') { left = 1; fmt++; }
        if (*fmt == '0') { pad = '0'; fmt++; }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') { longlong++; fmt++; }
        switch (*fmt) {
        case 's': {
            const char *str = va_arg(ap, const char *);
            int n = 0;
            if (!str) str = "(null)";
            for (const char *p = str; *p; p++) n++;
            if (!left) for (; n < width; n++) sink_put(s, ' ');
            while (*str) sink_put(s, *str++);
            if (left) for (; n < width; n++) sink_put(s, ' ');
            break;
        }
        case 'c':
            sink_put(s, (char)va_arg(ap, int));
            break;
        case 'd': {
            s64 v = longlong >= 2 ? va_arg(ap, s64) : va_arg(ap, s32);
            int neg = v < 0;
            put_number(s, neg ? (u64)-v : (u64)v, 10, 0, neg, width, pad);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            u64 v = longlong >= 2 ? va_arg(ap, u64) : va_arg(ap, u32);
            put_number(s, v, *fmt == 'u' ? 10 : 16, *fmt == 'X', 0, width, pad);
            break;
        }
        case '%':
            sink_put(s, '%');
            break;
        case '\0':
            return;
        default:
            sink_put(s, '%');
            sink_put(s, *fmt);
            break;
        }
    }
}

int printf(const char *fmt, ...)
{
    struct sink s = { NULL, 0, 0 };
    va_list ap;
    va_start(ap, fmt);
    format(&s, fmt, ap);
    va_end(ap);
    return (int)s.len;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink s = { buf, size, 0 };
    format(&s, fmt, ap);
    if (size)
        buf[s.len < size ? s.len : size - 1] = '\0';
    return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    struct sink s = { buf, size, 0 };
    va_list ap;
    va_start(ap, fmt);
    format(&s, fmt, ap);
    va_end(ap);
    if (size)
        buf[s.len < size ? s.len : size - 1] = '\0';
    return (int)s.len;
}
