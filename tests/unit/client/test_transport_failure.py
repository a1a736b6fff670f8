"""The transport failure kinds are one Enum: what each means for retries, for writes and for the status reported."""

from __future__ import annotations

import pytest

from client.diagnosis import transport_failure
from client.transport import TransportError, TransportFailure


def test_transport_failure_values_are_the_names_users_see() -> None:
    # GIVEN the kinds WHEN listed THEN their values are the spellings the client has always used
    assert [str(kind) for kind in TransportFailure] == [
        "dns",
        "connect",
        "connect-timeout",
        "timeout",
        "tls",
        "connection",
    ]


def test_transport_failure_unknown_name_raises() -> None:
    # GIVEN a name that is no failure kind WHEN looked up THEN a ValueError names it
    with pytest.raises(ValueError, match="'refused' is not a valid TransportFailure"):
        TransportFailure("refused")


@pytest.mark.parametrize(
    ("kind", "retryable", "before_sending", "status"),
    [
        (TransportFailure.DNS, True, True, 502),
        (TransportFailure.CONNECT, True, True, 502),
        (TransportFailure.CONNECT_TIMEOUT, True, True, 504),
        (TransportFailure.TIMEOUT, True, False, 504),
        (TransportFailure.TLS, False, True, 502),
        (TransportFailure.CONNECTION, True, False, 502),
    ],
)
def test_transport_failure_kind_decides_retry_write_warning_and_status(
    kind: TransportFailure, retryable: bool, before_sending: bool, status: int
) -> None:
    # GIVEN a request that failed with this kind
    error = TransportError(kind, "detail of the failure", attempts=1)
    # WHEN the client explains it
    failure = transport_failure(error, custom_endpoint=False)
    # THEN only TLS is not retried, the kinds before sending are the ones that cannot have applied a write, waits
    # that ran out answer 504, and every kind has a hint
    assert (kind.retryable, kind.before_sending) == (retryable, before_sending)
    assert failure.status == status
    assert failure.error == "detail of the failure"
    assert failure.hint
