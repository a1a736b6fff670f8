"""Stack updates of a running deployment, with what each changes at once and what waits for a new stage deployment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from emulation.accounts.plan import NETWORK_PARAMETERS, Plan, backend_function, consumer_defaults
from emulation.accounts.provisioning import update_roles
from emulation.accounts.running import Running, api_deployment

__all__ = ["redeploy_consumers", "redeploy_provider"]


def redeploy_provider(running: Running, plan: Plan, parameters: Mapping[str, str]) -> bool:
    """Update the provider stack to `parameters`; True when the stage got a new deployment.

    Roles and policies change at once (IAM). The resource policy and routes change only with a new stage deployment:
    SAM creates one when the definition's hash changes or, with AlwaysDeploy, on every update.
    """
    old = running.provider
    new = old.update(parameters)
    update_roles(running.moto.client("iam", new.account), old, new)
    if backend_function(new) != backend_function(old):
        running.functions.replace_backend(backend_function(new))
    old_api, new_api = old.api(), new.api()
    redeployed = new_api.always_deploy or new_api.deployment_id != old_api.deployment_id
    running.provider = new
    gateway = running.gateway
    if redeployed:
        gateway.deploy(api_deployment(new, plan.region, running.access_log, running.functions.invoke_backend))
    else:
        # Endpoint associations are a property of the API, not of a deployment: they apply at once.
        current = gateway.deployment(new_api.api_id)
        gateway.deploy(replace(current, vpc_endpoint_ids=new_api.vpc_endpoint_ids))
    # A domain, its policy and mappings are not part of the stage deployment: modelled as changing with the stack
    # update (whether a domain policy change waits for a stage deployment only a real deployment shows).
    running.refresh_domains()
    return redeployed


def redeploy_consumers(running: Running, plan: Plan, changes: Mapping[str, str]) -> None:
    """Update every consumer stack with changed parameters (roles, endpoint policies, private DNS, clients)."""
    for key, old in list(running.consumers.items()):
        params = {k: v for k, v in {**old.parameters, **changes}.items() if k not in NETWORK_PARAMETERS}
        new = plan.render_site(key, consumer_defaults(running.provider), params)
        update_roles(running.moto.client("iam", new.account), old, new)
        for endpoint in new.endpoints():
            running.gateway.set_endpoint_policy(endpoint.vpce_id, endpoint.policy)
        running.consumers[key] = new
    running.refresh_domains()
    running.functions.drop_clients()  # new function configuration: the next invocations are cold starts
