from eval.acts.report import main

raise SystemExit(main())
