"""The shipped sam local invoke events and env.json match the handler and the template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cfnrender.render import load_template

BACKEND_DIR = Path(__file__).resolve().parents[3] / "api-backend"


def seed_item(table, event, item_id):
    identity = event["requestContext"]["identity"]
    table.put_item(
        Item={
            "pk": identity["accountId"],
            "sk": item_id,
            "name": "seeded",
            "description": "",
            "tags": [],
            "version": 1,
            "createdAt": "2025-11-21T11:51:00.000Z",
            "createdBy": identity["userArn"],
            "createdByAccount": identity["accountId"],
            "updatedAt": "2025-11-21T11:51:00.000Z",
            "updatedBy": identity["userArn"],
        }
    )


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("whoami.json", 200),
        ("list-items.json", 200),
        ("create-item.json", 201),
        ("get-item.json", 200),
        ("replace-item.json", 200),
        ("delete-item.json", 204),
        ("create-item-malformed.json", 400),
    ],
)
def test_shipped_event_seeded_table_returns_documented_status(invoke, shipped_event, items_table, name, status):
    # GIVEN the item the id-based events refer to, stored at version 1 in the events' caller account
    event = shipped_event(name)
    seed_item(items_table, event, shipped_event("get-item.json")["pathParameters"]["id"])

    # WHEN the event is invoked as sam local invoke would
    response = invoke(event)

    # THEN the route answers with its documented status, with a JSON body except for 204
    assert response.status == status
    assert (response.body is None) == (status == 204)


def test_env_json_sets_exactly_the_template_environment_variables():
    # GIVEN the sam local env file and the function's environment in the template
    env = json.loads((BACKEND_DIR / "events" / "env.json").read_text(encoding="utf-8"))
    template = load_template(BACKEND_DIR / "api-backend.yaml")
    variables = template["Resources"]["BackendFunction"]["Properties"]["Environment"]["Variables"]

    # WHEN their names are compared
    # THEN env.json overrides every template variable and nothing else (sam local ignores unknown ones)
    assert set(env["BackendFunction"]) == set(variables)
