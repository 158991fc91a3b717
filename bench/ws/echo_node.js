// SPDX-License-Identifier: MIT
// The Node ws server of bench/ws: echoes every message (no permessage-deflate, as the others).
//   NODE_PATH=~/.cache/lasio-node/node_modules node bench/ws/echo_node.js PORT
'use strict';
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ host: '127.0.0.1', port: +process.argv[2], perMessageDeflate: false,
  maxPayload: 16 * 1024 * 1024 });
wss.on('connection', (ws) => {
  ws._socket.setNoDelay(true);
  ws.on('message', (m, binary) => ws.send(m, { binary }));
});
