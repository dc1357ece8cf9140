"""FrameDuel's desktop GUI: the only package that imports Qt widgets and pyqtgraph.

It never imports a deep-learning framework: frameworks run in the children the engine launches.
"""
