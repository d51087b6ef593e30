// Tracee.setReg writes numbers without BigInt on its fast path: every value must land in the
// register as the same 64-bit two's-complement pattern BigInt.asUintN gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tracee } from '../../src/host/ptrace/tracee.js';
import { USER_REGS_SIZE } from '../../src/host/ptrace/constants.js';

test('setReg stores numbers and bigints as 64-bit two\'s complement', () => {
  const t = new Tracee(-1);
  t.restoreRegs(Buffer.alloc(USER_REGS_SIZE)); // registers valid: no ptrace call is made
  const values: (number | bigint)[] = [
    0, 1, -1, -4095, -4096, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 32, 2 ** 32 + 1,
    2 ** 47 - 4096, -(2 ** 40) + 3, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53, 2 ** 63,
    -1n, 5n, 0xffffffffffffffffn, -(2n ** 63n),
  ];
  for (const v of values) {
    t.setReg(3, v);
    assert.equal(t.regs.readBigUInt64LE(24), BigInt.asUintN(64, BigInt(v)), `value ${v}`);
    assert.equal(t.regs.readBigUInt64LE(16), 0n, 'neighbouring register untouched');
  }
});
