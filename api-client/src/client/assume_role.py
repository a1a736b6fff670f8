"""Lambda handler of the assume-role client: signs with credentials of the provider role ROLE_TO_ASSUME."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from client.invoke import logger
from client.role import build_assume_role_invoker

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Built at cold start: the role credentials (and the pool) live across warm invocations and refresh before expiry.
INVOKER = build_assume_role_invoker()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Call the private API as the event describes and return its answer (or an explained failure)."""
    return INVOKER.invoke(event, context)
