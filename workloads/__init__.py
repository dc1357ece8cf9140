"""Code that runs inside FrameDuel's child processes, one module per framework.

Only the standard library and the chosen framework (plus NumPy, which every framework ships
with) are needed here, so a child can run in a different interpreter from the parent's.
"""
