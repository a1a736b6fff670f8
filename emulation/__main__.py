"""`python -m emulation` runs the offline demo."""

import sys

from emulation.demo import main

sys.exit(main())
