"""The sans-I/O core: pure functions and small classes that take the time as an argument.

Nothing here touches sockets, Redis or the clock, so every rule is unit-tested directly.
"""

from __future__ import annotations
