"""`mailsage serve` with a chosen event loop: `python -m bench.serve_loop asyncio serve --port N`.

`mailsage serve` runs uvicorn with its default loop (uvloop when installed). This launcher
forces `loop=` on uvicorn.run and is otherwise the same command, so benchmarks can compare
the shipped server with one on the standard asyncio loop.
"""

from __future__ import annotations

import functools
import sys

import uvicorn


def main() -> int:
    loop, argv = sys.argv[1], sys.argv[2:]
    uvicorn.run = functools.partial(uvicorn.run, loop=loop)
    from mailsage_gql.cli import main as mailsage_main

    return mailsage_main(argv)


if __name__ == "__main__":
    sys.exit(main())
