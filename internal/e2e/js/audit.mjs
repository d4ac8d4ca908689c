// Runs the graphql-http audit suite (GraphQL over HTTP conformance) against
// CG_HTTP_URL and prints one JSON array of results; internal/e2e checks them.
import { serverAudits } from 'graphql-http';

const results = [];
for (const audit of serverAudits({ url: process.env.CG_HTTP_URL })) {
  const result = await audit.fn();
  results.push({ id: audit.id, name: audit.name, status: result.status, reason: result.reason ?? '' });
}
console.log(JSON.stringify(results));
