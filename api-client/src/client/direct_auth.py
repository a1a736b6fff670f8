"""Lambda handler of the direct client: signs with the function's own execution role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from client.invoke import build_direct_invoker, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Built at cold start: configuration is validated once and the connection pool is reused while warm.
INVOKER = build_direct_invoker()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Call the private API as the event describes and return its answer (or an explained failure)."""
    return INVOKER.invoke(event, context)
