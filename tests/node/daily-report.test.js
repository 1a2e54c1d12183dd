'use strict';
// node:test suite of lambdas/daily-report, run by tests/functional/test_node_functions.py
// (nox -s tests) with NODE_PATH holding the built Node layer (dayjs) and tools/node (the
// v3 SDK and aws-sdk-client-mock, which the Lambda runtime/tests provide).
const { test, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { mockClient } = require('aws-sdk-client-mock');
const {
  S3Client,
  ListObjectsV2Command,
  GetObjectCommand,
  PutObjectCommand,
} = require('@aws-sdk/client-s3');

process.env.AWS_REGION = 'us-east-1';
process.env.DATA_BUCKET = 'etl-data-test';
const fn = require(path.join(__dirname, '..', '..', 'lambdas', 'daily-report', 'index.js'));

const s3 = mockClient(S3Client);

// A manifest as the pipeline writes it (etl_common.batches.new_manifest, then transform/load).
function manifest(batchId, stage, receivedAt, counts = {}) {
  return {
    version: 1,
    batch_id: batchId,
    dataset: 'orders',
    stage,
    counts: { received: 0, staged: null, rejected: null, duplicates: null, loaded: null, ...counts },
    times: { received_at: receivedAt, transformed_at: null, loaded_at: null },
    raw_key: `raw/${receivedAt.slice(0, 10).replaceAll('-', '/')}/${batchId}.jsonl`,
  };
}

function body(text) {
  return { Body: { transformToString: async () => text } };
}

function bucketWith(objects, pageSize = 1000) {
  const keys = Object.keys(objects).sort();
  s3.on(ListObjectsV2Command).callsFake((input) => {
    assert.equal(input.Bucket, 'etl-data-test');
    assert.equal(input.Prefix, 'manifests/');
    const start = input.ContinuationToken ? Number(input.ContinuationToken) : 0;
    const page = keys.slice(start, start + pageSize);
    const next = start + pageSize;
    return {
      Contents: page.map((Key) => ({ Key })),
      IsTruncated: next < keys.length,
      NextContinuationToken: next < keys.length ? String(next) : undefined,
    };
  });
  s3.on(GetObjectCommand).callsFake((input) => body(objects[input.Key]));
  s3.on(PutObjectCommand).resolves({});
}

function written() {
  const calls = s3.commandCalls(PutObjectCommand);
  assert.equal(calls.length, 1, 'exactly one report is written');
  return { key: calls[0].args[0].input.Key, report: JSON.parse(calls[0].args[0].input.Body), input: calls[0].args[0].input };
}

beforeEach(() => s3.reset());

test('a scheduled run summarizes the previous UTC day into reports/YYYY-MM-DD.json', async () => {
  // GIVEN two batches received on 2026-11-28 (one loaded, one stuck) and one the day after
  bucketWith({
    'manifests/a.json': JSON.stringify(manifest('a', 'loaded', '2026-11-28T08:00:00.000Z', { received: 10, staged: 9, rejected: 1, duplicates: 0, loaded: 9 })),
    'manifests/b.json': JSON.stringify(manifest('b', 'transformed', '2026-11-28T23:59:59.999Z', { received: 5, staged: 5, rejected: 0, duplicates: 0 })),
    'manifests/c.json': JSON.stringify(manifest('c', 'received', '2026-11-29T00:00:00.000Z', { received: 7 })),
  });
  // WHEN EventBridge invokes it at 00:15 UTC on 2026-11-29
  const result = await fn.handler({ time: '2026-11-29T00:15:00Z', 'detail-type': 'Scheduled Event' });
  // THEN yesterday's report is written with the day's totals and the batches not loaded
  const { key, report, input } = written();
  assert.equal(key, 'reports/2026-11-28.json');
  assert.equal(input.ContentType, 'application/json');
  assert.deepEqual(result, { key, batches: 2 });
  assert.deepEqual(report, {
    date: '2026-11-28',
    batches: 2,
    stages: { received: 0, transformed: 1, loaded: 1 },
    counts: { received: 15, staged: 14, rejected: 1, duplicates: 0, loaded: 9 },
    not_loaded: ['b'],
    unreadable: [],
  });
});

test('every page of manifests is read', async () => {
  const objects = {};
  for (let i = 0; i < 5; i += 1) {
    objects[`manifests/m${i}.json`] = JSON.stringify(manifest(`m${i}`, 'loaded', '2026-11-28T12:00:00Z', { received: 1, loaded: 1 }));
  }
  bucketWith(objects, 2);
  await fn.handler({ date: '2026-11-28' });
  assert.equal(s3.commandCalls(ListObjectsV2Command).length, 3);
  assert.equal(written().report.batches, 5);
});

test('a manifest that is not JSON is reported as unreadable, not a crash', async () => {
  bucketWith({
    'manifests/bad.json': '{not json',
    'manifests/good.json': JSON.stringify(manifest('good', 'loaded', '2026-11-28T01:00:00Z')),
  });
  await fn.handler({ date: '2026-11-28' });
  const { report } = written();
  assert.deepEqual(report.unreadable, ['manifests/bad.json']);
  assert.equal(report.batches, 1);
});

test('an S3 failure rejects, so Lambda retries and then dead-letters the event', async () => {
  bucketWith({});
  s3.on(PutObjectCommand).rejects(new Error('SlowDown'));
  await assert.rejects(fn.handler({ date: '2026-11-28' }), /SlowDown/);
});

test('a hand-run date must be a real day', async () => {
  bucketWith({});
  await assert.rejects(fn.handler({ date: '28/11/2026' }), /event\.date must be a day/);
  assert.equal(s3.commandCalls(PutObjectCommand).length, 0);
});

test('the handler is async and takes no callback (nodejs24.x removed callbacks)', () => {
  assert.equal(fn.handler.constructor.name, 'AsyncFunction');
  assert.ok(fn.handler.length <= 2);
});
