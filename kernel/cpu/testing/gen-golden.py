#!/usr/bin/env python3
"""Record reference results of integer instructions from the host CPU (run natively as 32-bit
code, no libc) into golden-alu.json, with the encodings from GNU as. Run once by hand:
    python3 kernel/cpu/testing/gen-golden.py
Needs gcc -m32 and GNU as; the tests only read the JSON."""
import json, os, random, subprocess, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CF, PF, AF, ZF, SF, OF = 1, 4, 0x10, 0x40, 0x80, 0x800
ALL = CF | PF | AF | ZF | SF | OF
random.seed(1234)
EDGE = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x12345678]
R = {8: ('al', 'bl', 'dl', 'cl'), 16: ('ax', 'bx', 'dx', 'cx'), 32: ('eax', 'ebx', 'edx', 'ecx')}
S = {8: 'b', 16: 'w', 32: 'l'}

ops = []  # (name, asm, undefined-mask function(case) or int, kind)
for bits in (8, 16, 32):
    a, b, d, c = R[bits]
    s = S[bits]
    for op in ('add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp', 'test'):
        und = AF if op in ('or', 'and', 'xor', 'test') else 0
        ops.append((f'{op}{s}', f'{op}{s} %{b}, %{a}', und, 'plain'))
    ops.append((f'add{s}_imm', f'add{s} $0x7f, %{a}', 0, 'plain'))
    for op in ('inc', 'dec', 'neg', 'not'):
        ops.append((f'{op}{s}', f'{op}{s} %{a}', 0, 'plain'))
    for op in ('shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr'):
        ops.append((f'{op}{s}', f'{op}{s} %cl, %{a}', (op, bits), 'shift'))
    ops.append((f'mul{s}', f'mul{s} %{b}', SF | ZF | AF | PF, 'plain'))
    ops.append((f'imul{s}', f'imul{s} %{b}', SF | ZF | AF | PF, 'plain'))
    ops.append((f'div{s}', f'div{s} %{b}', ALL, ('div', bits, False)))
    ops.append((f'idiv{s}', f'idiv{s} %{b}', ALL, ('div', bits, True)))
    ops.append((f'xchg{s}', f'xchg{s} %{b}, %{a}', 0, 'plain'))
    ops.append((f'xadd{s}', f'xadd{s} %{b}, %{a}', 0, 'plain'))
    ops.append((f'cmpxchg{s}', f'cmpxchg{s} %{b}, %{d}', 0, 'plain'))
    if bits > 8:
        ops.append((f'imul2{s}', f'imul{s} %{b}, %{a}', SF | ZF | AF | PF, 'plain'))
        ops.append((f'imul3{s}', f'imul{s} $-3, %{b}, %{a}', SF | ZF | AF | PF, 'plain'))
        ops.append((f'imul3i{s}', f'imul{s} $0x1234, %{b}, %{a}', SF | ZF | AF | PF, 'plain'))
        ops.append((f'shld{s}', f'shld{s} %cl, %{b}, %{a}', ('shld', bits), 'shift'))
        ops.append((f'shrd{s}', f'shrd{s} %cl, %{b}, %{a}', ('shld', bits), 'shift'))
        ops.append((f'bsf{s}', f'bsf{s} %{b}, %{a}', ALL & ~ZF, 'nonzero'))
        ops.append((f'bsr{s}', f'bsr{s} %{b}, %{a}', ALL & ~ZF, 'nonzero'))
        for op in ('bt', 'bts', 'btr', 'btc'):
            ops.append((f'{op}{s}', f'{op}{s} %{b}, %{a}', OF | SF | AF | PF, 'plain'))
            ops.append((f'{op}{s}_imm', f'{op}{s} $13, %{a}', OF | SF | AF | PF, 'plain'))
        ops.append((f'movzb{s}', f'movzb{s} %bl, %{a}', 0, 'plain'))
        ops.append((f'movsb{s}', f'movsb{s} %bl, %{a}', 0, 'plain'))
    ops.append((f'shl{s}_1', f'shl{s} %{a}', AF, 'plain'))
    ops.append((f'sar{s}_1', f'sar{s} %{a}', AF, 'plain'))
    ops.append((f'rcr{s}_1', f'rcr{s} %{a}', 0, 'plain'))
ops += [
    ('movswl', 'movswl %bx, %eax', 0, 'plain'),
    ('movzwl', 'movzwl %bx, %eax', 0, 'plain'),
    ('daa', 'daa', OF, 'plain'), ('das', 'das', OF, 'plain'),
    ('aaa', 'aaa', OF | SF | ZF | PF, 'plain'), ('aas', 'aas', OF | SF | ZF | PF, 'plain'),
    ('aam', 'aam', OF | AF | CF, 'plain'), ('aad', 'aad', OF | AF | CF, 'plain'),
    ('aam7', 'aam $7', OF | AF | CF, 'plain'), ('aad7', 'aad $7', OF | AF | CF, 'plain'),
    ('cbw', 'cbtw', 0, 'plain'), ('cwde', 'cwtl', 0, 'plain'), ('cwd', 'cwtd', 0, 'plain'), ('cdq', 'cltd', 0, 'plain'),
    ('bswap', 'bswap %eax', 0, 'plain'), ('lahf', 'lahf', 0, 'plain'), ('sahf', 'sahf', 0, 'plain'),
    ('cmc', 'cmc', 0, 'plain'), ('clc', 'clc', 0, 'plain'), ('stc', 'stc', 0, 'plain'),
]
for i, cc in enumerate(('o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g')):
    ops.append((f'set{cc}', f'set{cc} %al', 0, 'plain'))
    ops.append((f'cmov{cc}', f'cmov{cc} %ebx, %eax', 0, 'plain'))

