/* triple-fault: ends the VM by a triple fault (SDM vol. 3 section 6.15, interrupt 8: a fault while
 * delivering #DF shuts the processor down). With an IDT limit of 0, INT3 cannot find its gate
 * (#GP), #GP cannot find its gate (#DF), and #DF cannot either: shutdown. The line before is the
 * only output; nothing after it may appear. */
#include "rt.h"

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic; (void)info;
    rt_init();
    printf("triple fault next\n");
    struct dtr empty = { 0, 0 };
    lidt(&empty);
    __asm__ volatile("int3");
    printf("FAIL triple-fault: execution continued\n");
    exit(1);
}
