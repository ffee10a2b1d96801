// Drives a Tresor server with node-vault: the seed workflows a Node.js
// service runs. VAULT_ADDR and VAULT_TOKEN (root) come from the Go test.
// Prints "N passed, 0 failed"; exits 1 on the first failure.
'use strict';
const assert = require('assert');
const nodeVault = require('node-vault');

let passed = 0;
function ok(cond, what) {
  assert.ok(cond, what);
  passed++;
}

async function main() {
  const addr = process.env.VAULT_ADDR;
  const root = nodeVault({ apiVersion: 'v1', endpoint: addr, token: process.env.VAULT_TOKEN });

  const health = await root.health();
  ok(health.initialized === true && health.sealed === false, 'health');
  const status = await root.status();
  ok(status.sealed === false, 'seal status');

  // KV v2 at secret/, as the dev server mounts it.
  await root.write('secret/data/services/my-app', { data: { api_key: 'sk-123', database_url: 'postgres://db' } });
  const got = await root.read('secret/data/services/my-app');
  ok(got.data.data.api_key === 'sk-123' && got.data.metadata.version === 1, 'kv v2 read');
  const list = await root.list('secret/metadata/services');
  ok(list.data.keys.includes('my-app'), 'kv v2 list');

  // Policies and an AppRole machine login.
  await root.addPolicy({ name: 'my-app', rules: 'path "secret/data/services/my-app" { capabilities = ["read"] }' });
  const policies = await root.policies();
  ok(policies.policies.includes('my-app'), 'policy listed');
  await root.enableAuth({ mount_point: 'approle', type: 'approle' });
  await root.write('auth/approle/role/my-app', { token_policies: 'my-app', token_ttl: '1h', token_max_ttl: '4h' });
  const roleId = (await root.getApproleRoleId({ role_name: 'my-app' })).data.role_id;
  const secretId = (await root.getApproleRoleSecret({ role_name: 'my-app' })).data.secret_id;
  const app = nodeVault({ apiVersion: 'v1', endpoint: addr });
  const login = await app.approleLogin({ role_id: roleId, secret_id: secretId });
  ok(login.auth.client_token && login.auth.lease_duration === 3600, 'approle login');
  const mine = await app.read('secret/data/services/my-app');
  ok(mine.data.data.database_url === 'postgres://db', 'read with the approle token');
  let denied = false;
  try {
    await app.read('sys/policies/acl/my-app');
  } catch (e) {
    denied = e.response && e.response.statusCode === 403;
  }
  ok(denied, 'forbidden read answers 403');

  // Userpass, as people log in.
  await root.enableAuth({ mount_point: 'userpass', type: 'userpass' });
  await root.write('auth/userpass/users/web', { password: 'web', policies: 'my-app' });
  const user = nodeVault({ apiVersion: 'v1', endpoint: addr });
  const ul = await user.userpassLogin({ username: 'web', password: 'web' });
  ok(ul.auth.policies.includes('my-app'), 'userpass login');
  const self = await user.tokenLookupSelf();
  ok(self.data.display_name === 'userpass-web', 'token lookup-self');

  // Mounts.
  await root.mount({ mount_point: 'kv1', type: 'kv', options: { version: '1' } });
  await root.write('kv1/hello', { value: 'world' });
  ok((await root.read('kv1/hello')).data.value === 'world', 'kv v1 read');
  const mounts = await root.mounts();
  ok(mounts['kv1/'] && mounts['kv1/'].type === 'kv', 'mounts listed');

  console.log(`${passed} passed, 0 failed`);
}

main().catch((e) => {
  console.error('FAIL:', e.message, e.response && e.response.body);
  process.exit(1);
});
