"""Lambda handler of the assume-role client: signs with credentials of the provider role ROLE_TO_ASSUME."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from client.invoke import build_assume_role_invoker, logger

# Built at cold start: the role credentials (and the pool) live across warm invocations and refresh before expiry.
INVOKER = build_assume_role_invoker()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Call the private API as the event describes and return its answer (or an explained failure)."""
    return INVOKER.invoke(event, context)
