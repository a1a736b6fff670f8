"""BACKEND FLOOR (benchmark only, never deployed): the least a provider function can import while keeping what issue
18 keeps: Powertools Logger, Metrics and the REST event handler, plus one low-level DynamoDB client built with botocore
(not boto3). No routes, validation, idempotency or second client. `python -m bench` counts its cold import next to
our backend's and the sample-style backend's, so the table shows how far below the sample any backend keeping
Powertools can go.
"""

from __future__ import annotations

import botocore.session
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from botocore.config import Config

logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver()
dynamodb = botocore.session.get_session().create_client("dynamodb", config=Config(connect_timeout=1, read_timeout=2))
