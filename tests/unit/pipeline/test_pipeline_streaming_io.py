"""The streaming pieces of etl_common.s3 and of transform's core, without AWS: line
framing over any chunking, oversized lines, the staged CSV in pieces, and the
multipart writer's calls (a fake S3 client records them)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from etl_common import clients, datasets, s3
from etl_common.errors import TransientError
from hypothesis import given
from hypothesis import strategies as st

DATASET = datasets.get("orders")
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def chunked(data: bytes, sizes: list[int]) -> list[bytes]:
    chunks, position = [], 0
    for size in sizes:
        chunks.append(data[position : position + size])
        position += size
    chunks.append(data[position:])
    return [c for c in chunks if c]


LINE_TEXT = st.text(alphabet=st.sampled_from("ab\n\r\u2028\u0085é{}"), max_size=60)


@given(text=LINE_TEXT, sizes=st.lists(st.integers(min_value=1, max_value=7), max_size=20))
def test_lines_of_a_stream_are_the_lines_of_the_whole_text_however_it_is_chunked(text, sizes):
    # GIVEN a text (with \r, U+2028, U+0085 inside lines) cut into arbitrary chunks
    data = text.encode("utf-8")

    # WHEN the stream is framed line by line
    lines = list(s3.iter_lines(chunked(data, sizes), max_line_bytes=1000))

    # THEN the lines are exactly those of the whole text, framed on \n only
    assert [line.decode("utf-8") for line in lines] == s3.split_lines(text)


@given(sizes=st.lists(st.integers(min_value=1, max_value=9), max_size=12))
def test_a_line_over_the_limit_is_reported_with_its_length_and_never_held(sizes):
    # GIVEN a short line, a 40-byte line and another short line, chunked arbitrarily
    data = b"ok\n" + b"x" * 40 + b"\nlast"

    # WHEN framed with a 16-byte limit
    lines = list(s3.iter_lines(chunked(data, sizes), max_line_bytes=16))

    # THEN the long line comes out as its first 16 bytes and its full length
    assert lines == [b"ok", s3.OversizedLine(head=b"x" * 16, length=40), b"last"]


def test_an_oversized_line_is_rejected_by_the_core_with_the_limit(load_handler):
    # GIVEN the transform core and an oversized line between two valid lines
    transform = load_handler("transform")
    line = '{"order_id": "A-1", "customer_id": "c", "amount": "1", "currency": "USD", '
    line += '"created_at": "2026-01-15T10:30:00Z"}'
    oversized = s3.OversizedLine(head=b"{" * 2000, length=10_000_000)

    # WHEN the lines are classified
    out = list(transform.classify_lines([line, oversized, line], "b", DATASET, now=NOW))

    # THEN the oversized one is rejected (its first KiB kept), the others are staged rows
    assert [(n, row is not None) for n, row, _ in out] == [(1, True), (2, False), (3, True)]
    rejection = out[1][2]
    assert rejection["raw"] == "{" * transform.REJECTED_RAW_BYTES
    assert rejection["reasons"] == [
        {
            "field": None,
            "message": f"line is 10000000 bytes; the limit is {transform.MAX_LINE_BYTES} bytes",
        }
    ]


def test_the_staged_csv_in_pieces_is_one_csv_with_line_numbers_last(load_handler):
    # GIVEN 500 staged rows with their raw line numbers
    transform = load_handler("transform")
    line = '{{"order_id": "A-{n}", "customer_id": "c", "amount": "1.5", "currency": "USD", '
    line += '"created_at": "2026-01-15T10:30:00Z"}}'
    rows = [
        (n, row)
        for n, row, _ in transform.classify_lines(
            [line.format(n=n) for n in range(500)], "b", DATASET, now=NOW
        )
    ]

    # WHEN written in pieces of about 1 KiB
    pieces = list(transform.staged_csv(rows, DATASET, "2026-11-29T08:49:00.000Z", flush_bytes=1024))

    # THEN there are many pieces, and together they are the header and one line per row
    assert len(pieces) > 10
    parsed = list(csv.reader(io.StringIO(b"".join(pieces).decode("utf-8"))))
    assert parsed[0] == list(DATASET.staged_file_columns)
    assert [r[0] for r in parsed[1:]] == [f"A-{n}" for n in range(500)]
    assert [int(r[-1]) for r in parsed[1:]] == list(range(1, 501))


class FakeS3:
    """Records the S3 calls a StreamingUpload makes; ``fail`` names one to break."""

    def __init__(self, fail: str = "") -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    def __getattr__(self, operation: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((operation, kwargs))
            if operation == self.fail:
                raise ClientError({"Error": {"Code": "InternalError"}}, operation)
            if operation == "create_multipart_upload":
                return {"UploadId": "up-1"}
            if operation == "upload_part":
                return {"ETag": f'"etag-{kwargs["PartNumber"]}"'}
            return {}

        return call

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


@pytest.fixture
def fake_s3(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(fail: str = "") -> FakeS3:
        fake = FakeS3(fail)
        monkeypatch.setattr(clients, "get", lambda service: fake)
        return fake

    return install


PART = s3.MIN_PART_BYTES


def test_an_object_under_one_part_is_one_put_at_completion(fake_s3):
    # GIVEN a streaming upload that receives less than a part
    fake = fake_s3()
    with s3.StreamingUpload("b", "staged/x.csv", content_type="text/csv", part_bytes=PART) as up:
        up.write(b"a,b\n")
        up.write(b"1,2\n")
        # THEN nothing is written before completion
        assert fake.calls == []
        up.complete()

    # AND completion is one PutObject of the whole body
    assert fake.names() == ["put_object"]
    assert fake.calls[0][1]["Body"] == b"a,b\n1,2\n"


def test_a_larger_object_is_uploaded_in_parts_and_completed_whole(fake_s3):
    # GIVEN a streaming upload receiving two and a half parts, in small writes
    fake = fake_s3()
    with s3.StreamingUpload("b", "staged/x.csv", content_type="text/csv", part_bytes=PART) as up:
        for _ in range(5):
            up.write(b"z" * (PART // 2))
        up.write(b"tail")
        # THEN full parts were sent as they filled, and nothing is complete yet
        assert fake.names() == ["create_multipart_upload", "upload_part", "upload_part"]
        up.complete()

    # AND completion sends the rest as the last part and lists every part in order
    assert fake.names()[-2:] == ["upload_part", "complete_multipart_upload"]
    parts = [kw for name, kw in fake.calls if name == "upload_part"]
    assert [len(kw["Body"]) for kw in parts] == [PART, PART, PART // 2 + 4]
    assert b"".join(kw["Body"] for kw in parts) == b"z" * (5 * (PART // 2)) + b"tail"
    completed = fake.calls[-1][1]["MultipartUpload"]["Parts"]
    assert completed == [{"PartNumber": n, "ETag": f'"etag-{n}"'} for n in (1, 2, 3)]


def test_a_failure_before_completion_aborts_the_upload(fake_s3):
    # GIVEN a multipart upload under way
    fake = fake_s3()
    with (
        pytest.raises(RuntimeError, match="boom"),
        s3.StreamingUpload("b", "staged/x.csv", content_type="text/csv", part_bytes=PART) as up,
    ):
        up.write(b"z" * (PART + 1))
        # WHEN the producer fails
        raise RuntimeError("boom")

    # THEN the upload was aborted, never completed
    assert fake.names() == ["create_multipart_upload", "upload_part", "abort_multipart_upload"]


def test_a_failed_part_raises_a_transient_error_and_aborts(fake_s3):
    # GIVEN S3 failing a part / WHEN the part is uploaded / THEN retryable, and aborted
    fake = fake_s3(fail="upload_part")
    message = re.escape("cannot write s3://b/staged/x.csv: InternalError")
    with (
        pytest.raises(TransientError, match=message),
        s3.StreamingUpload("b", "staged/x.csv", content_type="text/csv", part_bytes=PART) as up,
    ):
        up.write(b"z" * PART)
    assert fake.names()[-1] == "abort_multipart_upload"


def test_parts_smaller_than_s3_allows_are_refused():
    # GIVEN / WHEN a part size under 5 MiB / THEN a clear error naming S3's minimum
    with pytest.raises(ValueError, match=f"at least {s3.MIN_PART_BYTES} bytes"):
        s3.StreamingUpload("b", "k", content_type="text/csv", part_bytes=1024)
