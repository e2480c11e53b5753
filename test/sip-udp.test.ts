/**
 * Issue 13: Hookline's SIP UDP socket (calls/drivers/sip/udp.ts). A 180 is never sent again over
 * UDP, so one dropped by a full receive buffer is a leg.ringing lost: the socket the `sip` package
 * makes gets a receive buffer far above the system's default, and the datagrams the kernel drops
 * on it are counted (README "Calls over SIP"). Linux only (/proc), no SIPp.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SipStack } from '../src/calls/drivers/sip/stack.ts';
import { procAddress, UDP_RECEIVE_BUFFER, UdpReceiver } from '../src/calls/drivers/sip/udp.ts';
import { freePort } from './sip-harness.ts';

const LINUX = existsSync('/proc/sys/net/core/rmem_max') ? false : 'needs Linux /proc';

test('the sip package\'s UDP socket gets the receive buffer Hookline asks for (up to what net.core.rmem_max allows)', { skip: LINUX }, async () => {
  const stack = new SipStack({ host: '127.0.0.1', port: await freePort() }, () => {}, (err) => assert.fail(String(err)), () => {});
  try {
    assert.ok(stack.udp, 'the UDP socket the sip package made was found');
    const b = await stack.udp.buffer;
    assert.ok(b);
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    // Linux grants min(asked, rmem_max) and reports twice that.
    assert.equal(b.got, 2 * Math.min(UDP_RECEIVE_BUFFER, rmemMax), JSON.stringify(b));
    if (2 * rmemMax > b.before) assert.ok(b.got > b.before, `raised above the default ${b.before}: ${b.got}`);
    assert.equal(stack.udp.drops(), 0);
  } finally {
    stack.close();
  }
});

test('datagrams the kernel drops on a full receive buffer are counted', { skip: LINUX }, async () => {
  assert.equal(procAddress('127.0.0.1', 5060), '0100007F:13C4');
  const rx = createSocket('udp4');
  const udp = new UdpReceiver(rx, 4096);
  await new Promise<void>((resolve) => rx.bind(0, '127.0.0.1', resolve));
  const tx = createSocket('udp4');
  try {
    assert.ok((await udp.buffer)!.got <= 16384);
    // All sent in this turn of the event loop, before rx reads any: a few fit, the rest are dropped.
    const body = Buffer.alloc(500, 'x');
    for (let i = 0; i < 300; i++) tx.send(body, rx.address().port, '127.0.0.1');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok((udp.drops() ?? 0) > 200, `drops: ${udp.drops()}`);
  } finally {
    udp.close();
    tx.close();
    rx.close();
  }
});
