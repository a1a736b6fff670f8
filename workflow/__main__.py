"""`python -m workflow COMMAND ...`: what the top-level *.sh wrappers run."""

from workflow.cli import main

raise SystemExit(main())
