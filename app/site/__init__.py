"""The browser app's pages (viewer, dashboard, overlay) and their assets, built from web/."""
