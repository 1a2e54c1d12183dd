'use strict';
// Daily batch report: summarizes the previous UTC day's batch manifests
// (manifests/<batch_id>.json, written by ingest-api, transform and load) into
// reports/YYYY-MM-DD.json in the data bucket.
//
// Migrated from examples/legacy-node14/daily-report with `nox -s migrate` (aws-sdk v2
// -> v3 by aws-sdk-js-codemod, dayjs moved to the Node layer) and the manual steps of
// docs/migrating-node.md (async handler, Body.transformToString()).
//
// Environment: DATA_BUCKET (set by the platform). Invoked by its schedule (EventBridge
// passes `time`; the report covers the day before) or by hand with {"date": "YYYY-MM-DD"}.
// A manifest that is not JSON is listed under `unreadable` (bad data); an S3 error
// throws, so Lambda retries and then sends the event to the function's DLQ.
const { S3 } = require('@aws-sdk/client-s3');
const dayjs = require('dayjs');
const utc = require('dayjs/plugin/utc');

dayjs.extend(utc);

const s3 = new S3();
const MANIFESTS = 'manifests/';
const STAGES = ['received', 'transformed', 'loaded'];
const COUNTS = ['received', 'staged', 'rejected', 'duplicates', 'loaded'];
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function reportDay(event) {
  if (event && event.date !== undefined) {
    if (typeof event.date !== 'string' || !DAY.test(event.date) || !dayjs.utc(event.date).isValid()) {
      throw new Error(`event.date must be a day like "2026-11-29", got ${JSON.stringify(event.date)}`);
    }
    return event.date;
  }
  return dayjs.utc(event && event.time).subtract(1, 'day').format('YYYY-MM-DD');
}

async function listManifests(bucket) {
  const keys = [];
  let token;
  do {
    const page = await s3.listObjectsV2({ Bucket: bucket, Prefix: MANIFESTS, ContinuationToken: token });
    keys.push(...(page.Contents || []).map((o) => o.Key).filter((k) => k.endsWith('.json')));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

async function readManifest(bucket, key) {
  const object = await s3.getObject({ Bucket: bucket, Key: key });
  const text = await object.Body.transformToString('utf-8');
  try {
    return JSON.parse(text);
  } catch {
    return { unreadable: key };
  }
}

function summarize(day, manifests) {
  const report = { date: day, batches: 0, stages: {}, counts: {}, not_loaded: [], unreadable: [] };
  for (const stage of STAGES) report.stages[stage] = 0;
  for (const count of COUNTS) report.counts[count] = 0;
  for (const m of manifests) {
    if (m.unreadable) {
      report.unreadable.push(m.unreadable);
      continue;
    }
    const received = m.times && m.times.received_at;
    if (!received || dayjs.utc(received).format('YYYY-MM-DD') !== day) continue;
    report.batches += 1;
    report.stages[m.stage] = (report.stages[m.stage] || 0) + 1;
    for (const count of COUNTS) report.counts[count] += (m.counts && m.counts[count]) || 0;
    if (m.stage !== 'loaded') report.not_loaded.push(m.batch_id);
  }
  report.not_loaded.sort();
  report.unreadable.sort();
  return report;
}

async function handler(event) {
  const bucket = process.env.DATA_BUCKET;
  if (!bucket) throw new Error('DATA_BUCKET is not set (the platform sets it on every function)');
  const day = reportDay(event);
  const keys = await listManifests(bucket);
  const manifests = await Promise.all(keys.map((key) => readManifest(bucket, key)));
  const report = summarize(day, manifests);
  const key = `reports/${day}.json`;
  await s3.putObject({
    Bucket: bucket,
    Key: key,
    Body: JSON.stringify(report, null, 2),
    ContentType: 'application/json',
  });
  console.info(JSON.stringify({ message: 'report written', key, batches: report.batches }));
  return { key, batches: report.batches };
}

module.exports = { handler, summarize, reportDay };
