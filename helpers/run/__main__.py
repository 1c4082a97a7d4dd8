"""``python -m helpers.run``: the batch (see :mod:`helpers.run.batch`)."""

from helpers.run.batch import cli

cli()
