/**
 * Statistics named as KVM names them (facts §1.5), per vCPU and per VM, plus per-exit-reason
 * counts split into handled in the kernel vs forwarded to userspace.
 */

export const VCPU_STAT_NAMES = [
  'exits',
  'io_exits',
  'mmio_exits',
  'halt_exits',
  'irq_exits',
  'signal_exits',
  'request_irq_exits',
  'irq_window_exits',
  'irq_injections',
  'insn_emulation',
  'insn_emulation_fail',
  'pf_fixed',
  'pf_mmio_spte_created',
  'pf_guest',
  'tlb_flush',
  'invlpg',
  'halt_wakeup',
  'hypercalls',
  'userspace_exits',
  /** Returns to the host event loop between slices: depends on host speed, not on the guest. */
  'host_yields',
  /** Wall time spent in VMX non-root operation (VM entry to VM exit), in nanoseconds: host-dependent. */
  'guest_ns',
] as const;
export type VcpuStatName = (typeof VCPU_STAT_NAMES)[number];

export const VM_STAT_NAMES = ['remote_tlb_flush', 'mmu_shadow_zapped', 'mmu_pte_write', 'pages_4k', 'ioeventfd_signals', 'coalesced_writes'] as const;
export type VmStatName = (typeof VM_STAT_NAMES)[number];

export type StatTable<N extends string> = Record<N, number>;

export function zeroStats<N extends string>(names: readonly N[]): StatTable<N> {
  return Object.fromEntries(names.map((n) => [n, 0])) as StatTable<N>;
}

/** Exit counts by VMX basic exit reason, split by where the exit was finished. */
export class ExitReasonCounts {
  readonly inKernel = new Float64Array(80);
  readonly toUser = new Float64Array(80);
}
