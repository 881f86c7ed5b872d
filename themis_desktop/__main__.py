from themis_desktop.cli import main

raise SystemExit(main())
