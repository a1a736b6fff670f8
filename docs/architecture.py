"""Draw docs/architecture.png from code (`make diagram`); needs Graphviz's `dot` on PATH."""

from __future__ import annotations

from pathlib import Path

from diagrams import Cluster, Diagram, Edge
from diagrams.aws.compute import Lambda
from diagrams.aws.database import Dynamodb
from diagrams.aws.management import CloudwatchLogs
from diagrams.aws.network import APIGateway, Endpoint
from diagrams.aws.security import WAF, IAMAWSSts, IAMRole

OUT = Path(__file__).with_name("architecture")
GRAPH = {"pad": "0.4", "nodesep": "0.7", "ranksep": "1.0", "fontsize": "20"}


def main() -> None:
    """Render the two-account picture: consumer VPC → PrivateLink → private API → Lambda → DynamoDB."""
    with Diagram("Private API across AWS accounts", filename=str(OUT), show=False, direction="LR", graph_attr=GRAPH):
        with Cluster("Consumer account — VPC without internet, NAT or peering"):
            with Cluster("Lambda subnets (client security group: 443 to endpoints, DNS)"):
                direct = Lambda("direct_auth client\n(signs as its own role)")
                assume = Lambda("assume_role client\n(signs as provider role)")
            with Cluster("Endpoint subnets (endpoint SGs: 443 from clients)"):
                api_vpce = Endpoint("execute-api endpoint\n(policy: this API only)")
                sts_vpce = Endpoint("sts endpoint\n(policy: AssumeRole\non the access role)")
        with Cluster("Provider account"):
            sts = IAMAWSSts("STS")
            role = IAMRole("APIAccessRole\n(trust: consumer account)")
            waf = WAF("WAF web ACL")
            api = APIGateway("private REST API\nIAM auth + resource policy\n(deny unless allowed vpce)")
            logs = CloudwatchLogs("access log")
            backend = Lambda("backend")
            table = Dynamodb("items table (KMS, PITR)")
        direct >> Edge(label="SigV4") >> api_vpce
        assume >> Edge(label="SigV4") >> api_vpce
        assume >> Edge(label="AssumeRole", style="dashed") >> sts_vpce >> Edge(style="dashed") >> sts >> role
        api_vpce >> Edge(label="PrivateLink", color="darkgreen") >> waf >> api
        api >> logs
        api >> backend >> table


if __name__ == "__main__":
    main()
