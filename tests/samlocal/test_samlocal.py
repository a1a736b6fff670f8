"""make sam-local-test's pure parts: the cases' verdicts, the image's cache key and mirror, the engine's refusals.

The target itself needs a Docker engine and runs in CI after `make test` (.ci/run); these run everywhere.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from samlocal import cases, engine, image, run
from samlocal.cases import CASES, check

REPO = Path(__file__).resolve().parents[2]


def _proxy(status: int, body: object) -> dict[str, object]:
    return {"statusCode": status, "body": json.dumps(body)}


def test_cases_cover_every_shipped_event_of_both_sides() -> None:
    # GIVEN every event file shipped for sam local invoke (env.json is the environment, not an event)
    shipped = {p for side in ("api-backend", "api-client") for p in (REPO / side / "events").glob("*.json")}
    shipped -= {REPO / "api-backend/events/env.json", REPO / "api-client/events/env.json"}
    # THEN each is run: backend events on the backend, client events on both clients
    assert {case.event for case in CASES} == shipped
    client_events = {case.event for case in CASES if case.site != "backend"}
    for event in client_events:
        assert {case.site for case in CASES if case.event == event} == {"direct", "assume-role"}


def test_check_passes_the_status_and_shape_the_case_wants() -> None:
    case = next(c for c in CASES if c.name == "backend create-item")
    outcome = check(case, _proxy(201, {"id": "01J", "name": "x"}), None, 0.1)
    assert outcome.passed
    assert outcome.status == 201


@pytest.mark.parametrize(
    ("answer", "function_error"),
    [
        (_proxy(200, {"id": "01J", "name": "x"}), None),  # wrong status
        (_proxy(201, {"message": "no"}), None),  # wrong body shape
        (_proxy(201, {"id": "01J", "name": "x"}), "Unhandled"),  # the function raised
        ("", None),  # SAM's empty answer when the container never replied
        ({"errorMessage": "boom", "errorType": "ValueError"}, None),  # an error object, no status
    ],
)
def test_check_fails_anything_else(answer: object, function_error: str | None) -> None:
    case = next(c for c in CASES if c.name == "backend create-item")
    outcome = check(case, answer, function_error, 0.1)
    assert not outcome.passed
    assert "FAILED" in outcome.line()


def test_check_reads_a_client_result_like_a_proxy_answer() -> None:
    # GIVEN the client's result for GET / (the API's status and body)
    case = next(c for c in CASES if c.name == "direct get-root")
    outcome = check(case, {"statusCode": 200, "body": {"accountId": "222222222222"}}, None, 0.1)
    assert outcome.passed


def test_image_tag_changes_when_an_input_changes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first = tmp_path / "a.txt"
    first.write_text("awslambdaric==4.2.2\n")
    monkeypatch.setattr(image, "INPUTS", (first,))
    before = image.image_tag()
    first.write_text("awslambdaric==4.2.1\n")
    assert image.image_tag() != before
    assert before.startswith(f"{image.IMAGE_REPOSITORY}:")


@pytest.mark.parametrize(
    "source",
    [
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n",
        "deb [signed-by=/k.gpg] http://mirror.example/debian bookworm main\n",
        "deb http://mirror.example/debian/ bookworm main\n",
    ],
)
def test_debian_mirror_is_read_from_apts_own_sources(source: str) -> None:
    assert image.debian_mirror([source]) == "http://mirror.example/debian"


def test_debian_mirror_without_one_says_so() -> None:
    with pytest.raises(RuntimeError, match="no Debian archive"):
        image.debian_mirror(["deb http://mirror.example/ubuntu noble main\n"])


def test_engine_missing_and_not_root_stops_with_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN no engine answers and this is not root
    monkeypatch.setattr(engine, "_engine_answers", lambda: False)
    monkeypatch.setattr(engine.os, "geteuid", lambda: 1000)
    # WHEN the target looks for an engine
    # THEN it stops and says what is missing and what to do
    with pytest.raises(engine.EngineUnavailable, match=r"not running as root.*Start Docker"):
        engine.ensure_engine(tmp_path)


def test_cases_module_lists_backend_cases_first() -> None:
    # The backend's delete-item removes the seeded item before the clients' get-item asks for it (404).
    sites = [case.site for case in cases.CASES]
    assert sites.index("direct") > max(i for i, site in enumerate(sites) if site == "backend")


def _inspect_answers(network: dict[str, object], interfaces: list[dict[str, object]]) -> object:
    """A stand-in for engine._run answering `docker network inspect bridge` and `ip -j -4 addr show dev ...`."""

    def run(*argv: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        if argv[:3] == ("docker", "network", "inspect"):
            return subprocess.CompletedProcess(argv, 0, json.dumps([network]), "")
        if argv[:2] == ("ip", "-j"):
            return subprocess.CompletedProcess(argv, 0, json.dumps(interfaces), "")
        raise AssertionError(f"unexpected command {argv}")

    return run


BRIDGE_OPTIONS = {"com.docker.network.bridge.name": "docker0", "com.docker.network.bridge.default_bridge": "true"}


def test_bridge_gateway_is_the_one_docker_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    network = {"IPAM": {"Config": [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]}, "Options": BRIDGE_OPTIONS}
    monkeypatch.setattr(engine, "_run", _inspect_answers(network, []))
    assert engine._bridge_gateway() == "172.17.0.1"


def test_bridge_gateway_on_a_first_boot_is_read_off_the_bridge_interface(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an engine on its first boot: the default bridge's IPAM config has no Gateway (moby issue 26799; what
    # CI's freshly started engine showed), while the host's docker0 carries the address
    network = {"IPAM": {"Config": [{"Subnet": "172.17.0.0/16"}]}, "Options": BRIDGE_OPTIONS}
    docker0: dict[str, object] = {
        "ifname": "docker0",
        "addr_info": [{"family": "inet", "local": "172.17.0.1", "prefixlen": 16}],
    }
    monkeypatch.setattr(engine, "_run", _inspect_answers(network, [docker0]))
    # THEN the gateway is the bridge interface's address
    assert engine._bridge_gateway() == "172.17.0.1"


def test_bridge_gateway_nowhere_stops_with_what_was_looked_at(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN no Gateway in the IPAM config and no address on the bridge interface (an engine in a VM, say)
    network = {"IPAM": {"Config": [{"Subnet": "172.17.0.0/16"}]}, "Options": BRIDGE_OPTIONS}
    monkeypatch.setattr(engine, "_run", _inspect_answers(network, []))
    # THEN it stops and names both places it looked
    with pytest.raises(engine.EngineUnavailable, match=r"no gateway address.*docker0"):
        engine._bridge_gateway()


def test_remove_containers_removes_sams_containers_of_the_stand_in_image(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an engine listing two containers for the filters it is asked
    seen: list[tuple[str, ...]] = []

    def docker(argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        seen.append(tuple(argv))
        return subprocess.CompletedProcess(argv, 0, "c1\nc2\n" if argv[1] == "ps" else "", "")

    monkeypatch.setattr(run.subprocess, "run", docker)
    # WHEN the containers are removed after a site's start-lambda ended
    removed = run.remove_containers("private-api-kit/lambda-python-standin:abc")
    # THEN SAM's Lambda containers of the stand-in image (or one built on it), whatever their function, were listed,
    # then force-removed (EAGER warm containers exist for every function in the site's template)
    assert removed == ["c1", "c2"]
    assert seen == [
        (
            "docker", "ps", "--all", "--quiet",
            "--filter", "label=sam.cli.container.type=lambda",
            "--filter", "ancestor=private-api-kit/lambda-python-standin:abc",
        ),
        ("docker", "rm", "--force", "c1", "c2"),
    ]  # fmt: skip
