"""The demo's certificate rows judge what they observe: a failed write never passes as the isolation row's 404."""

from __future__ import annotations

from typing import Any

from emulation.demo.certificate import build_certificate_cases
from emulation.lambdas.sandbox import InvokeResult


class _RefusingWrites:
    """Stands in for TwoAccounts: every certificate-client call answers 404 'not found' (as a wrong path would)."""

    def invoke_client(self, kind: str, event: dict[str, Any], **_: Any) -> InvokeResult:
        payload = {"statusCode": 404, "headers": {}, "body": '{"message":"Item x not found"}', "error": "404"}
        return InvokeResult("certificate", "r", payload, None, cold_start=False, init_ms=None, duration_ms=1.0)

    def certificate_secret(self, name: str) -> str:
        return f"arn:aws:secretsmanager:us-east-1:222222222222:secret:{name}"


def test_isolation_row_does_not_match_when_tenant_a_could_not_create_its_item() -> None:
    # GIVEN the isolation row, and a deployment where tenant-a's write itself answers 404 "not found"
    (case,) = [case for case in build_certificate_cases() if case.key == "tenant-isolation"]
    # WHEN the row runs
    observed = case.run(_RefusingWrites())  # type: ignore[arg-type]
    # THEN it reports the failed write, and the row is not as expected (its 404 must come from tenant-b's read)
    assert observed.summary.startswith("tenant-a could not create its item: 404")
    assert not case.matches(observed)
