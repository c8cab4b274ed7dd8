"""``python -m gis``: the Pingan Grid command line."""

import sys

from gis.cli import main

sys.exit(main())
