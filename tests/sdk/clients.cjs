// Runs one provider's own metadata client against fake-mds and checks what it returns.
//   node clients.cjs CASE          (NODE_PATH points at the pinned node_modules)
// The fake's endpoint comes through each library's own setting, set by the caller:
// GCE_METADATA_HOST (gcp-metadata), AWS_EC2_METADATA_SERVICE_ENDPOINT
// (@smithy/credential-provider-imds), AZURE_POD_IDENTITY_AUTHORITY_HOST (@azure/identity).
// Prints one line per check; exits 0 when every check holds, 1 otherwise.
'use strict';

const assert = require('node:assert/strict');

const checks = [];
async function check(name, fn) {
  try {
    const shown = await fn();
    checks.push({ name, ok: true });
    console.log(`  ok   ${name}${shown === undefined ? '' : ` -> ${shown}`}`);
  } catch (e) {
    checks.push({ name, ok: false });
    console.log(`  FAIL ${name}: ${e && e.message ? e.message : e}`);
  }
}

// Expects `promise` to reject; returns the error for further checks.
async function rejection(promise) {
  try {
    const value = await promise;
    throw new assert.AssertionError({ message: `resolved instead: ${JSON.stringify(value)}` });
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    return e;
  }
}

const short = (v) => JSON.stringify(v).slice(0, 100);

async function gce() {
  const gcp = require('gcp-metadata');
  await check('isAvailable() sees a GCE metadata server', async () => {
    assert.equal(await gcp.isAvailable(), true);
  });
  await check('instance id (64-bit, exact)', async () => {
    const id = await gcp.instance('id');
    assert.equal(String(id), process.env.EXPECT_ID);
    return String(id);
  });
  await check("instance('/id') (a doubled slash)", async () => {
    assert.equal(String(await gcp.instance('/id')), process.env.EXPECT_ID);
  });
  await check('recursive instance JSON has GCE types', async () => {
    const inst = await gcp.instance({ params: { recursive: 'true' } });
    assert.equal(String(inst.id), process.env.EXPECT_ID);
    const nic = inst.networkInterfaces[0];
    assert.equal(typeof nic.mtu, 'number');
    assert.ok(Array.isArray(nic.dnsServers), 'dnsServers is an array');
    assert.ok(Array.isArray(inst.tags), 'tags is an array');
    assert.deepEqual(inst.tags, ['http-server', 'db-client']);
    assert.ok(Array.isArray(inst.serviceAccounts.default.scopes), 'scopes is an array');
    assert.equal(inst.attributes['enable-guest-attributes'], 'TRUE');
    assert.equal(inst.guestAttributes, undefined);
    return `mtu ${nic.mtu}, tags ${short(inst.tags)}`;
  });
  await check('project numeric id is a number', async () => {
    const project = await gcp.project({ params: { recursive: 'true' } });
    assert.equal(typeof project.numericProjectId, 'number');
    assert.equal(await gcp.project('numeric-project-id'), project.numericProjectId);
    assert.equal(await gcp.project('project-id'), project.projectId);
    return project.numericProjectId;
  });
  await check('tags: JSON by default, lines with alt=text', async () => {
    assert.deepEqual(await gcp.instance('tags'), ['http-server', 'db-client']);
    const text = await gcp.instance({ property: 'tags', params: { alt: 'text' } });
    assert.equal(text, 'http-server\ndb-client');
  });
  await check('default service account token, email, scopes', async () => {
    const token = await gcp.instance('service-accounts/default/token');
    assert.equal(typeof token.access_token, 'string');
    assert.equal(typeof token.expires_in, 'number');
    assert.equal(token.token_type, 'Bearer');
    const email = await gcp.instance('service-accounts/default/email');
    assert.match(email, /@developer\.gserviceaccount\.com$/);
    const scopes = await gcp.instance('service-accounts/default/scopes');
    assert.match(scopes, /cloud-platform/);
    return email;
  });
  await check('universe domain and bulk()', async () => {
    assert.equal(await gcp.universe('universe-domain'), 'googleapis.com');
    const all = await gcp.bulk([
      { metadataKey: 'instance/name' },
      { metadataKey: 'project/project-id' },
    ]);
    assert.equal(all['instance/name'], 'guestpulse-test');
    return short(all);
  });
  await check('an unknown key is a 404', async () => {
    const e = await rejection(gcp.instance('no-such-key'));
    assert.equal(e.response && e.response.status, 404);
  });
}

async function gceProxied() {
  // The fake answers without Metadata-Flavor (a proxy in the way): the client refuses.
  const gcp = require('gcp-metadata');
  await check('an answer without Metadata-Flavor is refused', async () => {
    const e = await rejection(gcp.instance('id'));
    assert.match(e.message, /Metadata-Flavor/);
    return e.message;
  });
}

async function ec2(expectOk) {
  const { fromInstanceMetadata } = require('@smithy/credential-provider-imds');
  const provider = fromInstanceMetadata({ timeout: 2000, maxRetries: 0 });
  if (expectOk) {
    await check('IMDSv2 role credentials', async () => {
      const creds = await provider();
      assert.match(creds.accessKeyId, /^ASIAFAKEMDS/);
      assert.equal(typeof creds.secretAccessKey, 'string');
      assert.equal(typeof creds.sessionToken, 'string');
      assert.ok(creds.expiration.getTime() > Date.now() + 3600 * 1000, 'expires in hours');
      return creds.accessKeyId;
    });
  } else {
    await check('no credentials from a disabled endpoint', async () => {
      const e = await rejection(provider());
      assert.equal(e.statusCode, 403);
      return `${e.name}: ${e.message} (HTTP ${e.statusCode})`;
    });
  }
}

async function azure(expectOk) {
  const { ManagedIdentityCredential } = require('@azure/identity');
  const credential = new ManagedIdentityCredential();
  const scope = 'https://management.azure.com/.default';
  if (expectOk) {
    await check('managed identity token through IMDS', async () => {
      const token = await credential.getToken(scope);
      assert.match(token.token, /^fake-mds-azure-token-/);
      assert.ok(token.expiresOnTimestamp > Date.now() + 3600 * 1000, 'expires in hours');
      return token.token;
    });
  } else {
    await check('no token for a VM without a managed identity', async () => {
      const e = await rejection(credential.getToken(scope));
      assert.match(e.message, /Identity not found/);
      return `${e.name}: ${e.message.split('\n')[0].slice(0, 160)}`;
    });
  }
}

const cases = {
  gce,
  'gce-proxied': gceProxied,
  ec2: () => ec2(true),
  'ec2-disabled': () => ec2(false),
  azure: () => azure(true),
  'azure-no-identity': () => azure(false),
};

(async () => {
  const name = process.argv[2];
  if (!cases[name]) {
    console.error(`usage: node clients.cjs ${Object.keys(cases).join('|')}`);
    process.exit(2);
  }
  await cases[name]();
  const failed = checks.filter((c) => !c.ok).length;
  process.exit(failed === 0 && checks.length > 0 ? 0 : 1);
})().catch((e) => {
  console.log(`  FAIL ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
