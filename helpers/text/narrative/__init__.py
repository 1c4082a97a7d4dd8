"""The generated prose: what the numbers of steps 4 and 5 mean, in English or Chinese.

``concentration`` (the 80/20 sentences), ``insight`` (one explanation per step-4
topic) and ``summary`` (the findings of the executive summary). The words come
from the catalog (:mod:`helpers.text.lookup`); the numbers from the analysis.
"""
