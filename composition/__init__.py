"""The composition: canbao assembled from its packages.

Everything below this package stands on `canbao` (the ground: configuration, database, errors, clock,
actors, audit, migrations) and calls downward only. Here, at the top, the packages are joined: the
service-task operations wired into the engine (`wiring`), the joins of registry and engine
(`casework`), the served application with its API and pages (`app`), the `canbao` command (`cli`),
the demo office (`demo`) and the whole schema for migrations (`schema`).
"""
