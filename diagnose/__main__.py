"""`python -m diagnose`: what diagnose.sh runs."""

from diagnose.cli import main

raise SystemExit(main())
