"""The import layers, checked by `make lint` (python tests/layers.py; exit 1 on a breach).

- No import cycles between modules of chatserver/ and console/ (imports under
  ``if TYPE_CHECKING:`` are for the type checker only and do not count).
- The pure core (chatserver.core) imports nothing else of ours.
- The domain (state machine, store, scripts, keys, codec, frames, settings) imports no
  transport (sockets, the hub, the bus, the app).
- The console imports no socket module, and chatserver imports the console only where the
  app mounts its routes.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("chatserver", "console")
TRANSPORTS = {
    "chatserver.endpoint",
    "chatserver.visitor_ws",
    "chatserver.agent_ws",
    "chatserver.dashboard_ws",
    "chatserver.connection",
    "chatserver.hub",
    "chatserver.bus",
    "chatserver.app",
    "chatserver.cli",
}
DOMAIN_PREFIXES = ("chatserver.core", "chatserver.store")
DOMAIN = {
    "chatserver.scripts",
    "chatserver.keys",
    "chatserver.protocol",
    "chatserver.frames",
    "chatserver.close_codes",
    "chatserver.config",
    "chatserver.durability",
    "chatserver.events",
    "chatserver.messages",
    "chatserver.tasks",
}
SOCKETS = TRANSPORTS - {"chatserver.hub", "chatserver.app", "chatserver.cli"}
MOUNTS_CONSOLE = {"chatserver.app"}


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def imports(path: Path, known: set[str]) -> set[str]:
    """Our modules that ``path`` imports at run time."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            names: list[str] = []
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                names = [child.module] + [f"{child.module}.{a.name}" for a in child.names]
            elif isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            for name in names:
                if name in known:
                    found.add(name)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    known = set(paths)
    return {name: imports(path, known) - {name} for name, path in paths.items()}


def cycles(deps: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(mod: str) -> None:
        state[mod] = 1
        stack.append(mod)
        for dep in sorted(deps.get(mod, ())):
            if state.get(dep) == 1:
                found.append([*stack[stack.index(dep) :], dep])
            elif dep not in state:
                dfs(dep)
        stack.pop()
        state[mod] = 2

    for mod in sorted(deps):
        if mod not in state:
            dfs(mod)
    return found


def breaches(deps: dict[str, set[str]]) -> list[str]:
    out = [f"import cycle: {' -> '.join(c)}" for c in cycles(deps)]
    for mod, used in sorted(deps.items()):
        for dep in sorted(used):
            if mod.startswith("chatserver.core") and not dep.startswith("chatserver.core"):
                out.append(f"{mod} (pure core) imports {dep}")
            is_domain = mod in DOMAIN or mod.startswith(DOMAIN_PREFIXES)
            if is_domain and dep in TRANSPORTS:
                out.append(f"{mod} (domain) imports the transport {dep}")
            if mod.startswith("console") and dep in SOCKETS:
                out.append(f"{mod} (console) imports the socket module {dep}")
            if (
                mod.startswith("chatserver")
                and dep.startswith("console")
                and mod not in MOUNTS_CONSOLE
            ):
                out.append(f"{mod} imports the console ({dep})")
    return out


def main() -> int:
    found = breaches(graph())
    for line in found:
        sys.stderr.write(f"layers: {line}\n")
    if not found:
        sys.stdout.write(f"layers: {len(graph())} modules, no cycle, every layer holds\n")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