def undef_for(spec, case):
    if isinstance(spec, int):
        return spec
    kind, bits = spec
    cnt = case[2] & 0x1f
    if cnt == 0:
        return 0
    u = 0
    if kind in ('shl', 'shr', 'sar', 'shld'):
        u |= AF
        if cnt != 1:
            u |= OF
        if kind in ('shl', 'shr') and cnt >= bits:
            u |= CF | OF
    else:
        if cnt != 1:
            u |= OF
    return u

def rnd(bits):
    v = random.choice(EDGE) if random.random() < 0.4 else random.getrandbits(32)
    return v & 0xffffffff

def div_ok(case, bits, signed):
    eax, ebx, ecx, edx = case[0], case[1], case[2], case[3]
    m = (1 << bits) - 1
    dv = ebx & m
    if dv == 0:
        return False
    if bits == 8:
        n = eax & 0xffff; nb = 16
    elif bits == 16:
        n = ((edx & 0xffff) << 16) | (eax & 0xffff); nb = 32
    else:
        n = (edx << 32) | eax; nb = 64
    if signed:
        if n >> (nb - 1): n -= 1 << nb
        if dv >> (bits - 1): dv -= 1 << bits
        q = abs(n) // abs(dv)
        if (n < 0) != (dv < 0): q = -q
        return -(1 << (bits - 1)) <= q < (1 << (bits - 1))
    return n // dv <= m

N = 24
cases = {}
for name, asm, und, kind in ops:
    cs = []
    while len(cs) < N:
        c = [rnd(32), rnd(32), random.getrandbits(6) if kind == 'shift' else rnd(32), rnd(32),
             0x202 | (random.getrandbits(12) & ALL)]
        if isinstance(kind, tuple) and kind[0] == 'div':
            if random.random() < 0.7:
                c[3] = random.getrandbits(8)  # small high half so most divisions do not overflow
            if not div_ok(c, kind[1], kind[2]):
                continue
        if kind == 'nonzero' and (c[1] & (0xffff if name.endswith('w') else 0xffffffff)) == 0:
            continue
        if kind == 'shift' and isinstance(und, tuple) and und[0] == 'shld' and und[1] == 16 and (c[2] & 0x1f) > 16:
            continue
        cs.append(c)
    cases[name] = cs

tmp = tempfile.mkdtemp()
src = ['static void wr(const char*s,int n){int r;__asm__ volatile("int $0x80":"=a"(r):"a"(4),"b"(1),"c"(s),"d"(n):"memory");}',
       'static char out[1<<22]; static int pos;',
       'static void hex(unsigned v){const char*h="0123456789abcdef";for(int i=0;i<8;i++)out[pos++]=h[(v>>(28-4*i))&15];out[pos++]=\' \';}',
       'static unsigned io[5];']
calls = []
for idx, (name, asm, und, kind) in enumerate(ops):
    easm = asm.replace('%', '%%')
    src.append(f'static void op{idx}(void){{__asm__ volatile("movl 16(%%esi),%%eax\\n push %%eax\\n popf\\n movl 0(%%esi),%%eax\\n movl 4(%%esi),%%ebx\\n movl 8(%%esi),%%ecx\\n movl 12(%%esi),%%edx\\n {easm}\\n pushf\\n popl 16(%%esi)\\n movl %%eax,0(%%esi)\\n movl %%ebx,4(%%esi)\\n movl %%ecx,8(%%esi)\\n movl %%edx,12(%%esi)\\n"::"S"(io):"eax","ebx","ecx","edx","memory","cc");}}')
    for c in cases[name]:
        calls.append(f'io[0]={c[0]}u;io[1]={c[1]}u;io[2]={c[2]}u;io[3]={c[3]}u;io[4]={c[4]}u;op{idx}();for(int i=0;i<5;i++)hex(io[i]);out[pos++]=\'\\n\';')
src.append('void _start(void){' + '\n'.join(calls) + 'wr(out,pos);__asm__ volatile("int $0x80"::"a"(1),"b"(0));}')
open(f'{tmp}/g.c', 'w').write('\n'.join(src))
subprocess.check_call(['gcc', '-m32', '-ffreestanding', '-nostdlib', '-static', '-O0', '-o', f'{tmp}/g', f'{tmp}/g.c'])
lines = subprocess.check_output([f'{tmp}/g']).decode().strip().split('\n')

def encode(asm):
    open(f'{tmp}/e.s', 'w').write('.code32\n' + asm + '\n')
    subprocess.check_call(['as', '--32', '-o', f'{tmp}/e.o', f'{tmp}/e.s'])
    subprocess.check_call(['objcopy', '-O', 'binary', '-j', '.text', f'{tmp}/e.o', f'{tmp}/e.bin'])
    return list(open(f'{tmp}/e.bin', 'rb').read())

result = []
li = 0
for name, asm, und, kind in ops:
    rows = []
    for c in cases[name]:
        outv = [int(x, 16) for x in lines[li].split()]
        li += 1
        rows.append(c + outv + [undef_for(und, c) if not isinstance(und, int) else und])
    result.append({'name': name, 'asm': asm, 'bytes': encode(asm), 'cases': rows})
json.dump({'source': 'recorded from the host CPU by gen-golden.py; case = in eax ebx ecx edx eflags, out eax ebx ecx edx eflags, undefined-flags mask',
           'ops': result}, open(os.path.join(HERE, 'golden-alu.json'), 'w'), separators=(',', ':'))
print(len(result), 'ops', li, 'cases')
