"""kexpose benchmarks (`make bench` = `python -m bench`).

Every figure is the median of several runs, and each is set against a baseline measured in the
same run, so the ratios stay meaningful on a loaded or slower machine.
"""
