"""SAM templates rendered as CloudFormation would deploy them (translator, then parameters), and their stacks."""
