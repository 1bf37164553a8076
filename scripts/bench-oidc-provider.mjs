// The peer for scripts/bench: node-oidc-provider (installed from the npm
// registry by scripts/bench into its work directory) configured as Keyward's
// bench is: one confidential client with the client_credentials grant and
// the scope bench.read, introspection enabled, opaque access tokens kept in
// the provider's default in-memory store.
//
//   node bench-oidc-provider.mjs HOST:PORT CLIENT_ID CLIENT_SECRET
//
// Prints "ready" once it listens.
import http from 'node:http';
import Provider from 'oidc-provider';

const [listen, clientId, clientSecret] = process.argv.slice(2);
if (!listen || !clientId || !clientSecret) {
  console.error('usage: node bench-oidc-provider.mjs HOST:PORT CLIENT_ID CLIENT_SECRET');
  process.exit(2);
}
const [host, port] = listen.split(':');

const provider = new Provider(`http://${listen}`, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'bench.read',
    },
  ],
  scopes: ['bench.read'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // Any authenticated client may introspect (the bench's one client
    // introspects its own tokens).
    introspection: { enabled: true, allowedPolicy: () => true },
  },
  ttl: { ClientCredentials: 3600 },
});
// Its own log lines (none on the paths loaded) stay off the terminal.
provider.on('server_error', (ctx, err) => console.error(err));

http.createServer(provider.callback()).listen(Number(port), host, () => {
  console.log('ready');
});
