// A second service that hears a machine's transitions over a webhook: it verifies each request's signature, drops
// redeliveries by event id, and answers 2xx once it has the event. Register it with
//   tollgate consumers add crm --webhook http://127.0.0.1:8787/tollgate --secret "$FEED_SECRET" --machines subscription
import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';

function verify(secret: string, header: string | undefined, rawBody: string, toleranceSeconds = 300): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!match || Math.abs(Date.now() / 1000 - Number(match[1])) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${rawBody}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2] ?? '', 'hex'));
}

const secret = process.env.FEED_SECRET ?? 'change-me-please';
const seen = new Set<string>(); // a real service keeps this in its own database, in the transaction that acts

const server = createServer((req, res) => {
  let rawBody = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (rawBody += chunk));
  req.on('end', () => {
    const header = req.headers['tollgate-signature'];
    if (!verify(secret, typeof header === 'string' ? header : undefined, rawBody)) {
      console.log('refused: bad signature');
      return res.writeHead(401).end();
    }
    const event = JSON.parse(rawBody) as { id: string; machine: string; entityId: string; seq: number; event: { type: string }; from: string | null; to: string };
    if (!seen.has(event.id)) {
      seen.add(event.id);
      console.log(`${event.machine}/${event.entityId} #${event.seq} ${event.event.type}: ${event.from} -> ${event.to}`);
    }
    res.writeHead(204).end(); // any 2xx: delivered; anything else is retried
  });
});
server.listen(Number(process.env.PORT ?? 8787), '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : ''}/tollgate`);
});
