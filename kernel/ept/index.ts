/** EPT: formats, the page walk and the table builder (SDM 29.3). */
export * from './ept-format.js';
export * from './ept-walk.js';
export * from './ept-builder.js';
