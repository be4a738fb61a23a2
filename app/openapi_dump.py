"""Print the app's OpenAPI document (make openapi / make openapi-check)."""

from __future__ import annotations

import json
import sys

from app.main import create_app


def main() -> None:
    spec = create_app().openapi()
    sys.stdout.write(json.dumps(spec, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
