"""`python -m emulation` runs the offline demo."""

import sys

from emulation.demo.run import main

sys.exit(main())
