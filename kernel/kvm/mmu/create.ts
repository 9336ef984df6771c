/** Choose the VM's MMU (`--mmu ept|shadow`). */
import type { Vm } from '../vm.js';
import type { Mmu } from './mmu.js';
import { TdpMmu } from './tdp.js';

/** Typed error for an MMU this build cannot provide yet. */
export class MmuUnavailableError extends Error {
  readonly code = 'MMU_UNAVAILABLE';
}

export function createMmu(kind: 'ept' | 'shadow', vm: Vm): Mmu {
  if (kind === 'ept') return new TdpMmu(vm);
  throw new MmuUnavailableError('--mmu shadow: the shadow-paging MMU is not implemented yet; use --mmu ept');
}
