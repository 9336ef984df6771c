/** Choose the VM's MMU (`--mmu ept|shadow`). */
import type { Vm } from '../vm.js';
import type { Mmu } from './mmu.js';
import { ShadowMmu } from './shadow.js';
import { TdpMmu } from './tdp.js';

export function createMmu(kind: 'ept' | 'shadow', vm: Vm): Mmu {
  return kind === 'ept' ? new TdpMmu(vm) : new ShadowMmu(vm);
}
