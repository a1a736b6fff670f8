"""`python -m samlocal` (make sam-local-test)."""

from samlocal.run import main

raise SystemExit(main())
