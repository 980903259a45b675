"""Single sign-on for sellers' apps: filled in by the single sign-on issue."""
