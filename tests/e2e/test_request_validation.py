"""The gateway applies the API's request validators before the backend runs, as API Gateway does."""

from __future__ import annotations

from emulation.accounts.two_accounts import PROVIDER, TwoAccounts


def _item_count(env: TwoAccounts) -> int:
    return env.client("dynamodb", PROVIDER).scan(TableName=env.names.table_name, Select="COUNT")["Count"]


def test_gateway_body_breaking_the_model_answers_400_without_running_backend(env: TwoAccounts) -> None:
    # GIVEN the access role's session and the table's current item count
    credentials = env.role_credentials(env.names.access_role_arn, "validator-check")
    before = _item_count(env)
    # WHEN it POSTs a body with a field the ItemCreate model does not allow
    reply = env.request(
        "POST",
        "/items",
        credentials=credentials,
        body=b'{"name": "x", "owner": "me"}',
        headers={"Content-Type": "application/json"},
    )
    # THEN API Gateway's validator refuses it and nothing reached the table
    assert reply.status == 400, reply.text
    assert reply.headers["x-amzn-ErrorType"] == "BadRequestException"
    assert reply.json() == {"message": "Invalid request body"}
    assert _item_count(env) == before


def test_gateway_body_nested_a_thousand_levels_answers_400_invalid_request_body(env: TwoAccounts) -> None:
    # GIVEN the access role's session and a JSON body nested 1,000 levels deep (past Python's recursion limit)
    credentials = env.role_credentials(env.names.access_role_arn, "deep-json")
    before = _item_count(env)
    body = b'{"name": "deep", "description": ' + b"[" * 1_000 + b"]" * 1_000 + b"}"
    # WHEN it is POSTed to /items
    reply = env.request(
        "POST", "/items", credentials=credentials, body=body, headers={"Content-Type": "application/json"}
    )
    # THEN the validator's usual 400 (not a crash or a dropped connection), and nothing reached the table
    assert reply.status == 400, reply.text
    assert reply.headers["x-amzn-ErrorType"] == "BadRequestException"
    assert reply.json() == {"message": "Invalid request body"}
    assert _item_count(env) == before
