/* hello: the smallest multiboot guest: two lines on COM1, then exit(0) through the debug-exit port. */
#include "rt.h"

int main(u32 magic, const struct multiboot_info *info)
{
    (void)info;
    serial_init();
    printf("Hello from a tskvm guest!\n");
    printf("multiboot magic: 0x%08x\n", magic);
    exit(0);
}
