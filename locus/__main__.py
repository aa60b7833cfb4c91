"""``python -m locus``: the same as the ``locus`` command."""

from locus.cli import main

raise SystemExit(main())
