from hdrdesk.cli import main

raise SystemExit(main())
