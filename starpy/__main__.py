"""``python -m starpy``: the same as the ``starpy`` command."""
import sys

from starpy.cli import main

sys.exit(main())
