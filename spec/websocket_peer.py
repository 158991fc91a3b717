# SPDX-License-Identifier: MIT
# The other end for spec/websocket_spec.lua, on Python's websockets (Debian's python3-websockets):
#   websocket_peer.py client URL SCENARIO [CAFILE]   runs a scenario against the module's server,
#                                                   printing one line per checked step
#   websocket_peer.py server [CERT KEY]             serves on a free port (printed first) until
#                                                   stdin closes, 60 s at most
import asyncio
import ssl
import sys

import websockets

BIG = bytes(range(256)) * (16 * 1024 * 1024 // 256)


def tls_client(cafile):
    if not cafile:
        return None
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx


async def client_echo(url, cafile):
    async with websockets.connect(url, subprotocols=['b', 'a'], max_size=None,
                                  ssl=tls_client(cafile)) as ws:
        print('protocol', ws.subprotocol)
        await ws.send('hello')
        print('text', await ws.recv() == 'hello')
        await ws.send(b'\x00\x01\xffbinary')
        got = await ws.recv()
        print('binary', isinstance(got, bytes) and got == b'\x00\x01\xffbinary')
        await ws.send('')
        print('empty', await ws.recv() == '')
        await ws.send(b'')
        got = await ws.recv()
        print('empty binary', isinstance(got, bytes) and got == b'')
        await ws.send(BIG)
        print('big', await ws.recv() == BIG)
        await ws.send(['frag1 ', 'frag2 ', 'frag3'])
        print('fragmented', await ws.recv() == 'frag1 frag2 frag3')
        pong = await ws.ping(b'are you there')
        await asyncio.wait_for(pong, 10)
        print('pong', True)
        await ws.close(4002, 'bye')
        print('closed', ws.close_code, ws.close_reason)


async def client_closed_by_server(url, cafile):
    async with websockets.connect(url, ssl=tls_client(cafile)) as ws:
        try:
            await ws.send('close me')
            await ws.recv()
            print('no close')
        except websockets.ConnectionClosed as e:
            print('closed', e.rcvd.code if e.rcvd else None, e.rcvd.reason if e.rcvd else None)


async def client_refused(url, cafile):
    try:
        async with websockets.connect(url, ssl=tls_client(cafile), origin='http://evil.example'):
            print('accepted')
    except websockets.InvalidStatusCode as e:
        print('status', e.status_code)


async def serve_handler(ws, path):
    path = ws.path
    if path == '/close':
        await ws.close(4001, 'go away')
        return
    if path == '/ping':
        pong = await ws.ping(b'from python')
        await asyncio.wait_for(pong, 10)
        await ws.send('ponged')
    try:
        async for msg in ws:
            if path == '/frag' and isinstance(msg, str) and len(msg) >= 3:
                k = len(msg) // 3
                await ws.send([msg[:k], msg[k:2 * k], msg[2 * k:]])
            else:
                await ws.send(msg)
    except websockets.ConnectionClosed:
        pass


async def server(cert, key):
    ctx = None
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
    async with websockets.serve(serve_handler, '127.0.0.1', 0, max_size=None, subprotocols=['chat'],
                                ssl=ctx) as srv:
        port = srv.sockets[0].getsockname()[1]
        print(port, flush=True)
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        loop.add_reader(sys.stdin.fileno(), lambda: done.done() or done.set_result(True))
        await asyncio.wait_for(done, 60)


def main():
    if sys.argv[1] == 'server':
        asyncio.run(server(*(sys.argv[2:4] if len(sys.argv) > 3 else (None, None))))
        return
    url, scenario = sys.argv[2], sys.argv[3]
    cafile = sys.argv[4] if len(sys.argv) > 4 else None
    fn = {'echo': client_echo, 'closed_by_server': client_closed_by_server, 'refused': client_refused}[scenario]
    asyncio.run(asyncio.wait_for(fn(url, cafile), 60))


if __name__ == '__main__':
    main()
