"""Building the book, apart from the science: the chapter runner and its execution cache
(:mod:`~helpers.tooling.runner`, :mod:`~helpers.tooling.execution_key`), the vendored
browser assets and Sphinx extension (:mod:`~helpers.tooling.assets`), and the command line
(:mod:`~helpers.tooling.cli`, run as ``python -m helpers``). Chapters never import it.
"""
