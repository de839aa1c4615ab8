"""Pages the service shows to people in a browser (plain HTML, no scripts, no template engine)."""
