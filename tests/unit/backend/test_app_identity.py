"""GET / echoes the caller identity; requests without an IAM identity are refused."""

from __future__ import annotations


def test_who_am_i_iam_event_returns_every_identity_field(invoke, shipped_event):
    # GIVEN the shipped whoami event of a cross-account caller coming through a VPC endpoint
    event = shipped_event("whoami.json")

    # WHEN the backend handles it
    response = invoke(event)

    # THEN it answers 200 with exactly the identity fields, the stage and the request id
    identity = event["requestContext"]["identity"]
    assert response.status == 200
    assert response.body == {
        "accountId": identity["accountId"],
        "caller": identity["caller"],
        "user": identity["user"],
        "userArn": identity["userArn"],
        "accessKey": identity["accessKey"],
        "sourceIp": identity["sourceIp"],
        "vpceId": identity["vpceId"],
        "vpcId": identity["vpcId"],
        "principalOrgId": identity["principalOrgId"],
        "stage": "Prod",
        "requestId": event["requestContext"]["requestId"],
    }


def test_who_am_i_fields_absent_from_context_returns_nulls(invoke, shipped_event):
    # GIVEN a regional (non-private) style event without vpceId, vpcId and principalOrgId
    event = shipped_event("whoami.json")
    for name in ("vpceId", "vpcId", "principalOrgId"):
        del event["requestContext"]["identity"][name]

    # WHEN the backend handles it
    response = invoke(event)

    # THEN the missing fields are null rather than an error
    assert response.status == 200
    assert (response.body["vpceId"], response.body["vpcId"], response.body["principalOrgId"]) == (None, None, None)


def test_items_route_without_iam_identity_returns_403(invoke, make_event):
    # GIVEN an items request whose context has no caller account (the method was not IAM-authorized)
    event = make_event("GET", "/items")
    event["requestContext"]["identity"]["accountId"] = None

    # WHEN the backend handles it
    response = invoke(event)

    # THEN it refuses with 403 and a JSON message instead of failing
    assert response.status == 403
    assert "IAM caller identity" in response.body["message"]


def test_unknown_route_returns_404_json_message(invoke, make_event):
    # GIVEN a path the API does not define
    event = make_event("GET", "/nothing-here")

    # WHEN the backend handles it
    response = invoke(event)

    # THEN it answers 404 with the same JSON shape as every other error
    assert response.status == 404
    assert response.body == {"message": "Not found"}


def test_unsupported_method_on_known_path_returns_404_json_message(invoke, make_event):
    # GIVEN a method the API does not define on /items
    event = make_event("PATCH", "/items")

    # WHEN the backend handles it
    response = invoke(event)

    # THEN it answers 404 JSON
    assert response.status == 404
    assert response.body == {"message": "Not found"}
