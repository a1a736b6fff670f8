"""CloudFormation custom resource: an interface endpoint's addresses as targets of an IP target group (issue 16)."""
