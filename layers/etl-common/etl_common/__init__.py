"""Shared code for the ETL pipeline's Lambda functions (shipped in the etl-common layer).

The package is deliberately import-light: importing ``etl_common`` or any of its
modules never imports boto3, psycopg or the X-Ray SDK; those are imported on first
use so that a function pays only for what it actually touches (cold start).

Modules:

- ``errors``: typed errors separating bad data (reject, no retry) from transient
  faults (raise, Lambda retries then dead-letters the event).
- ``config``: reading and validating environment variables.
- ``logger``: one JSON object per log line, compatible with Lambda's JSON log format.
- ``metrics``: CloudWatch embedded-metric-format lines (no API calls).
- ``tracing``: the only module that knows about the X-Ray SDK.
- ``runtime``: per-invocation context (request id, cold start, tracing setup).
- ``clients``: lazily created, cached boto3 clients.
- ``s3``: S3 helpers (S3 event parsing, JSON / JSON-lines objects, conditional puts).
- ``db``: Secrets Manager credential cache and the PostgreSQL connection pool.
- ``http``: Lambda function URL (payload 2.0) requests and JSON responses.
- ``batch``: partial batch responses for SQS, DynamoDB stream and Kinesis triggers
  (``process_batch``: one record handler, ``{"batchItemFailures": [...]}``).
- ``api``: the one shape of an API function's entry point (ingest-api, status-api).
- ``batches``: batch ids, the S3 key layout and the batch manifest (``Manifest``: the
  only legal stage transitions, stored with conditional writes).
- ``schema``: field checks that parse each value once, and the record decoder.
- ``datasets``: one schema module per dataset (``datasets.orders``) and the SQL of
  their tables (``datasets.sql``: DDL, COPY, the versioned upsert).
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "1.0.0"
