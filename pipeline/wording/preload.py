"""Imported by the forkserver only (pipeline/processes.py), before it forks any worker: the
index of language names (Babel's data for hundreds of locales, ~0.4 s to build) is built
once there and shared, instead of once in every reader and worker."""

from .languages import warm_language_index

warm_language_index()
