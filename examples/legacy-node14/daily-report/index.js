'use strict';
// Daily batch report, as it ran on nodejs14.x before the platform existed.
// Kept unchanged as the worked example of docs/migrating-node.md: aws-sdk v2, a
// callback handler, callbackWaitsForEmptyEventLoop, and its own package.json.
const AWS = require('aws-sdk');
const dayjs = require('dayjs');
const utc = require('dayjs/plugin/utc');

dayjs.extend(utc);

const s3 = new AWS.S3();
const BUCKET = process.env.DATA_BUCKET;
const STAGES = ['received', 'transformed', 'loaded'];
const COUNTS = ['received', 'staged', 'rejected', 'duplicates', 'loaded'];

function reportDay(event) {
  if (event && event.date) return event.date;
  return dayjs.utc(event && event.time).subtract(1, 'day').format('YYYY-MM-DD');
}

function listManifests(token, keys) {
  return s3
    .listObjectsV2({ Bucket: BUCKET, Prefix: 'manifests/', ContinuationToken: token })
    .promise()
    .then((page) => {
      const all = keys.concat((page.Contents || []).map((o) => o.Key));
      return page.IsTruncated ? listManifests(page.NextContinuationToken, all) : all;
    });
}

function readManifest(key) {
  return s3
    .getObject({ Bucket: BUCKET, Key: key })
    .promise()
    .then((object) => JSON.parse(object.Body.toString('utf-8')))
    .catch((err) => {
      if (err instanceof SyntaxError) return { unreadable: key };
      throw err;
    });
}

function summarize(day, manifests) {
  const report = { date: day, batches: 0, stages: {}, counts: {}, not_loaded: [], unreadable: [] };
  STAGES.forEach((s) => { report.stages[s] = 0; });
  COUNTS.forEach((c) => { report.counts[c] = 0; });
  manifests.forEach((m) => {
    if (m.unreadable) { report.unreadable.push(m.unreadable); return; }
    const received = m.times && m.times.received_at;
    if (!received || dayjs.utc(received).format('YYYY-MM-DD') !== day) return;
    report.batches += 1;
    report.stages[m.stage] = (report.stages[m.stage] || 0) + 1;
    COUNTS.forEach((c) => { report.counts[c] += (m.counts && m.counts[c]) || 0; });
    if (m.stage !== 'loaded') report.not_loaded.push(m.batch_id);
  });
  report.not_loaded.sort();
  return report;
}

exports.handler = function (event, context, callback) {
  context.callbackWaitsForEmptyEventLoop = false;
  const day = reportDay(event);
  listManifests(undefined, [])
    .then((keys) => Promise.all(keys.map(readManifest)))
    .then((manifests) => summarize(day, manifests))
    .then((report) =>
      s3
        .putObject({
          Bucket: BUCKET,
          Key: 'reports/' + day + '.json',
          Body: JSON.stringify(report, null, 2),
          ContentType: 'application/json',
        })
        .promise()
        .then(() => report)
    )
    .then((report) => callback(null, { key: 'reports/' + day + '.json', batches: report.batches }))
    .catch((err) => callback(err));
};
