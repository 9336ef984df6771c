/** The VT-x unit: VMCS, capability MSRs, VM entry/exit, non-root hooks (SDM Vol. 3C ch. 24-31). */
export * from './vmcs-fields.js';
export * from './exit-reasons.js';
export * from './controls.js';
export * from './vm-instruction-errors.js';
export * from './interruption.js';
export * from './vmcs.js';
export * from './capabilities.js';
export * from './entry-checks.js';
export * from './exit-qualification.js';
export * from './nonroot.js';
export * from './vmx.js';
