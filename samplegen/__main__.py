"""``python -m samplegen``: write the bundled sample (see :mod:`samplegen`)."""

from samplegen import main

raise SystemExit(main())
