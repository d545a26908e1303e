"""``python -m atlaskit`` runs the ``atlas`` command."""

import sys

from atlaskit.cli import main

sys.exit(main())
