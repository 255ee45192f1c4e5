// One end of a TCP transfer for the bandwidth tests, run inside a namespace:
//
//   node transfer.mjs listen|connect HOST PORT send|receive
//
// The sending end writes as fast as the socket takes it until the other end
// closes; the receiving end skips the first WARMUP_MS (the bucket's burst),
// counts the bytes of the next MEASURE_MS, prints {"bitsPerSecond": N} and
// closes. `listen` prints "listening" once it does.
import { createConnection, createServer } from 'node:net';

const WARMUP_MS = 500;
const MEASURE_MS = 3000;
const [mode, host, port, role] = process.argv.slice(2);
const chunk = Buffer.alloc(64 * 1024, 0x61);

function send(socket) {
  const more = () => {
    while (socket.write(chunk));
  };
  socket.on('drain', more);
  socket.on('error', () => process.exit(0));
  socket.on('close', () => process.exit(0));
  more();
}

function receive(socket) {
  let counted = 0;
  let counting = false;
  socket.on('data', (data) => {
    if (counting) counted += data.length;
  });
  setTimeout(() => {
    counting = true;
    const start = process.hrtime.bigint();
    setTimeout(() => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      process.stdout.write(`${JSON.stringify({ bitsPerSecond: Math.round((counted * 8) / seconds) })}\n`);
      socket.destroy();
      process.exit(0);
    }, MEASURE_MS);
  }, WARMUP_MS);
}

const serve = role === 'send' ? send : receive;
if (mode === 'listen') {
  const server = createServer((socket) => {
    server.close();
    serve(socket);
  });
  server.listen(Number(port), host, () => console.log('listening'));
} else {
  const failed = (error) => {
    console.error(error.code);
    process.exit(3);
  };
  const socket = createConnection({ host, port: Number(port) }, () => {
    socket.off('error', failed);
    serve(socket);
  });
  socket.on('error', failed);
}
