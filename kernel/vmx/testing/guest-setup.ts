/**
 * Test helpers: a VMCS that passes every VM-entry check, describing a flat 32-bit protected-mode
 * guest (paging on unless `unrestricted`), written through VMWRITE as KVM would.
 */
import { ENTRY_CAPS, EXIT_CAPS, PIN_CAPS, PROC_CAPS } from '../capabilities.js';
import { PinBased, ProcBased, ProcBased2 } from '../controls.js';
import type { Vmcs } from '../vmcs.js';
import { VmcsField } from '../vmcs-fields.js';
import type { Vmx } from '../vmx.js';

/** Access rights of the test guest's segments (VMCS AR format). */
export const TestAr = {
  CODE32: 0xc09b, // execute/read accessed, S, P, D/B, G
  DATA32: 0xc093, // read/write accessed, S, P, D/B, G
  TSS32_BUSY: 0x8b,
  UNUSABLE: 0x10000,
} as const;

/** Options for the test guest. */
export interface GuestSetup {
  pin?: number;
  proc?: number;
  proc2?: number;
  exit?: number;
  entry?: number;
  /** Use unrestricted guest + EPT, with CR0.PG = 0. */
  unrestricted?: boolean;
  eptp?: number;
  rip?: number;
}

const CR0_PE_NE_PG = 0x8000_0021;
const CR0_PE_NE = 0x21;
const CR4_VMXE = 0x2000;

/** VMXON, create and load a VMCS, and fill it with a valid flat guest and host. */
export function setupValidGuest(vmx: Vmx, setup: GuestSetup = {}): Vmcs {
  const vmcs = (vmx.constructor as typeof Vmx).createVmcs();
  if (vmx.currentVmcs === null) vmx.vmxon();
  vmx.vmptrld(vmcs);
  const w = (f: number, v: number): void => vmx.vmwrite(f, v);
  const proc2 = (setup.proc2 ?? 0) | (setup.unrestricted ? ProcBased2.ENABLE_EPT | ProcBased2.UNRESTRICTED_GUEST : 0);
  w(VmcsField.PIN_BASED_VM_EXEC_CONTROL, PIN_CAPS.allowed0 | PinBased.EXT_INTR_EXITING | (setup.pin ?? 0));
  w(VmcsField.CPU_BASED_VM_EXEC_CONTROL, PROC_CAPS.allowed0 | (proc2 !== 0 ? ProcBased.ACTIVATE_SECONDARY_CONTROLS : 0) | (setup.proc ?? 0));
  w(VmcsField.SECONDARY_VM_EXEC_CONTROL, proc2);
  w(VmcsField.VM_EXIT_CONTROLS, EXIT_CAPS.allowed0 | (setup.exit ?? 0));
  w(VmcsField.VM_ENTRY_CONTROLS, ENTRY_CAPS.allowed0 | (setup.entry ?? 0));
  if (setup.eptp !== undefined) vmx.vmwrite64(VmcsField.EPT_POINTER, setup.eptp);

  w(VmcsField.HOST_CR0, CR0_PE_NE_PG);
  w(VmcsField.HOST_CR4, CR4_VMXE);
  w(VmcsField.HOST_CS_SELECTOR, 0x08);
  for (const f of [VmcsField.HOST_SS_SELECTOR, VmcsField.HOST_DS_SELECTOR, VmcsField.HOST_ES_SELECTOR, VmcsField.HOST_FS_SELECTOR, VmcsField.HOST_GS_SELECTOR]) w(f, 0x10);
  w(VmcsField.HOST_TR_SELECTOR, 0x18);

  w(VmcsField.GUEST_CR0, setup.unrestricted ? CR0_PE_NE : CR0_PE_NE_PG);
  w(VmcsField.GUEST_CR4, CR4_VMXE);
  // ES CS SS DS FS GS: flat 4 GiB
  for (let i = 0; i < 6; i++) {
    const code = i === 1;
    w(VmcsField.GUEST_ES_SELECTOR + 2 * i, code ? 0x08 : 0x10);
    w(VmcsField.GUEST_ES_BASE + 2 * i, 0);
    w(VmcsField.GUEST_ES_LIMIT + 2 * i, 0xffff_ffff);
    w(VmcsField.GUEST_ES_AR_BYTES + 2 * i, code ? TestAr.CODE32 : TestAr.DATA32);
  }
  w(VmcsField.GUEST_LDTR_AR_BYTES, TestAr.UNUSABLE);
  w(VmcsField.GUEST_TR_SELECTOR, 0x18);
  w(VmcsField.GUEST_TR_LIMIT, 0x67);
  w(VmcsField.GUEST_TR_AR_BYTES, TestAr.TSS32_BUSY);
  w(VmcsField.GUEST_GDTR_LIMIT, 0x1f);
  w(VmcsField.GUEST_IDTR_LIMIT, 0x7ff);
  w(VmcsField.GUEST_RFLAGS, 0x2);
  w(VmcsField.GUEST_RIP, setup.rip ?? 0x1000);
  w(VmcsField.GUEST_RSP, 0x8000);
  w(VmcsField.VMCS_LINK_POINTER, 0xffff_ffff);
  w(VmcsField.VMCS_LINK_POINTER + 1, 0xffff_ffff);
  return vmcs;
}
