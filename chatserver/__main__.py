from __future__ import annotations

from chatserver.cli import main

raise SystemExit(main())
