/* Prints "spinning" and then loops forever with interrupts off: for tests that kill a VM. */
#include "rt.h"

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic; (void)info;
    serial_init();
    serial_puts("spinning\n");
    cli();
    for (;;)
        barrier();
}
