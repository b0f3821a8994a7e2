"""The console: server-rendered pages for reps, businesses and agencies, and the static assets
every page Nudge serves needs (vendored: nothing is fetched from a CDN at run time)."""
