"""FrameDuel engine: config, launching, protocol, sampling, storage, statistics, reports, CLI.

Nothing here imports Qt widgets or a deep-learning framework; it runs on a server or in a REPL.
"""

__version__ = "0.1.0"
