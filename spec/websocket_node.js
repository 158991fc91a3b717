// SPDX-License-Identifier: MIT
// A browser-grade client for spec/websocket_spec.lua: Node's ws package (npm, installed by
// spec/run.sh under ~/.cache/lasio-node, found through NODE_PATH) against the module's server.
//   node websocket_node.js URL      prints one line per checked step, exits 0 when all held
'use strict';
const WebSocket = require('ws');

const url = process.argv[2];
const timer = setTimeout(() => { console.log('timeout'); process.exit(2); }, 30000);
const ws = new WebSocket(url, ['b', 'a'], { perMessageDeflate: process.argv[3] === 'deflate' });
const big = Buffer.alloc(4 * 1024 * 1024, 7);
const steps = [
  () => ws.send('hello from node'),
  () => ws.send(Buffer.from([0, 1, 2, 255])),
  () => ws.send(''),
  () => ws.send(big),
  () => ws.send('fragmented ', { fin: false }) || ws.send('in ', { fin: false }) || ws.send('three', { fin: true }),
];
const expect = [
  (m, bin) => !bin && m.toString() === 'hello from node',
  (m, bin) => bin && Buffer.compare(m, Buffer.from([0, 1, 2, 255])) === 0,
  (m, bin) => !bin && m.length === 0,
  (m, bin) => bin && Buffer.compare(m, big) === 0,
  (m, bin) => !bin && m.toString() === 'fragmented in three',
];
let i = 0;
ws.on('open', () => {
  console.log('protocol ' + ws.protocol);
  console.log('deflate ' + (ws.extensions.includes('permessage-deflate')));
  steps[0]();
});
ws.on('message', (m, bin) => {
  console.log('echo ' + i + ' ' + expect[i](m, bin));
  i += 1;
  if (i < steps.length) return steps[i]();
  ws.ping('node ping');
});
ws.on('pong', (data) => {
  console.log('pong ' + (data.toString() === 'node ping'));
  ws.close(4005, 'node done');
});
ws.on('close', (code, reason) => {
  console.log('closed ' + code + ' ' + reason.toString());
  clearTimeout(timer);
});
ws.on('error', (e) => { console.log('error ' + e.message); process.exit(1); });
