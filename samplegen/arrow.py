"""Columns built in Arrow: prefixed ids, decoded codes, string arrays for the raw files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _string_series(array) -> pd.Series:
    """A pyarrow array as a Series of dtype ``string`` (no copy)."""
    return pd.Series(array, dtype=pd.StringDtype("pyarrow"), copy=False)


def prefixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """``prefix`` + zero-padded numbers, built in Arrow (fast, compact)."""
    text = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return _string_series(pc.binary_join_element_wise(prefix, text, ""))


def arrow_take(values: pd.Series, index: np.ndarray) -> pd.Series:
    """``values.take(index)`` for a string Series, in Arrow."""
    return _string_series(pa.chunked_array(pa.array(values.array)).take(pa.array(index)))


def decode(codes: np.ndarray, labels) -> pd.Series:
    """Integer codes to a string Series through an Arrow dictionary."""
    array = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(list(labels)))
    return _string_series(array.dictionary_decode())


def text_array(values) -> pa.Array:
    """Any pandas/numpy column as an Arrow string array (NA/NaN -> null)."""
    array = pa.array(values, from_pandas=True)
    if pa.types.is_floating(array.type):
        array = pc.cast(pc.round(array), pa.int64())
    return pc.cast(array, pa.string())


def take_rows(columns: dict[str, pa.Array], index: np.ndarray) -> dict[str, pa.Array]:
    """The rows ``index`` (in that order) of every column."""
    positions = pa.array(index)
    return {name: array.take(positions) for name, array in columns.items()}
