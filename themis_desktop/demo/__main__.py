"""`python -m themis_desktop.demo ...`: the demo server in the foreground."""

from themis_desktop.demo.main import main

raise SystemExit(main())
