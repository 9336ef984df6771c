/* Multiboot command-line parsing: key=value lookup and virtio_mmio.device= entries. */
#include "cmdline.h"
#include "string.h"

#define VIRTIO_MMIO_KEY "virtio_mmio.device"
#define KIB 1024u

static char text[CMDLINE_MAX];
static struct virtio_mmio_decl decls[CMDLINE_MAX_VIRTIO];
static u32 ndecls;

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n'; }

/* Parses digits at *p (decimal, or hex after 0x) and an optional K/M/G size suffix; advances *p. */
static int parse_number(const char **p, u32 *out)
{
    const char *s = *p;
    u32 v = 0, base = 10;
    int digits = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    for (;; s++) {
        u32 d;
        if (*s >= '0' && *s <= '9') d = (u32)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f') d = (u32)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F') d = (u32)(*s - 'A' + 10);
        else break;
        v = v * base + d;
        digits++;
    }
    if (!digits)
        return 0;
    if (*s == 'K' || *s == 'k') { v *= KIB; s++; }
    else if (*s == 'M' || *s == 'm') { v *= KIB * KIB; s++; }
    else if (*s == 'G' || *s == 'g') { v *= KIB * KIB * KIB; s++; }
    *p = s;
    *out = v;
    return 1;
}

int cmdline_parse_u32(const char *s, u32 *out)
{
    const char *p = s;
    u32 v;
    if (!parse_number(&p, &v) || *p != '\0')
        return 0;
    *out = v;
    return 1;
}

/* "<size>@<base>:<irq>" (Linux virtio_mmio's vm_cmdline_set format, without the optional ":<id>"). */
static void parse_virtio(const char *v)
{
    struct virtio_mmio_decl d;
    if (ndecls >= CMDLINE_MAX_VIRTIO)
        return;
    if (!parse_number(&v, &d.size) || *v++ != '@')
        return;
    if (!parse_number(&v, &d.base) || *v++ != ':')
        return;
    if (!parse_number(&v, &d.irq))
        return;
    decls[ndecls++] = d;
}

/* Finds the first word "key" or "key=..." at or after from: returns where its value starts and sets *value_end. */
static const char *find_word(const char *key, const char *from, const char **value_end)
{
    size_t klen = strlen(key);
    const char *p = from;
    while (*p) {
        while (is_space(*p)) p++;
        if (!*p) break;
        const char *w = p;
        while (*p && !is_space(*p)) p++;
        size_t wlen = (size_t)(p - w);
        if (wlen >= klen && memcmp(w, key, klen) == 0 && (wlen == klen || w[klen] == '=')) {
            *value_end = p;
            return wlen == klen ? w + klen : w + klen + 1;
        }
    }
    return NULL;
}

void cmdline_init(const struct multiboot_info *info)
{
    text[0] = '\0';
    ndecls = 0;
    if (info && (info->flags & MULTIBOOT_INFO_CMDLINE) && info->cmdline) {
        const char *src = (const char *)info->cmdline;
        u32 i = 0;
        while (src[i] && i < CMDLINE_MAX - 1) {
            text[i] = src[i];
            i++;
        }
        text[i] = '\0';
    }
    const char *from = text, *end;
    const char *v;
    while ((v = find_word(VIRTIO_MMIO_KEY, from, &end)) != NULL) {
        char buf[64];
        size_t n = (size_t)(end - v);
        if (n >= sizeof(buf)) n = sizeof(buf) - 1;
        memcpy(buf, v, n);
        buf[n] = '\0';
        parse_virtio(buf);
        from = end;
    }
}

const char *cmdline_text(void) { return text; }

int cmdline_get(const char *key, char *buf, u32 size)
{
    const char *end;
    const char *v = find_word(key, text, &end);
    if (!v)
        return 0;
    if (size) {
        u32 n = (u32)(end - v);   /* 0 for a bare word: v is then end */
        if (n >= size) n = size - 1;
        memcpy(buf, v, n);
        buf[n] = '\0';
    }
    return 1;
}

u32 cmdline_u32(const char *key, u32 def)
{
    char buf[32];
    u32 v;
    if (!cmdline_get(key, buf, sizeof(buf)) || !cmdline_parse_u32(buf, &v))
        return def;
    return v;
}

u32 cmdline_virtio_count(void) { return ndecls; }

const struct virtio_mmio_decl *cmdline_virtio(u32 i)
{
    return i < ndecls ? &decls[i] : NULL;
}
