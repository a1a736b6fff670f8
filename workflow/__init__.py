"""The workflow behind the top-level scripts: build, deploy-all, invoke, destroy-all (python -m workflow COMMAND)."""
