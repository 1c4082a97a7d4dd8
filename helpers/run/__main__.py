"""``python -m helpers.run``: the batch (see :mod:`helpers.run.batch`)."""

from helpers.run.batch import cli

if __name__ == "__main__":  # a Dask LocalCluster's worker processes import this module again
    cli()
