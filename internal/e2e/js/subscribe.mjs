// Subscribes to Channelgraph's purchaseOrderUpdated with graphql-ws, the
// reference client of the graphql-transport-ws protocol, and prints each
// result payload it receives as one JSON line on stdout. Run by
// internal/e2e's TestReferenceJavaScriptClient:
//
//   CG_WS_URL=ws://127.0.0.1:8080/graphql CG_TOKEN=cgt_… node subscribe.mjs
//
// It exits 0 after closing the connection cleanly when its standard input
// ends, and non-zero if the subscription fails, completes or closes first.
// Progress and errors go to stderr.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws'; // Node 20 has no global WebSocket

const url = process.env.CG_WS_URL;
const token = process.env.CG_TOKEN;
if (!url || !token) {
  console.error('usage: CG_WS_URL=ws://HOST:PORT/graphql CG_TOKEN=TOKEN node subscribe.mjs');
  process.exit(2);
}

const query = `subscription($after: String) {
  purchaseOrderUpdated(after: $after) { cursor purchaseOrder { number status } }
}`;

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0, // a dropped connection is a failure here, not something to hide
  on: {
    connected: () => console.error('connected'),
    closed: (e) => console.error(`closed: ${e?.code ?? ''} ${e?.reason ?? ''}`),
  },
});

let stopping = false;
process.stdin.on('data', () => {}); // read, so that 'end' is emitted
process.stdin.on('end', async () => {
  stopping = true;
  await client.dispose();
  process.exit(0);
});

try {
  for await (const result of client.iterate({ query, variables: {} })) {
    process.stdout.write(JSON.stringify(result) + '\n');
  }
  if (!stopping) {
    console.error('the server completed the subscription');
    process.exit(3);
  }
} catch (err) {
  if (!stopping) {
    // graphql-ws rejects with a CloseEvent, a list of GraphQL errors, or an Error.
    const detail = err instanceof Error ? err.stack : JSON.stringify(err, ['code', 'reason', 'message', 'type', 'wasClean']);
    console.error(`subscription failed: ${detail}`);
    process.exit(1);
  }
}
